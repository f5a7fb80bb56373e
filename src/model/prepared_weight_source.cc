#include "model/prepared_weight_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "kernels/simd/quant_packed.h"

namespace dseek {
namespace {

constexpr char kMagic[8] = {'D', 'S', 'K', 'R', 'E', 'P', 'K', '1'};
constexpr uint64_t kAlign = 4096;
constexpr uint32_t kMaxName = 4096;

PreparedWeightSource::Stamp StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(path, "", "cannot stat the model file");
  return {static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// A bounds-checked reader over the cache header.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  template <typename T>
  T Get() {
    T v;
    Need(sizeof(T));
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string Str() {
    const uint32_t len = Get<uint32_t>();
    if (len > kMaxName) throw Error("", "", "name too long");
    Need(len);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }

 private:
  void Need(size_t k) {
    if (k > n_ - pos_) throw Error("", "", "truncated header");
  }
  const uint8_t* p_;
  size_t n_, pos_ = 0;
};

template <typename T>
void Put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
void PutStr(std::string& out, const std::string& s) {
  Put(out, static_cast<uint32_t>(s.size()));
  out += s;
}

struct Header {
  std::string layout;
  PreparedWeightSource::Stamp stamp;
  std::map<std::string, std::pair<Matrix, uint64_t>> entries;  // matrix (no data), offset
};

// Parses and checks the header against the mapped size; throws on damage.
Header ParseHeader(const uint8_t* p, size_t n) {
  if (n < sizeof(kMagic) || std::memcmp(p, kMagic, sizeof(kMagic)) != 0) throw Error("", "", "not a dseek repack cache");
  Reader r(p + sizeof(kMagic), n - sizeof(kMagic));
  Header h;
  h.layout = r.Str();
  h.stamp.size = r.Get<uint64_t>();
  h.stamp.mtime_ns = r.Get<int64_t>();
  const uint32_t count = r.Get<uint32_t>();
  for (uint32_t i = 0; i < count; ++i) {
    std::string name = r.Str();
    Matrix m;
    m.rows = r.Get<int64_t>();
    m.cols = r.Get<int64_t>();
    m.dtype = static_cast<DType>(r.Get<uint32_t>());
    m.ggml = static_cast<GgmlType>(r.Get<uint32_t>());
    m.packed8 = r.Get<uint8_t>() != 0;
    const uint64_t offset = r.Get<uint64_t>(), bytes = r.Get<uint64_t>();
    if (m.dtype != DType::kGgml || GgmlBlockSize(m.ggml) <= 0 || m.rows <= 0 || m.cols <= 0 ||
        m.cols % GgmlBlockSize(m.ggml) != 0 || m.cols > (int64_t{1} << 40) || m.rows > (int64_t{1} << 48) / m.cols ||
        bytes != m.bytes() || offset > n || bytes > n - offset ||
        (m.packed8 && (!simd::CanPackRows(m.ggml) || m.rows % simd::kPackRows != 0 || m.cols % 32 != 0)))
      throw Error("", name, "entry does not fit the cache");
    h.entries[name] = {m, offset};
  }
  return h;
}

}  // namespace

bool PreparedWeightSource::CacheMatches(const std::string& cache_path, const std::string& model_path,
                                        const Backend& backend) {
  std::error_code ec;
  if (backend.PreparedLayout().empty() || !std::filesystem::is_regular_file(cache_path, ec)) return false;
  try {
    MappedFile f(cache_path);
    const Header h = ParseHeader(f.data(), f.size());
    const PreparedWeightSource::Stamp s = StampOf(model_path);
    return h.layout == backend.PreparedLayout() && h.stamp.size == s.size && h.stamp.mtime_ns == s.mtime_ns;
  } catch (const Error& e) {
    std::fprintf(stderr, "dseek: ignoring repack cache %s: %s\n", cache_path.c_str(), e.what());
    return false;
  }
}

PreparedWeightSource::PreparedWeightSource(std::unique_ptr<WeightSource> inner, Backend& backend,
                                           const std::string& cache_path, const std::string& model_path)
    : inner_(std::move(inner)), backend_(backend), cache_path_(cache_path), model_path_(model_path) {
  if (!cache_path_.empty()) stamp_ = StampOf(model_path_);  // as loaded, not as at write time
  if (cache_path_.empty() || !CacheMatches(cache_path_, model_path_, backend_)) return;
  try {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(cache_path_, ec);
    auto mapped = std::make_unique<MappedFile>(cache_path_, !ec && FitsInRam(bytes));
    const Header h = ParseHeader(mapped->data(), mapped->size());
    if (h.stamp.size != stamp_.size || h.stamp.mtime_ns != stamp_.mtime_ns) return;
    for (auto& [name, e] : h.entries) cached_[name] = Entry{e.first, e.second};
    cache_ = std::move(mapped);
  } catch (const Error& e) {
    // Replaced or damaged since it was checked: rebuild it.
    std::fprintf(stderr, "dseek: ignoring repack cache %s: %s\n", cache_path_.c_str(), e.what());
    cached_.clear();
  }
}

Matrix PreparedWeightSource::GetMatrix(const std::string& name, int64_t rows, int64_t cols) const {
  const Matrix m = inner_->GetMatrix(name, rows, cols);
  const auto key = std::make_tuple(m.data, m.rows, m.cols);
  if (auto it = done_.find(key); it != done_.end()) return it->second;
  Matrix p;
  if (auto c = cached_.find(name); cache_ && c != cached_.end()) {
    const Matrix& e = c->second.m;
    // The backend must have made this very layout from this tensor.
    const bool packable = m.dtype == DType::kGgml && simd::CanPackRows(m.ggml) && m.rows % simd::kPackRows == 0 &&
                          m.cols % 32 == 0;
    if (e.rows != m.rows || e.cols != m.cols || e.ggml != m.ggml || m.dtype != DType::kGgml || e.packed8 != packable)
      throw Error(cache_path_, name, "the repack cache does not match the model; delete it");
    p = m;
    p.packed8 = e.packed8;
    p.data = cache_->data() + c->second.offset;
  } else {
    p = backend_.PrepareMatrix(m);
  }
  if (p.data != m.data) {
    inner_->DropBytes(m.data, m.bytes());
    prepared_.emplace_back(name, p);
  }
  done_.emplace(key, p);
  return p;
}

void PreparedWeightSource::WriteCache() const {
  if (cache_path_.empty() || backend_.PreparedLayout().empty() || prepared_.empty()) return;
  std::string head(kMagic, sizeof(kMagic));
  PutStr(head, backend_.PreparedLayout());
  Put(head, stamp_.size);
  Put(head, stamp_.mtime_ns);
  Put(head, static_cast<uint32_t>(prepared_.size()));
  size_t entries_bytes = 0;
  for (const auto& [name, m] : prepared_) entries_bytes += 4 + name.size() + 8 + 8 + 4 + 4 + 1 + 8 + 8;
  uint64_t offset = (head.size() + entries_bytes + kAlign - 1) / kAlign * kAlign;
  for (const auto& [name, m] : prepared_) {
    PutStr(head, name);
    Put(head, m.rows);
    Put(head, m.cols);
    Put(head, static_cast<uint32_t>(m.dtype));
    Put(head, static_cast<uint32_t>(m.ggml));
    Put(head, static_cast<uint8_t>(m.packed8));
    Put(head, offset);
    Put(head, static_cast<uint64_t>(m.bytes()));
    offset += (m.bytes() + kAlign - 1) / kAlign * kAlign;
  }
  // A name of its own: two processes may build the same cache at once.
  const std::string tmp = cache_path_ + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(tmp, "", "cannot create the repack cache");
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    const std::string pad(kAlign, '\0');
    size_t pos = head.size();
    auto align = [&] {
      const size_t to = (pos + kAlign - 1) / kAlign * kAlign;
      out.write(pad.data(), static_cast<std::streamsize>(to - pos));
      pos = to;
    };
    for (const auto& [name, m] : prepared_) {
      align();
      out.write(static_cast<const char*>(m.data), static_cast<std::streamsize>(m.bytes()));
      pos += m.bytes();
    }
    align();
    if (!out.flush()) {
      std::filesystem::remove(tmp);
      throw Error(tmp, "", "cannot write the repack cache (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, cache_path_, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw Error(cache_path_, "", "cannot move the repack cache into place: " + ec.message());
  }
}

}  // namespace dseek
