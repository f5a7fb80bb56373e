#include "format/gguf.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include "base/error.h"

namespace dseek {
namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint32_t kDefaultAlignment = 32;
constexpr const char* kAlignmentKey = "general.alignment";
// ggml itself caps names at 63 bytes; a little slack costs nothing and keeps
// a hostile name length from being the thing that allocates.
constexpr uint64_t kMaxTensorNameBytes = 4096;

bool IsValidValueType(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::kF64); }

// Size in bytes of a fixed-size value type; 0 for string and array.
size_t FixedSize(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kBool: return 1;
    case GgufValueType::kU16: case GgufValueType::kI16: return 2;
    case GgufValueType::kU32: case GgufValueType::kI32: case GgufValueType::kF32: return 4;
    case GgufValueType::kU64: case GgufValueType::kI64: case GgufValueType::kF64: return 8;
    case GgufValueType::kString: case GgufValueType::kArray: return 0;
  }
  return 0;
}

// The fewest bytes one element of type t can take in a file: bounds how many
// elements a count may claim before anything is allocated.
uint64_t MinEncodedSize(GgufValueType t) {
  if (t == GgufValueType::kString) return 8;          // u64 length
  if (t == GgufValueType::kArray) return 4 + 8;       // elem type + count
  return FixedSize(t);
}

uint64_t LoadLE(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// Decodes one fixed-size little-endian element into a GgufValue.
GgufValue DecodeFixed(GgufValueType t, const uint8_t* p) {
  GgufValue v;
  v.type = t;
  const uint64_t bits = LoadLE(p, FixedSize(t));
  switch (t) {
    case GgufValueType::kU8: case GgufValueType::kU16: case GgufValueType::kU32:
    case GgufValueType::kU64:
      v.u = bits;
      break;
    case GgufValueType::kI8: v.i = static_cast<int8_t>(bits); break;
    case GgufValueType::kI16: v.i = static_cast<int16_t>(bits); break;
    case GgufValueType::kI32: v.i = static_cast<int32_t>(bits); break;
    case GgufValueType::kI64: v.i = static_cast<int64_t>(bits); break;
    case GgufValueType::kF32: {
      uint32_t b32 = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &b32, 4);
      v.f = f;
      break;
    }
    case GgufValueType::kF64: std::memcpy(&v.f, &bits, 8); break;
    case GgufValueType::kBool: v.b = bits != 0; break;
    case GgufValueType::kString: case GgufValueType::kArray: break;
  }
  return v;
}

