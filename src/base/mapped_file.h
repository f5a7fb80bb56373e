// A read-only memory mapping of a whole file. Owns the mapping; movable, not
// copyable. Weights point into it, so it must outlive every view of them.
// Thread-safe for concurrent reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dseek {

class MappedFile {
 public:
  // Throws dseek::Error naming the path if the file cannot be opened or mapped.
  // populate: map every page now (fast first use) rather than on first touch;
  // only for data that fits in RAM (see FitsInRam).
  explicit MappedFile(const std::string& path, bool populate = false);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Unmaps the whole pages inside [p, p + n) from this process (they stay in
  // the page cache and fault in again on the next read: contents never
  // change). Ranges outside the mapping are ignored.
  void DropPages(const void* p, size_t n) const;

 private:
  void Release();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Whether `bytes` of mapped files can all stay resident (under 3/4 of RAM).
bool FitsInRam(uint64_t bytes);

// Reads a whole (small) file into a string; throws dseek::Error on failure.
std::string ReadTextFile(const std::string& path);

}  // namespace dseek
