#include "model/kv_cache.h"

#include <algorithm>

#include "base/numeric.h"
#include "kernels/simd/vec_ops.h"

namespace dseek {

KvType ParseKvType(const std::string& name) {
  if (name == "f32") return KvType::kF32;
  if (name == "bf16") return KvType::kBF16;
  throw Error("", "cache type", "'" + name + "' is not one of f32, bf16");
}

const char* KvTypeName(KvType t) { return t == KvType::kBF16 ? "bf16" : "f32"; }

KvCache::KvCache(int64_t n_layers, int64_t width, int64_t capacity, KvType type)
    : n_layers_(n_layers), width_(width), capacity_(capacity), type_(type) {
  if (type_ == KvType::kF32) {
    f32_.assign(n_layers, std::vector<float>(width * capacity));
  } else {
    bf16_.assign(n_layers, std::vector<uint16_t>(width * capacity));
  }
}

size_t KvCache::Bytes() const {
  return static_cast<size_t>(n_layers_ * width_ * capacity_) * (type_ == KvType::kF32 ? 4 : 2);
}

void KvCache::WriteRow(int64_t layer, int64_t pos, const float* row) {
  if (type_ == KvType::kF32) {
    std::copy_n(row, width_, f32_[layer].data() + pos * width_);
    return;
  }
  uint16_t* out = bf16_[layer].data() + pos * width_;
  for (int64_t i = 0; i < width_; ++i) out[i] = F32ToBf16(row[i]);
}

const float* KvCache::Rows(int64_t layer, int64_t p0, int64_t count, std::vector<float>& scratch) const {
  if (type_ == KvType::kF32) return f32_[layer].data() + p0 * width_;
  const size_t n = static_cast<size_t>(count * width_);
  if (scratch.size() < n) scratch.resize(n);
  simd::DecodeBf16(bf16_[layer].data() + p0 * width_, n, scratch.data());
  return scratch.data();
}

}  // namespace dseek