// Bounds-checked cursor over the mapped file. Every read names the field it
// is reading so a truncation error says what was cut off.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, size_t size)
      : path_(path), data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  [[noreturn]] void Fail(const std::string& field, const std::string& reason) const {
    throw Error(path_, field, reason);
  }

  const uint8_t* Take(uint64_t n, const std::string& field) {
    if (n > remaining()) {
      Fail(field, "file truncated: needs " + std::to_string(n) + " bytes at offset " +
                      std::to_string(pos_) + ", only " + std::to_string(remaining()) + " left");
    }
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint32_t U32(const std::string& field) { return static_cast<uint32_t>(LoadLE(Take(4, field), 4)); }
  uint64_t U64(const std::string& field) { return LoadLE(Take(8, field), 8); }

  std::string String(const std::string& field, uint64_t max_len) {
    const uint64_t len = U64(field);
    if (len > max_len) {
      Fail(field, "string length " + std::to_string(len) + " exceeds the limit " + std::to_string(max_len));
    }
    if (len > remaining()) {
      Fail(field, "string length " + std::to_string(len) + " runs past the end of the file (" +
                      std::to_string(remaining()) + " bytes left)");
    }
    const uint8_t* p = Take(len, field);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
  }

  // A count of elements each at least `min_size` bytes long: bounded by the
  // bytes left in the file, so no count can make us allocate more than the
  // file could describe.
  uint64_t Count(const std::string& field, const std::string& what, uint64_t min_size, uint64_t limit) {
    const uint64_t n = U64(field);
    if (n > limit) {
      Fail(field, what + " " + std::to_string(n) + " exceeds the limit " + std::to_string(limit));
    }
    if (min_size > 0 && n > remaining() / min_size) {
      Fail(field, what + " " + std::to_string(n) + " cannot fit in the " + std::to_string(remaining()) +
                      " bytes left in the file");
    }
    return n;
  }

  GgufValue Value(GgufValueType t, const std::string& field, int depth) {
    if (t == GgufValueType::kString) {
      GgufValue v;
      v.type = t;
      v.str = String(field, GgufLimits::kMaxStringBytes);
      return v;
    }
    if (t == GgufValueType::kArray) {
      GgufValue v;
      v.type = t;
      v.arr = Array(field, depth + 1);
      return v;
    }
    return DecodeFixed(t, Take(FixedSize(t), field));
  }

  GgufArray Array(const std::string& field, int depth) {
    if (depth > GgufLimits::kMaxArrayNesting) {
      Fail(field, "arrays nested deeper than " + std::to_string(GgufLimits::kMaxArrayNesting));
    }
    GgufArray a;
    const uint32_t et = U32(field);
    if (!IsValidValueType(et)) Fail(field, "unknown array element type " + std::to_string(et));
    a.elem_type = static_cast<GgufValueType>(et);
    a.count = Count(field, "array length", MinEncodedSize(a.elem_type), GgufLimits::kMaxArrayElements);
    if (a.elem_type == GgufValueType::kString) {
      a.strings.reserve(static_cast<size_t>(a.count));
      for (uint64_t i = 0; i < a.count; ++i) {
        a.strings.push_back(String(field, GgufLimits::kMaxStringBytes));
      }
    } else if (a.elem_type == GgufValueType::kArray) {
      a.arrays.reserve(static_cast<size_t>(a.count));
      for (uint64_t i = 0; i < a.count; ++i) a.arrays.push_back(Array(field, depth + 1));
    } else {
      const uint64_t nbytes = a.count * FixedSize(a.elem_type);  // bounded by Count()
      const uint8_t* p = Take(nbytes, field);
      a.raw.assign(p, p + nbytes);
    }
    return a;
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

bool MulOverflows(int64_t a, int64_t b, int64_t* out) { return __builtin_mul_overflow(a, b, out); }

}  // namespace

// ---------------------------------------------------------------- values

std::string_view GgufValueTypeName(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8: return "UINT8";
    case GgufValueType::kI8: return "INT8";
    case GgufValueType::kU16: return "UINT16";
    case GgufValueType::kI16: return "INT16";
    case GgufValueType::kU32: return "UINT32";
    case GgufValueType::kI32: return "INT32";
    case GgufValueType::kF32: return "FLOAT32";
    case GgufValueType::kBool: return "BOOL";
    case GgufValueType::kString: return "STRING";
    case GgufValueType::kArray: return "ARRAY";
    case GgufValueType::kU64: return "UINT64";
    case GgufValueType::kI64: return "INT64";
    case GgufValueType::kF64: return "FLOAT64";
  }
  return "?";
}

int64_t GgufArray::IntAt(uint64_t idx) const {
  if (idx >= count) throw Error("", "", "array index " + std::to_string(idx) + " out of range");
  const size_t sz = FixedSize(elem_type);
  if (sz == 0 || elem_type == GgufValueType::kF32 || elem_type == GgufValueType::kF64) {
    throw Error("", "", "array of " + std::string(GgufValueTypeName(elem_type)) + " is not an integer array");
  }
  GgufValue v = DecodeFixed(elem_type, raw.data() + idx * sz);
  switch (elem_type) {
    case GgufValueType::kU8: case GgufValueType::kU16: case GgufValueType::kU32:
    case GgufValueType::kU64:
      if (v.u > static_cast<uint64_t>(INT64_MAX)) throw Error("", "", "array element exceeds int64");
      return static_cast<int64_t>(v.u);
    case GgufValueType::kBool: return v.b ? 1 : 0;
    default: return v.i;
  }
}

