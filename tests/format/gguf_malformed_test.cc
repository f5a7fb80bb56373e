// Hostile GGUF input: files built byte by byte at run time with one field
// broken each, truncations at every prefix, and a seeded fuzz loop of byte
// flips over a real fixture. Every one must parse or throw dseek::Error
// (never crash, never read out of bounds: run under ASan to check the latter).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "format/gguf.h"

namespace dseek {
namespace {

namespace fs = std::filesystem;

// A unique temp file path, removed on destruction.
class TempFile {
 public:
  TempFile() {
    static int counter = 0;
    path_ = (fs::temp_directory_path() /
             ("dseek-gguf-bad-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".gguf"))
                .string();
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const std::string& Write(const std::vector<uint8_t>& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path_;
  }

 private:
  std::string path_;
};

// Byte-level GGUF builder: fields are written exactly as given, so a test can
// put any lie into any count, length, type or offset.
class Raw {
 public:
  Raw& U32(uint32_t v) { return LE(v, 4); }
  Raw& U64(uint64_t v) { return LE(v, 8); }
  Raw& Str(const std::string& s) {
    U64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Raw& Bytes(const std::string& s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Raw& Header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    return Bytes("GGUF").U32(version).U64(n_tensors).U64(n_kv);
  }
  Raw& TensorInfo(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) U64(d);
    return U32(type).U64(offset);
  }
  Raw& Pad(size_t alignment) {
    while (b.size() % alignment) b.push_back(0);
    return *this;
  }
  Raw& Zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  Raw& LE(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<uint8_t> b;
};

// A valid file: one KV, two F32 tensors of 8 elements at offsets 0 and 32.
Raw Valid() {
  Raw r;
  r.Header(3, 2, 1).Str("general.architecture").U32(8).Str("llama");
  r.TensorInfo("a", {8}, 0, 0).TensorInfo("b", {4, 2}, 0, 32).Pad(32).Zeros(64);
  return r;
}

// Opens the bytes; returns the error (field + reason) or "" if it parsed.
std::string OpenError(const std::vector<uint8_t>& bytes) {
  TempFile f;
  try {
    GgufFile::Open(f.Write(bytes));
  } catch (const Error& e) {
    EXPECT_FALSE(e.where().empty());
    return e.field() + ": " + e.reason();
  }
  return "";
}

void ExpectError(const Raw& r, const std::string& needle) {
  const std::string err = OpenError(r.b);
  EXPECT_NE(err, "") << "expected an error containing \"" << needle << "\"";
  EXPECT_NE(err.find(needle), std::string::npos) << "got: " << err << " / wanted: " << needle;
}

TEST(GgufMalformed, ValidBaselineParses) {
  TempFile f;
  auto g = GgufFile::Open(f.Write(Valid().b));
  ASSERT_EQ(g->tensors().size(), 2u);
  EXPECT_EQ(g->FindTensor("b")->nbytes, 32u);
  EXPECT_EQ(g->GetString("general.architecture"), "llama");
}

TEST(GgufMalformed, VersionTwoParses) {
  Raw r;
  r.Header(2, 0, 1).Str("k").U32(4).U32(7);
  EXPECT_EQ(OpenError(r.b), "");
}

TEST(GgufMalformed, BadMagicAndVersions) {
  Raw r = Valid();
  r.b[0] = 'X';
  ExpectError(r, "not a GGUF file");
  Raw v1;
  v1.Header(1, 0, 0);
  ExpectError(v1, "version 1");
  Raw v99;
  v99.Header(99, 0, 0);
  ExpectError(v99, "unsupported GGUF version 99");
  ExpectError(Raw().Bytes("GG"), "truncated");
  ExpectError(Raw(), "truncated");
}

TEST(GgufMalformed, EveryTruncationIsAnError) {
  const std::vector<uint8_t> full = Valid().b;
  for (size_t n = 0; n < full.size(); ++n) {
    const std::vector<uint8_t> cut(full.begin(), full.begin() + n);
    EXPECT_NE(OpenError(cut), "") << "truncated to " << n << " bytes";
  }
}

TEST(GgufMalformed, Counts) {
  ExpectError(Raw().Header(3, 1ull << 60, 0), "tensor count");
  ExpectError(Raw().Header(3, 0, 1ull << 60), "KV count");
  ExpectError(Raw().Header(3, 0, ~0ull), "KV count");
}

TEST(GgufMalformed, StringsAndArrays) {
  ExpectError(Raw().Header(3, 0, 1).U64(1000).Bytes("abc").Zeros(16), "past the end");
  ExpectError(Raw().Header(3, 0, 1).U64(~0ull).Zeros(16), "exceeds the limit");
  ExpectError(Raw().Header(3, 0, 1).Str("k").U32(8).U64(1ull << 40), "exceeds the limit");
  ExpectError(Raw().Header(3, 0, 1).Str("k").U32(13).U32(0), "unknown value type 13");
  // Array of 2^31 + 1 u8: over the element limit; 2^30 u32: more than the file holds.
  ExpectError(Raw().Header(3, 0, 1).Str("k").U32(9).U32(0).U64((1ull << 31) + 1), "exceeds the limit");
  ExpectError(Raw().Header(3, 0, 1).Str("k").U32(9).U32(4).U64(1ull << 30).U32(1), "cannot fit");
  ExpectError(Raw().Header(3, 0, 1).Str("k").U32(9).U32(8).U64(1000).Str("x"), "cannot fit");
  ExpectError(Raw().Header(3, 0, 1).Str("k").U32(9).U32(77).U64(0), "unknown array element type");
  // Arrays nested past the limit.
  Raw deep;
  deep.Header(3, 0, 1).Str("k").U32(9);
  for (int i = 0; i < 20; ++i) deep.U32(9).U64(1);
  deep.U32(0).U64(0);
  ExpectError(deep, "nested deeper");
  ExpectError(Raw().Header(3, 0, 2).Str("k").U32(4).U32(1).Str("k").U32(4).U32(2), "duplicate metadata key");
  ExpectError(Raw().Header(3, 0, 1).Str("").U32(4).U32(1), "empty key");
}

TEST(GgufMalformed, Alignment) {
  Raw r;
  r.Header(3, 0, 1).Str("general.alignment").U32(4).U32(3);
  ExpectError(r, "not a power of two");
  Raw z;
  z.Header(3, 0, 1).Str("general.alignment").U32(4).U32(0);
  ExpectError(z, "not a power of two");
  Raw t;
  t.Header(3, 0, 1).Str("general.alignment").U32(10).U64(32);
  ExpectError(t, "must be UINT32");
}

Raw OneTensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset,
              size_t data_bytes) {
  Raw r;
  r.Header(3, 1, 0).TensorInfo(name, std::move(dims), type, offset).Pad(32).Zeros(data_bytes);
  return r;
}

TEST(GgufMalformed, TensorInfos) {
  ExpectError(OneTensor("t", {1, 1, 1, 1, 1}, 0, 0, 32), "n_dims 5");
  ExpectError(OneTensor("t", {1ull << 62, 1ull << 62}, 0, 0, 32), "overflows");
  ExpectError(OneTensor("t", {1ull << 63}, 0, 0, 32), "too large");
  ExpectError(OneTensor("t", {1ull << 61}, 1, 0, 32), "runs past the end");      // 2^62 bytes
  ExpectError(OneTensor("t", {1ull << 62}, 0, 0, 32), "overflows");              // 2^64 bytes
  ExpectError(OneTensor("t", {8}, 0, 16, 64), "not a multiple of the alignment");
  ExpectError(OneTensor("t", {8}, 0, 1ull << 40, 64), "runs past the end");
  ExpectError(OneTensor("t", {8}, 0, 32, 48), "runs past the end");
  ExpectError(OneTensor("t", {8}, 0, ~0ull & ~31ull, 64), "runs past the end");
  ExpectError(OneTensor("w", {32}, 4, 0, 64), "unknown ggml tensor type id 4");
  ExpectError(OneTensor("w", {32}, 1000, 0, 64), "unknown ggml tensor type id 1000");
  ExpectError(OneTensor("w", {16}, 8, 0, 64), "not a multiple of the Q8_0 block size");
  ExpectError(OneTensor("", {8}, 0, 0, 64), "empty tensor name");
  const std::string err = OpenError(OneTensor("blk.0.w", {32}, 31, 0, 64).b);
  EXPECT_NE(err.find("blk.0.w"), std::string::npos) << err;  // the error names the tensor
  // Overlap and duplicates.
  Raw ov;
  ov.Header(3, 2, 0).TensorInfo("a", {16}, 0, 0).TensorInfo("b", {8}, 0, 32).Pad(32).Zeros(64);
  ExpectError(ov, "overlaps tensor a");
  Raw dup;
  dup.Header(3, 2, 0).TensorInfo("a", {8}, 0, 0).TensorInfo("a", {8}, 0, 32).Pad(32).Zeros(64);
  ExpectError(dup, "duplicate tensor name");
  // Data section start past the end of the file.
  Raw nodata;
  nodata.Header(3, 1, 0).TensorInfo("a", {0}, 0, 0);
  nodata.b.resize(nodata.b.size() - 0);
  EXPECT_EQ(OpenError(nodata.Pad(32).b), "");  // zero-sized tensor at the end is fine
}

// Random byte flips and truncations of a real fixture: parse or dseek::Error.
TEST(GgufMalformed, FuzzedFixtureNeverCrashes) {
  std::ifstream in(std::string(DSEEK_TEST_DATA) + "/gguf/tiny-qwen2-q8_0.gguf", std::ios::binary);
  const std::vector<uint8_t> base((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(base.size(), 10000u);
  // The header and metadata (where the lengths are) are the interesting part.
  size_t header_end = 0;
  {
    TempFile f;
    header_end = static_cast<size_t>(GgufFile::Open(f.Write(base))->data_offset());
  }
  std::mt19937_64 rng(20240601);
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::vector<uint8_t> b = base;
    const int n_flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n_flips; ++k) {
      const size_t pos = rng() % (rng() % 4 == 0 ? b.size() : header_end);
      switch (rng() % 4) {
        case 0: b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: b[pos] = static_cast<uint8_t>(rng()); break;
        case 2: b[pos] = 0xff; break;
        default: b[pos] = 0; break;
      }
    }
    if (rng() % 5 == 0) b.resize(rng() % b.size());
    TempFile f;
    try {
      auto g = GgufFile::Open(f.Write(b));
      // Touch every tensor byte: any pointer outside the mapping would fault.
      uint64_t sum = 0;
      for (const auto& t : g->tensors()) {
        for (size_t i = 0; i < t.nbytes; i += 61) sum += t.data[i];
      }
      volatile uint64_t sink = sum;
      (void)sink;
      ++parsed;
    } catch (const Error&) {
      ++rejected;
    }
  }
  std::printf("fuzz: %d parsed, %d rejected\n", parsed, rejected);
  EXPECT_GT(rejected, 50);
}

}  // namespace
}  // namespace dseek
