#include "tensor/weight_store.h"

#include <algorithm>
#include <filesystem>
#include <cstring>
#include <set>

#include "base/error.h"
#include "base/numeric.h"

namespace dseek {

namespace fs = std::filesystem;

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::unique_ptr<WeightStore> WeightStore::OpenDir(const std::string& dir) {
  auto store = std::make_unique<WeightStore>();
  store->dir_ = dir;
  if (!fs::is_directory(dir)) throw Error(dir, "", "not a directory");
  std::vector<std::string> shard_names;
  std::map<std::string, std::string> weight_map;
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  bool has_index = fs::exists(index_path);
  if (has_index) {
    weight_map = ReadSafetensorsIndex(index_path);
    std::set<std::string> uniq;
    for (auto& [name, shard] : weight_map) uniq.insert(shard);
    shard_names.assign(uniq.begin(), uniq.end());
  } else if (fs::exists(fs::path(dir) / "model.safetensors")) {
    shard_names.push_back("model.safetensors");
  } else {
    for (auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".safetensors") shard_names.push_back(e.path().filename().string());
    std::sort(shard_names.begin(), shard_names.end());
  }
  if (shard_names.empty()) throw Error(dir, "", "no model.safetensors, index or *.safetensors files found");

  std::map<std::string, const SafetensorsFile*> by_shard;
  uint64_t total = 0;
  for (const std::string& shard : shard_names) {
    std::error_code ec;
    const auto sz = fs::file_size(fs::path(dir) / shard, ec);
    if (!ec) total += sz;
  }
  const bool populate = FitsInRam(total);
  for (const std::string& shard : shard_names) {
    std::string p = (fs::path(dir) / shard).string();
    if (!fs::exists(p)) throw Error(index_path, shard, "shard listed in the index does not exist");
    store->files_.push_back(SafetensorsFile::Open(p, populate));
    by_shard[shard] = store->files_.back().get();
  }
  for (const auto& f : store->files_) {
    for (const auto& t : f->tensors()) {
      if (store->index_.count(t.name))
        throw Error(f->path(), t.name, "tensor appears in more than one shard");
      store->index_[t.name] = &t;
      store->owner_[t.name] = f.get();
    }
  }
  if (has_index) {
    for (auto& [name, shard] : weight_map) {
      auto it = store->owner_.find(name);
      if (it == store->owner_.end() || it->second != by_shard[shard])
        throw Error(index_path, name, "index says the tensor is in " + shard + " but it is not there");
    }
  }
  return store;
}

std::optional<TensorView> WeightStore::Find(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  const SafetensorsEntry* e = it->second;
  return TensorView{e->name, e->dtype, e->shape, e->data, e->nbytes};
}

TensorView WeightStore::Get(const std::string& name) const {
  auto t = Find(name);
  if (!t) throw Error(dir_, name, "missing tensor");
  return *t;
}

TensorView WeightStore::GetShaped(const std::string& name, const std::vector<int64_t>& shape) const {
  TensorView t = Get(name);
  if (t.shape != shape)
    throw Error(owner_.at(name)->path(), name,
                "shape " + ShapeString(t.shape) + " disagrees with config.json (expected " + ShapeString(shape) + ")");
  return t;
}

Matrix WeightStore::GetMatrix(const std::string& name, int64_t rows, int64_t cols) const {
  TensorView t = GetShaped(name, {rows, cols});
  Matrix m;
  m.dtype = t.dtype;
  m.rows = rows;
  m.cols = cols;
  m.data = t.data;
  const std::string& path = owner_.at(name)->path();
  switch (t.dtype) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      break;
    case DType::kF8E4M3: {
      const std::string sname = name + "_scale_inv";
      const int64_t sr = (rows + kFp8Block - 1) / kFp8Block, sc = (cols + kFp8Block - 1) / kFp8Block;
      auto s = Find(sname);
      if (!s) throw Error(path, sname, "FP8 weight has no block-scale tensor");
      if (s->dtype != DType::kF32) throw Error(owner_.at(sname)->path(), sname, "block scales must be F32");
      if (s->shape != std::vector<int64_t>{sr, sc})
        throw Error(owner_.at(sname)->path(), sname,
                    "shape " + ShapeString(s->shape) + " does not match the 128x128 block grid of " + ShapeString({rows, cols}) +
                        " (expected " + ShapeString({sr, sc}) + ")");
      if (reinterpret_cast<uintptr_t>(s->data) % alignof(float) != 0)
        throw Error(owner_.at(sname)->path(), sname, "data is not 4-byte aligned");
      m.scale_inv = reinterpret_cast<const float*>(s->data);
      m.scale_cols = sc;
      break;
    }
    default:
      throw Error(path, name, "dtype " + std::string(DTypeName(t.dtype)) + " is not supported for a weight matrix");
  }
  size_t align = DTypeSize(t.dtype);
  if (reinterpret_cast<uintptr_t>(t.data) % align != 0) throw Error(path, name, "data is not aligned to its element size");
  return m;
}

const float* WeightStore::GetVectorF32(const std::string& name, int64_t n) const {
  TensorView t = GetShaped(name, {n});
  const std::string& path = owner_.at(name)->path();
  if (t.dtype == DType::kF32) {
    if (reinterpret_cast<uintptr_t>(t.data) % 4 == 0) return reinterpret_cast<const float*>(t.data);
  } else if (t.dtype != DType::kBF16 && t.dtype != DType::kF16) {
    throw Error(path, name, "dtype " + std::string(DTypeName(t.dtype)) + " is not supported for a vector");
  }
  auto& v = widened_[name];
  v.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    switch (t.dtype) {
      case DType::kF32: std::memcpy(&v[i], t.data + 4 * i, 4); break;
      case DType::kBF16: std::memcpy(&h, t.data + 2 * i, 2); v[i] = Bf16ToF32(h); break;
      default: std::memcpy(&h, t.data + 2 * i, 2); v[i] = F16ToF32(h); break;
    }
  }
  return v.data();
}

std::vector<std::string> WeightStore::TensorNames() const {
  std::vector<std::string> out;
  for (auto& [n, e] : index_) out.push_back(n);
  return out;
}

size_t WeightStore::TotalBytes() const {
  size_t s = 0;
  for (auto& [n, e] : index_) s += e->nbytes;
  return s;
}

std::map<DType, size_t> WeightStore::BytesByDType() const {
  std::map<DType, size_t> m;
  for (auto& [n, e] : index_) m[e->dtype] += e->nbytes;
  return m;
}

}  // namespace dseek
