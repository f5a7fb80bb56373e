// Test helpers for building broken model folders at run time: a temporary
// directory that removes itself, byte-level file I/O, and a safetensors file
// split into (ordered JSON header, data bytes) so a test can edit the header
// and write it back. Nothing here is product code; every corrupt file lives
// only inside a TempDir.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "base/error.h"

namespace dseek::testing {

namespace fs = std::filesystem;

inline std::string ModelFixture(const std::string& name) { return std::string(DSEEK_TEST_DATA) + "/models/" + name; }

// A fresh, uniquely named folder under the system temp dir; removed with
// everything in it when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
      fs::path p = fs::temp_directory_path() /
                   ("dseek-malformed-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + "-" + std::to_string(rd()));
      std::error_code ec;
      if (fs::create_directory(p, ec)) {
        path_ = p;
        return;
      }
    }
    ADD_FAILURE() << "could not create a temporary directory";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out.good()) << "cannot write " << path;
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  ASSERT_TRUE(out.good()) << "write failed: " << path;
}

// Copies every regular file of a fixture folder into `dst` as fresh writable
// files (the fixtures are read-only, and fs::copy_file would keep that).
inline void CopyModel(const std::string& fixture, const fs::path& dst) {
  for (const auto& e : fs::directory_iterator(ModelFixture(fixture)))
    if (e.is_regular_file()) WriteBytes((dst / e.path().filename()).string(), ReadBytes(e.path().string()));
}

inline std::string U64Le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A complete safetensors file from a header text and data bytes, with no
// validation at all: the caller decides what is wrong with it.
inline std::string RawSafetensors(const std::string& header, const std::string& data) {
  return U64Le(header.size()) + header + data;
}

// A safetensors file taken apart. ordered_json keeps the tensor order.
struct SafetensorsParts {
  nlohmann::ordered_json header;
  std::string data;

  static SafetensorsParts Read(const std::string& path) {
    std::string b = ReadBytes(path);
    SafetensorsParts p;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(b.at(i));
    p.header = nlohmann::ordered_json::parse(b.substr(8, n));
    p.data = b.substr(8 + n);
    return p;
  }

  void Write(const std::string& path) const {
    std::string h = header.dump();
    while (h.size() % 8 != 0) h.push_back(' ');
    WriteBytes(path, RawSafetensors(h, data));
  }

  // Points `name` at new bytes appended to the data (the old bytes stay, unused).
  void Replace(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
               const std::string& bytes) {
    while (data.size() % 8 != 0) data.push_back('\0');
    const uint64_t begin = data.size();
    data += bytes;
    header[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {begin, begin + bytes.size()}}};
  }
};

// Reads a JSON file, lets `edit` change it, writes it back.
inline void EditJson(const std::string& path, const std::function<void(nlohmann::ordered_json&)>& edit) {
  auto j = nlohmann::ordered_json::parse(ReadBytes(path));
  edit(j);
  WriteBytes(path, j.dump(2));
}

// Runs `fn`, which must throw dseek::Error; returns it (an empty Error if it
// did not throw, after recording the failure).
template <typename Fn>
dseek::Error ExpectError(Fn&& fn) {
  try {
    fn();
  } catch (const dseek::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected dseek::Error, nothing was thrown";
  return dseek::Error("", "", "(nothing thrown)");
}

}  // namespace dseek::testing
