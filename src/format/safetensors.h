// Hardened reader of the safetensors format: a u64 little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}}, then raw data.
// Every length, offset and shape is checked before use; a bad file is a
// dseek::Error naming the file and tensor. No math, no copies: entries point
// into the mapping owned by SafetensorsFile. Immutable after Open(), so
// thread-safe for reads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/mapped_file.h"

namespace dseek {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // into the file mapping
  size_t nbytes = 0;
};

class SafetensorsFile {
 public:
  // populate: see MappedFile (the caller knows the size of all shards).
  static std::unique_ptr<SafetensorsFile> Open(const std::string& path, bool populate = false);

  const std::string& path() const { return file_.path(); }
  const std::vector<SafetensorsEntry>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsEntry* Find(const std::string& name) const;

 private:
  explicit SafetensorsFile(MappedFile file) : file_(std::move(file)) {}
  void Parse();

  MappedFile file_;
  std::vector<SafetensorsEntry> tensors_;
  std::map<std::string, size_t> by_name_;
  std::map<std::string, std::string> metadata_;
};

// model.safetensors.index.json: tensor name -> shard file name (relative to
// the folder). Shard names must be plain file names (no path separators).
std::map<std::string, std::string> ReadSafetensorsIndex(const std::string& path);

// Writes a safetensors file (used by `dseek synth` and tests). Tensors are
// written in the given order; the header is padded to 8 bytes with spaces.
struct SafetensorsWriteEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
void WriteSafetensors(const std::string& path, const std::vector<SafetensorsWriteEntry>& tensors,
                      const std::map<std::string, std::string>& metadata);

}  // namespace dseek