double GgufArray::FloatAt(uint64_t idx) const {
  if (elem_type == GgufValueType::kF32 || elem_type == GgufValueType::kF64) {
    if (idx >= count) throw Error("", "", "array index " + std::to_string(idx) + " out of range");
    return DecodeFixed(elem_type, raw.data() + idx * FixedSize(elem_type)).f;
  }
  return static_cast<double>(IntAt(idx));
}

#define DSEEK_GGUF_SCALAR(Name, Enum, field, CType) \
  GgufValue GgufValue::Name(CType v) {              \
    GgufValue out;                                  \
    out.type = GgufValueType::Enum;                 \
    out.field = v;                                  \
    return out;                                     \
  }
DSEEK_GGUF_SCALAR(U8, kU8, u, uint8_t)
DSEEK_GGUF_SCALAR(I8, kI8, i, int8_t)
DSEEK_GGUF_SCALAR(U16, kU16, u, uint16_t)
DSEEK_GGUF_SCALAR(I16, kI16, i, int16_t)
DSEEK_GGUF_SCALAR(U32, kU32, u, uint32_t)
DSEEK_GGUF_SCALAR(I32, kI32, i, int32_t)
DSEEK_GGUF_SCALAR(U64, kU64, u, uint64_t)
DSEEK_GGUF_SCALAR(I64, kI64, i, int64_t)
DSEEK_GGUF_SCALAR(F32, kF32, f, float)
DSEEK_GGUF_SCALAR(F64, kF64, f, double)
DSEEK_GGUF_SCALAR(Bool, kBool, b, bool)
#undef DSEEK_GGUF_SCALAR

GgufValue GgufValue::String(std::string v) {
  GgufValue out;
  out.type = GgufValueType::kString;
  out.str = std::move(v);
  return out;
}

GgufValue GgufValue::Array(GgufArray v) {
  GgufValue out;
  out.type = GgufValueType::kArray;
  out.arr = std::move(v);
  return out;
}

GgufArray GgufStringArray(std::vector<std::string> items) {
  GgufArray a;
  a.elem_type = GgufValueType::kString;
  a.count = items.size();
  a.strings = std::move(items);
  return a;
}

GgufArray GgufRawArray(GgufValueType elem_type, const void* data, uint64_t count) {
  const size_t sz = FixedSize(elem_type);
  if (sz == 0) throw Error("", "", "GgufRawArray needs a fixed-size element type");
  GgufArray a;
  a.elem_type = elem_type;
  a.count = count;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  a.raw.assign(p, p + count * sz);  // dseek targets little-endian hosts only
  return a;
}

GgufArray GgufI32Array(const std::vector<int32_t>& items) {
  return GgufRawArray(GgufValueType::kI32, items.data(), items.size());
}

GgufArray GgufF32Array(const std::vector<float>& items) {
  return GgufRawArray(GgufValueType::kF32, items.data(), items.size());
}

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;  // checked for overflow when parsed
  return n;
}

