// Hardened reader and a writer of GGUF (ggml's model file format), versions 2
// and 3: magic "GGUF", u32 version, u64 tensor count, u64 KV count, the
// metadata KV pairs, the tensor infos, padding to `general.alignment`
// (default 32), then the tensor data. Version 1 (32-bit counts) is rejected.
//
// A GGUF file is hostile input: every count, length, dimension and offset is
// checked, with overflow-safe arithmetic, before it is used; a bad file is a
// dseek::Error(path, key or tensor name, reason). No math and no model
// knowledge here. Tensor data is not copied: GgufTensorInfo::data points into
// the mapping owned by GgufFile, which must outlive it. GgufFile is immutable
// after Open(), so concurrent reads are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/ggml_types.h"
#include "base/mapped_file.h"

namespace dseek {

// GGUF metadata value types (the ids stored in the file).
enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

std::string_view GgufValueTypeName(GgufValueType t);

// A typed array. Fixed-size elements stay packed little-endian in `raw` (a
// 100k-entry token-type array is 400 KB, not 100k objects); strings and
// nested arrays are held in their own vectors. Exactly one of raw / strings /
// arrays is used, chosen by elem_type.
struct GgufArray {
  GgufValueType elem_type = GgufValueType::kU8;
  uint64_t count = 0;
  std::vector<uint8_t> raw;
  std::vector<std::string> strings;
  std::vector<GgufArray> arrays;

  uint64_t size() const { return count; }
  // Element i of an integer or bool array as int64 (a u64 element above
  // INT64_MAX is an error). Throws dseek::Error for other element types.
  int64_t IntAt(uint64_t i) const;
  // Element i of any numeric array as double.
  double FloatAt(uint64_t i) const;
};

struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  // Exactly one of these is meaningful, chosen by type: unsigned integers in
  // u, signed in i, f32/f64 in f, bool in b, string in str, array in arr.
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string str;
  GgufArray arr;

  static GgufValue U8(uint8_t v);
  static GgufValue I8(int8_t v);
  static GgufValue U16(uint16_t v);
  static GgufValue I16(int16_t v);
  static GgufValue U32(uint32_t v);
  static GgufValue I32(int32_t v);
  static GgufValue U64(uint64_t v);
  static GgufValue I64(int64_t v);
  static GgufValue F32(float v);
  static GgufValue F64(double v);
  static GgufValue Bool(bool v);
  static GgufValue String(std::string v);
  static GgufValue Array(GgufArray v);
};

// Array builders for the writer and for tests.
GgufArray GgufStringArray(std::vector<std::string> items);
GgufArray GgufI32Array(const std::vector<int32_t>& items);
GgufArray GgufF32Array(const std::vector<float>& items);
// `elem_size` bytes per element, little-endian, for any fixed-size type.
GgufArray GgufRawArray(GgufValueType elem_type, const void* data, uint64_t count);

struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<int64_t> dims;      // ggml order: dims[0] is the row length (innermost)
  uint64_t offset = 0;            // relative to the data section
  const uint8_t* data = nullptr;  // into the file mapping
  size_t nbytes = 0;

  int64_t n_elements() const;
  int64_t row_length() const { return dims.empty() ? 1 : dims[0]; }
  int64_t n_rows() const;  // product of dims[1..]
};

// Limits a hostile file must stay within (besides the file size itself).
struct GgufLimits {
  static constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;
  static constexpr uint64_t kMaxArrayElements = uint64_t{1} << 31;
  static constexpr int kMaxArrayNesting = 8;
  static constexpr uint32_t kMaxDims = 4;
};

class GgufFile {
 public:
  // Maps and parses `path`; throws dseek::Error(path, key/tensor, reason).
  // populate: map every page now (see MappedFile); for a model about to run.
  static std::unique_ptr<GgufFile> Open(const std::string& path, bool populate = false);

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* Find(const std::string& key) const;