int64_t GgufTensorInfo::n_rows() const {
  int64_t n = 1;
  for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

// ---------------------------------------------------------------- reader

std::unique_ptr<GgufFile> GgufFile::Open(const std::string& path, bool populate) {
  std::unique_ptr<GgufFile> f(new GgufFile(MappedFile(path, populate)));
  f->Parse();
  return f;
}

void GgufFile::Fail(const std::string& field, const std::string& reason) const {
  throw Error(path(), field, reason);
}

void GgufFile::Parse() {
  Cursor c(path(), file_.data(), file_.size());
  const uint8_t* magic = c.Take(4, "magic");
  if (std::memcmp(magic, kMagic, 4) != 0) Fail("magic", "not a GGUF file (magic is not \"GGUF\")");
  version_ = c.U32("version");
  if (version_ == 1) {
    Fail("version", "GGUF version 1 (32-bit counts) is not supported; re-convert the model to GGUF v3");
  }
  if (version_ != 2 && version_ != 3) {
    Fail("version", "unsupported GGUF version " + std::to_string(version_) + " (supported: 2, 3)");
  }
  // Smallest tensor info: name length, n_dims, type, offset. Smallest KV:
  // key length, value type, one byte of value.
  const uint64_t n_tensors = c.Count("tensor_count", "tensor count", 8 + 4 + 4 + 8, UINT64_MAX);
  const uint64_t n_kv = c.Count("kv_count", "metadata KV count", 8 + 4 + 1, UINT64_MAX);

  kv_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t k = 0; k < n_kv; ++k) {
    const std::string where = "metadata KV #" + std::to_string(k);
    std::string key = c.String(where + " key", GgufLimits::kMaxStringBytes);
    if (key.empty()) Fail(where, "empty key");
    const uint32_t t = c.U32(key);
    if (!IsValidValueType(t)) Fail(key, "unknown value type " + std::to_string(t));
    GgufValue v = c.Value(static_cast<GgufValueType>(t), key, 0);
    if (!kv_index_.emplace(key, kv_.size()).second) Fail(key, "duplicate metadata key");
    kv_.emplace_back(std::move(key), std::move(v));
  }

  if (const GgufValue* a = Find(kAlignmentKey)) {
    if (a->type != GgufValueType::kU32) {
      Fail(kAlignmentKey, "must be UINT32, got " + std::string(GgufValueTypeName(a->type)));
    }
    if (a->u == 0 || (a->u & (a->u - 1)) != 0) {
      Fail(kAlignmentKey, "alignment " + std::to_string(a->u) + " is not a power of two");
    }
    alignment_ = static_cast<uint32_t>(a->u);
  }

  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t ti = 0; ti < n_tensors; ++ti) {
    GgufTensorInfo info;
    info.name = c.String("tensor #" + std::to_string(ti) + " name", kMaxTensorNameBytes);
    if (info.name.empty()) Fail("tensor #" + std::to_string(ti), "empty tensor name");
    const std::string& name = info.name;
    const uint32_t n_dims = c.U32(name);
    if (n_dims > GgufLimits::kMaxDims) {
      Fail(name, "n_dims " + std::to_string(n_dims) + " exceeds " + std::to_string(GgufLimits::kMaxDims));
    }
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = c.U64(name);
      if (dim > static_cast<uint64_t>(INT64_MAX)) Fail(name, "dimension " + std::to_string(dim) + " too large");
      info.dims.push_back(static_cast<int64_t>(dim));
      if (MulOverflows(n_elements, static_cast<int64_t>(dim), &n_elements)) {
        Fail(name, "element count overflows int64");
      }
    }
    const uint32_t type_id = c.U32(name);
    if (!IsKnownGgmlType(type_id)) Fail(name, "unknown ggml tensor type id " + std::to_string(type_id));
    info.type = static_cast<GgmlType>(type_id);
    info.offset = c.U64(name);

    const int64_t row = info.dims.empty() ? 1 : info.dims[0];
    const int64_t bs = GgmlBlockSize(info.type);
    if (row % bs != 0) {
      Fail(name, "row length " + std::to_string(row) + " is not a multiple of the " +
                     std::string(GgmlTypeName(info.type)) + " block size " + std::to_string(bs));
    }
    int64_t nbytes = 0;
    if (MulOverflows(n_elements / bs, GgmlTypeSize(info.type), &nbytes)) Fail(name, "byte size overflows int64");
    info.nbytes = static_cast<size_t>(nbytes);
    if (!tensor_index_.emplace(name, tensors_.size()).second) Fail(name, "duplicate tensor name");
    tensors_.push_back(std::move(info));
  }

  // The data section starts at the first multiple of the alignment after the
  // tensor infos.
  const uint64_t infos_end = c.pos();
  data_offset_ = (infos_end + alignment_ - 1) / alignment_ * alignment_;  // alignment <= 2^31, no overflow
  if (tensors_.empty()) return;
  if (data_offset_ > file_.size()) {
    Fail("data section", "starts at " + std::to_string(data_offset_) + ", past the end of the file (" +
                             std::to_string(file_.size()) + " bytes)");
  }
  const uint64_t data_bytes = file_.size() - data_offset_;
  for (GgufTensorInfo& t : tensors_) {
    if (t.offset % alignment_ != 0) {
      Fail(t.name, "data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                       std::to_string(alignment_));
    }
    if (t.offset > data_bytes || t.nbytes > data_bytes - t.offset) {
      Fail(t.name, "data [" + std::to_string(t.offset) + ", +" + std::to_string(t.nbytes) +
                       ") runs past the end of the data section (" + std::to_string(data_bytes) + " bytes)");
    }
    t.data = file_.data() + data_offset_ + t.offset;
  }
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : tensors_) {
    if (t.nbytes > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo* prev = by_offset[i - 1];
    if (by_offset[i]->offset < prev->offset + prev->nbytes) {  // both in bounds: no overflow
      Fail(by_offset[i]->name, "data overlaps tensor " + prev->name);
    }
  }
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<int64_t> GgufFile::GetInteger(const std::string& key, int64_t lo, int64_t hi) const {
  const GgufValue* v = Find(key);
  if (!v) return std::nullopt;
  int64_t x = 0;
  switch (v->type) {
    case GgufValueType::kU8: case GgufValueType::kU16: case GgufValueType::kU32:
    case GgufValueType::kU64:
      if (v->u > static_cast<uint64_t>(hi)) Fail(key, "value " + std::to_string(v->u) + " out of range");
      return static_cast<int64_t>(v->u);
    case GgufValueType::kI8: case GgufValueType::kI16: case GgufValueType::kI32:
    case GgufValueType::kI64:
      x = v->i;
      break;
    default:
      Fail(key, "expected an integer, got " + std::string(GgufValueTypeName(v->type)));
  }
  if (x < lo || x > hi) Fail(key, "value " + std::to_string(x) + " out of range");
  return x;
}

std::optional<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::kString) {
    Fail(key, "expected STRING, got " + std::string(GgufValueTypeName(v->type)));
  }
  return v->str;
}

std::optional<uint32_t> GgufFile::GetU32(const std::string& key) const {
  auto v = GetInteger(key, 0, UINT32_MAX);
  return v ? std::optional<uint32_t>(static_cast<uint32_t>(*v)) : std::nullopt;
}

std::optional<int32_t> GgufFile::GetI32(const std::string& key) const {
  auto v = GetInteger(key, INT32_MIN, INT32_MAX);
  return v ? std::optional<int32_t>(static_cast<int32_t>(*v)) : std::nullopt;
}

std::optional<int64_t> GgufFile::GetI64(const std::string& key) const {
  return GetInteger(key, INT64_MIN, INT64_MAX);
}

std::optional<uint64_t> GgufFile::GetU64(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v && v->type == GgufValueType::kU64) return v->u;  // the one value above INT64_MAX
  auto x = GetInteger(key, 0, INT64_MAX);
  return x ? std::optional<uint64_t>(static_cast<uint64_t>(*x)) : std::nullopt;
}

std::optional<double> GgufFile::GetF64(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::kF32 && v->type != GgufValueType::kF64) {
    Fail(key, "expected FLOAT32 or FLOAT64, got " + std::string(GgufValueTypeName(v->type)));
  }
  return v->f;
}

std::optional<float> GgufFile::GetF32(const std::string& key) const {
  auto v = GetF64(key);
  return v ? std::optional<float>(static_cast<float>(*v)) : std::nullopt;
}