  // Typed getters: nullopt / nullptr when the key is absent; dseek::Error
  // (path, key, reason) when present with the wrong type or a value out of
  // range. Integer getters accept any integer type whose value fits; GetF32 /
  // GetF64 accept F32 and F64.
  std::optional<std::string> GetString(const std::string& key) const;
  std::optional<uint32_t> GetU32(const std::string& key) const;
  std::optional<int32_t> GetI32(const std::string& key) const;
  std::optional<uint64_t> GetU64(const std::string& key) const;
  std::optional<int64_t> GetI64(const std::string& key) const;
  std::optional<float> GetF32(const std::string& key) const;
  std::optional<double> GetF64(const std::string& key) const;
  std::optional<bool> GetBool(const std::string& key) const;
  const GgufArray* GetArray(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;
  // See MappedFile::DropPages.
  void DropPages(const void* p, size_t n) const { file_.DropPages(p, n); }

 private:
  explicit GgufFile(MappedFile file) : file_(std::move(file)) {}
  void Parse();
  [[noreturn]] void Fail(const std::string& field, const std::string& reason) const;
  std::optional<int64_t> GetInteger(const std::string& key, int64_t lo, int64_t hi) const;

  MappedFile file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// Writes GGUF v3. Keys and tensors are written in the order they were added;
// tensor data is padded to the alignment (general.alignment if it was set
// as a U32, else 32). Not thread-safe.
class GgufWriter {
 public:
  // Replaces an existing key of the same name.
  void Set(const std::string& key, GgufValue value);
  void SetU32(const std::string& key, uint32_t v) { Set(key, GgufValue::U32(v)); }
  void SetI32(const std::string& key, int32_t v) { Set(key, GgufValue::I32(v)); }
  void SetU64(const std::string& key, uint64_t v) { Set(key, GgufValue::U64(v)); }
  void SetF32(const std::string& key, float v) { Set(key, GgufValue::F32(v)); }
  void SetBool(const std::string& key, bool v) { Set(key, GgufValue::Bool(v)); }
  void SetString(const std::string& key, std::string v) { Set(key, GgufValue::String(std::move(v))); }
  void SetArray(const std::string& key, GgufArray v) { Set(key, GgufValue::Array(std::move(v))); }

  // `bytes` must be exactly the size of `dims` (ggml order) in `type`;
  // throws dseek::Error otherwise, or for a duplicate name.
  void AddTensor(const std::string& name, GgmlType type, const std::vector<int64_t>& dims,
                 std::vector<uint8_t> bytes);

  // Declares a tensor whose data WriteStreaming() asks for when it gets to
  // it, so a model's worth of data need not sit in memory (dseek quantize).
  void AddTensorInfo(const std::string& name, GgmlType type, const std::vector<int64_t>& dims);

  // Serializes to a byte buffer / a file (throws dseek::Error on I/O failure).
  // Both throw if a tensor was added with AddTensorInfo.
  std::vector<uint8_t> Serialize() const;
  void Write(const std::string& path) const;

  // Writes the file; for each tensor added with AddTensorInfo, calls
  // produce(index, sink) in file order (index counts all tensors), which must
  // pass exactly that tensor's bytes to sink, in one or more chunks.
  using Sink = std::function<void(const void* data, size_t n)>;
  void WriteStreaming(const std::string& path, const std::function<void(size_t, const Sink&)>& produce) const;

 private:
  // Everything up to the data section (padded); sets *alignment.
  std::vector<uint8_t> Header(uint64_t* alignment) const;
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> dims;
    std::vector<uint8_t> bytes;
    uint64_t nbytes = 0;
    bool deferred = false;  // AddTensorInfo: bytes come from WriteStreaming's producer
  };
  // Checks name and dims; returns the byte size the shape and type need.
  uint64_t CheckTensor(const std::string& name, GgmlType type, const std::vector<int64_t>& dims) const;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace dseek