std::optional<bool> GgufFile::GetBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::kBool) Fail(key, "expected BOOL, got " + std::string(GgufValueTypeName(v->type)));
  return v->b;
}

const GgufArray* GgufFile::GetArray(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return nullptr;
  if (v->type != GgufValueType::kArray) Fail(key, "expected ARRAY, got " + std::string(GgufValueTypeName(v->type)));
  return &v->arr;
}

// ---------------------------------------------------------------- writer

namespace {

class ByteSink {
 public:
  void Bytes(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
  void LE(uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void String(const std::string& s) {
    LE(s.size(), 8);
    Bytes(s.data(), s.size());
  }
  void PadTo(uint64_t alignment) {
    while (out.size() % alignment != 0) out.push_back(0);
  }
  void Array(const GgufArray& a) {
    LE(static_cast<uint32_t>(a.elem_type), 4);
    LE(a.count, 8);
    if (a.elem_type == GgufValueType::kString) {
      for (const std::string& s : a.strings) String(s);
    } else if (a.elem_type == GgufValueType::kArray) {
      for (const GgufArray& sub : a.arrays) Array(sub);
    } else {
      Bytes(a.raw.data(), a.raw.size());
    }
  }
  void Value(const GgufValue& v) {
    switch (v.type) {
      case GgufValueType::kU8: case GgufValueType::kU16: case GgufValueType::kU32:
      case GgufValueType::kU64:
        LE(v.u, FixedSize(v.type));
        break;
      case GgufValueType::kI8: case GgufValueType::kI16: case GgufValueType::kI32:
      case GgufValueType::kI64:
        LE(static_cast<uint64_t>(v.i), FixedSize(v.type));
        break;
      case GgufValueType::kF32: {
        float f = static_cast<float>(v.f);
        uint32_t b;
        std::memcpy(&b, &f, 4);
        LE(b, 4);
        break;
      }
      case GgufValueType::kF64: {
        uint64_t b;
        std::memcpy(&b, &v.f, 8);
        LE(b, 8);
        break;
      }
      case GgufValueType::kBool: LE(v.b ? 1 : 0, 1); break;
      case GgufValueType::kString: String(v.str); break;
      case GgufValueType::kArray: Array(v.arr); break;
    }
  }
  std::vector<uint8_t> out;
};

void CheckArrayShape(const GgufArray& a, const std::string& key) {
  const size_t sz = FixedSize(a.elem_type);
  bool ok = a.elem_type == GgufValueType::kString ? a.strings.size() == a.count
            : a.elem_type == GgufValueType::kArray ? a.arrays.size() == a.count
                                                   : a.raw.size() == a.count * sz;
  if (!ok) throw Error("", key, "array count does not match its contents");
  for (const GgufArray& sub : a.arrays) CheckArrayShape(sub, key);
}

}  // namespace

void GgufWriter::Set(const std::string& key, GgufValue value) {
  if (key.empty()) throw Error("", "", "empty GGUF metadata key");
  if (value.type == GgufValueType::kArray) CheckArrayShape(value.arr, key);
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(key, std::move(value));
}

uint64_t GgufWriter::CheckTensor(const std::string& name, GgmlType type, const std::vector<int64_t>& dims) const {
  if (name.empty() || name.size() > kMaxTensorNameBytes) throw Error("", name, "bad tensor name length");
  if (dims.size() > GgufLimits::kMaxDims) throw Error("", name, "more than 4 dimensions");
  for (const Tensor& t : tensors_) {
    if (t.name == name) throw Error("", name, "duplicate tensor name");
  }
  int64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) {
    if (dims[i] < 0 || MulOverflows(rows, dims[i], &rows)) throw Error("", name, "bad dimensions");
  }
  const int64_t row_bytes = GgmlRowBytes(type, dims.empty() ? 1 : dims[0]);
  int64_t expected = 0;
  if (MulOverflows(row_bytes, rows, &expected)) throw Error("", name, "bad dimensions");
  return static_cast<uint64_t>(expected);
}

void GgufWriter::AddTensor(const std::string& name, GgmlType type, const std::vector<int64_t>& dims,
                           std::vector<uint8_t> bytes) {
  const uint64_t expected = CheckTensor(name, type, dims);
  if (expected != bytes.size()) {
    throw Error("", name, "data is " + std::to_string(bytes.size()) + " bytes, shape and type need " +
                              std::to_string(expected));
  }
  tensors_.push_back({name, type, dims, std::move(bytes), expected, false});
}

void GgufWriter::AddTensorInfo(const std::string& name, GgmlType type, const std::vector<int64_t>& dims) {
  const uint64_t expected = CheckTensor(name, type, dims);
  tensors_.push_back({name, type, dims, {}, expected, true});
}

std::vector<uint8_t> GgufWriter::Header(uint64_t* alignment_out) const {
  uint64_t alignment = kDefaultAlignment;
  for (const auto& kv : kv_) {
    if (kv.first != kAlignmentKey) continue;
    if (kv.second.type != GgufValueType::kU32 || kv.second.u == 0 || (kv.second.u & (kv.second.u - 1)) != 0) {
      throw Error("", kAlignmentKey, "must be a UINT32 power of two");
    }
    alignment = kv.second.u;
  }
  ByteSink s;
  s.Bytes(kMagic, 4);
  s.LE(3, 4);
  s.LE(tensors_.size(), 8);
  s.LE(kv_.size(), 8);
  for (const auto& kv : kv_) {
    s.String(kv.first);
    s.LE(static_cast<uint32_t>(kv.second.type), 4);
    s.Value(kv.second);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    s.String(t.name);
    s.LE(t.dims.size(), 4);
    for (int64_t d : t.dims) s.LE(static_cast<uint64_t>(d), 8);
    s.LE(static_cast<uint32_t>(t.type), 4);
    s.LE(offset, 8);
    offset += (t.nbytes + alignment - 1) / alignment * alignment;
  }
  s.PadTo(alignment);
  *alignment_out = alignment;
  return std::move(s.out);
}

std::vector<uint8_t> GgufWriter::Serialize() const {
  for (const Tensor& t : tensors_)
    if (t.deferred) throw Error("", t.name, "tensor data is streamed: use WriteStreaming");
  uint64_t alignment = 0;
  std::vector<uint8_t> out = Header(&alignment);
  for (const Tensor& t : tensors_) {
    out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
  }
  return out;
}

void GgufWriter::Write(const std::string& path) const {
  WriteStreaming(path, [](size_t, const Sink&) {});
}

void GgufWriter::WriteStreaming(const std::string& path, const std::function<void(size_t, const Sink&)>& produce) const {
  // Streams the tensors rather than serializing: a model's worth of data
  // should not be held twice in memory.
  uint64_t alignment = 0;
  const std::vector<uint8_t> header = Header(&alignment);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path, "", "cannot open for writing");
  out.write(reinterpret_cast<const char*>(header.data()), static_cast<std::streamsize>(header.size()));
  const std::vector<char> zeros(alignment, 0);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    if (t.deferred) {
      uint64_t got = 0;
      produce(i, [&](const void* data, size_t n) {
        if (got + n > t.nbytes) throw Error(path, t.name, "producer gave more bytes than the tensor holds");
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
        got += n;
      });
      if (got != t.nbytes)
        throw Error(path, t.name, "producer gave " + std::to_string(got) + " bytes, expected " + std::to_string(t.nbytes));
      if (!out) throw Error(path, t.name, "write failed");
    } else {
      out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
    }
    const uint64_t pad = (alignment - t.nbytes % alignment) % alignment;
    out.write(zeros.data(), static_cast<std::streamsize>(pad));
  }
  out.close();
  if (!out) throw Error(path, "", "write failed");
}

}  // namespace dseek
