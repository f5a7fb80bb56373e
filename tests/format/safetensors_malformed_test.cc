// SafetensorsFile::Open and ReadSafetensorsIndex on broken input: every
// defect is a dseek::Error whose message names the file and the tensor or
// field at fault. Also the happy path: WriteSafetensors then Open.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "base/error.h"
#include "format/safetensors.h"
#include "malformed_files.h"

namespace dseek {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::ExpectError;
using testing::RawSafetensors;
using testing::ReadBytes;
using testing::TempDir;
using testing::U64Le;
using testing::WriteBytes;

// Header text from the entries of the JSON object.
std::string Header(const std::string& entries) { return "{" + entries + "}"; }

class SafetensorsMalformed : public ::testing::Test {
 protected:
  // Writes `bytes` as a file named `name` in the temp dir and opens it,
  // expecting an Error; returns its message.
  Error OpenBroken(const std::string& bytes, const std::string& name = "broken.safetensors") {
    path_ = dir_ / name;
    WriteBytes(path_, bytes);
    return ExpectError([&] { SafetensorsFile::Open(path_); });
  }
  TempDir dir_;
  std::string path_;
};

TEST(SafetensorsRoundTrip, WriteThenOpenGivesBackEveryTensor) {
  TempDir dir;
  const std::string path = dir / "rt.safetensors";
  std::vector<SafetensorsWriteEntry> in;
  {
    SafetensorsWriteEntry a{"w.f32", DType::kF32, {2, 3}, {}};
    for (int i = 0; i < 6; ++i) {
      float f = 0.5f * i - 1.0f;
      uint8_t b[4];
      std::memcpy(b, &f, 4);
      a.bytes.insert(a.bytes.end(), b, b + 4);
    }
    in.push_back(a);
    in.push_back({"w.bf16", DType::kBF16, {4}, {1, 2, 3, 4, 5, 6, 7, 8}});
    in.push_back({"w.fp8", DType::kF8E4M3, {3, 1}, {9, 10, 11}});
    in.push_back({"empty", DType::kF32, {0, 5}, {}});
    in.push_back({"scalar", DType::kI32, {}, {42, 0, 0, 0}});
  }
  WriteSafetensors(path, in, {{"format", "pt"}, {"note", "round trip"}});

  auto f = SafetensorsFile::Open(path);
  EXPECT_EQ(f->path(), path);
  ASSERT_EQ(f->tensors().size(), in.size());
  for (const auto& w : in) {
    SCOPED_TRACE(w.name);
    const SafetensorsEntry* e = f->Find(w.name);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->name, w.name);
    EXPECT_EQ(e->dtype, w.dtype);
    EXPECT_EQ(e->shape, w.shape);
    ASSERT_EQ(e->nbytes, w.bytes.size());
    if (e->nbytes > 0) {
      EXPECT_EQ(std::memcmp(e->data, w.bytes.data(), e->nbytes), 0);
    }
  }
  EXPECT_EQ(f->Find("absent"), nullptr);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->metadata().at("note"), "round trip");
  // The header is padded so the data starts 8-byte aligned.
  std::string bytes = ReadBytes(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
}

TEST(SafetensorsRoundTrip, WriteIntoMissingFolderNamesThePath) {
  TempDir dir;
  const std::string path = dir / "no-such-folder/x.safetensors";
  Error e = ExpectError([&] { WriteSafetensors(path, {{"a", DType::kF32, {1}, {0, 0, 0, 0}}}, {}); });
  EXPECT_THAT(e.what(), HasSubstr("x.safetensors"));
}

TEST_F(SafetensorsMalformed, MissingFileNamesThePath) {
  path_ = dir_ / "absent.safetensors";
  Error e = ExpectError([&] { SafetensorsFile::Open(path_); });
  EXPECT_THAT(e.what(), AllOf(HasSubstr("absent.safetensors"), HasSubstr("cannot open")));
}

TEST_F(SafetensorsMalformed, DirectoryInsteadOfFile) {
  path_ = dir_ / "dir.safetensors";
  std::filesystem::create_directory(path_);
  Error e = ExpectError([&] { SafetensorsFile::Open(path_); });
  EXPECT_THAT(e.what(), AllOf(HasSubstr("dir.safetensors"), HasSubstr("not a regular file")));
}

TEST_F(SafetensorsMalformed, EmptyFile) {
  Error e = OpenBroken("");
  EXPECT_EQ(e.where(), path_);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("truncated"), HasSubstr("0 bytes")));
}

TEST_F(SafetensorsMalformed, ShorterThanEightBytes) {
  Error e = OpenBroken(std::string("\x10\0\0\0\0", 5));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("truncated"), HasSubstr("5 bytes")));
}

TEST_F(SafetensorsMalformed, HeaderLengthPastTheEnd) {
  Error e = OpenBroken(U64Le(1000) + "{\"a\":{}}");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("header length 1000"),
                              HasSubstr("past the end")));
}

TEST_F(SafetensorsMalformed, HeaderLengthAbsurd) {
  for (uint64_t len : {(100ull << 20) + 1, 1ull << 40, ~0ull}) {
    SCOPED_TRACE(len);
    Error e = OpenBroken(U64Le(len) + "{}      ");
    EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("implausible")));
  }
}

TEST_F(SafetensorsMalformed, BadJsonHeader) {
  Error e = OpenBroken(RawSafetensors("{\"a\": {\"dtype\": ", ""));
  EXPECT_EQ(e.field(), "header");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("header"), HasSubstr("bad JSON")));
}

TEST_F(SafetensorsMalformed, HeaderNotAnObject) {
  for (const char* h : {"[1, 2]", "\"text\"", "42", "null"}) {
    SCOPED_TRACE(h);
    Error e = OpenBroken(RawSafetensors(h, ""));
    EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("header"), HasSubstr("not an object")));
  }
}

TEST_F(SafetensorsMalformed, TensorEntryNotAnObject) {
  Error e = OpenBroken(RawSafetensors(Header("\"w.q\": [1]"), ""));
  EXPECT_EQ(e.field(), "w.q");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("not an object")));
}

TEST_F(SafetensorsMalformed, MissingDtype) {
  Error e = OpenBroken(RawSafetensors(Header(R"("w.q": {"shape": [2], "data_offsets": [0, 8]})"), std::string(8, '\0')));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("dtype")));
}

TEST_F(SafetensorsMalformed, UnknownDtype) {
  Error e = OpenBroken(
      RawSafetensors(Header(R"("w.q": {"dtype": "F7", "shape": [2], "data_offsets": [0, 8]})"), std::string(8, '\0')));
  EXPECT_EQ(e.field(), "w.q");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("unknown dtype 'F7'")));
}

TEST_F(SafetensorsMalformed, MissingShape) {
  Error e = OpenBroken(RawSafetensors(Header(R"("w.q": {"dtype": "F32", "data_offsets": [0, 8]})"), std::string(8, '\0')));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("shape")));
}

TEST_F(SafetensorsMalformed, ShapeWithNegativeEntry) {
  Error e = OpenBroken(
      RawSafetensors(Header(R"("w.q": {"dtype": "F32", "shape": [-2, 2], "data_offsets": [0, 16]})"), std::string(16, '\0')));
  EXPECT_EQ(e.field(), "w.q");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("negative")));
}

TEST_F(SafetensorsMalformed, ShapeWithNonIntegerEntry) {
  for (const char* dim : {"2.5", "\"2\"", "null", "[2]"}) {
    SCOPED_TRACE(dim);
    Error e = OpenBroken(RawSafetensors(
        Header(std::string(R"("w.q": {"dtype": "F32", "shape": [)") + dim + R"(], "data_offsets": [0, 8]})"),
        std::string(8, '\0')));
    EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("shape")));
  }
}

TEST_F(SafetensorsMalformed, ShapeProductOverflows) {
  Error e = OpenBroken(RawSafetensors(
      Header(R"("w.q": {"dtype": "F32", "shape": [4611686018427387904, 4611686018427387904], "data_offsets": [0, 8]})"),
      std::string(8, '\0')));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("overflows")));
}

TEST_F(SafetensorsMalformed, DataOffsetsNotAPair) {
  for (const char* off : {"[0]", "[0, 4, 8]", "\"0-8\"", "{}"}) {
    SCOPED_TRACE(off);
    Error e = OpenBroken(RawSafetensors(
        Header(std::string(R"("w.q": {"dtype": "F32", "shape": [2], "data_offsets": )") + off + "}"), std::string(8, '\0')));
    EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("data_offsets")));
  }
}

TEST_F(SafetensorsMalformed, DataOffsetsNegativeOrFractional) {
  for (const char* off : {"[-8, 0]", "[0, 8.5]", "[0, \"8\"]"}) {
    SCOPED_TRACE(off);
    Error e = OpenBroken(RawSafetensors(
        Header(std::string(R"("w.q": {"dtype": "F32", "shape": [2], "data_offsets": )") + off + "}"), std::string(8, '\0')));
    EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("data_offsets")));
  }
}

TEST_F(SafetensorsMalformed, DataOffsetsWrongSizeForDtypeTimesShape) {
  // F32 [3] needs 12 bytes; the offsets span 8.
  Error e = OpenBroken(
      RawSafetensors(Header(R"("w.q": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]})"), std::string(16, '\0')));
  EXPECT_EQ(e.field(), "w.q");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("span 8 bytes"),
                              HasSubstr("need 12")));
}

TEST_F(SafetensorsMalformed, DataOffsetsBeginAfterEnd) {
  Error e = OpenBroken(
      RawSafetensors(Header(R"("w.q": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]})"), std::string(16, '\0')));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("begin 8 > end 0")));
}

TEST_F(SafetensorsMalformed, DataOffsetsPastTheEnd) {
  Error e = OpenBroken(
      RawSafetensors(Header(R"("w.q": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]})"), std::string(8, '\0')));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q"), HasSubstr("past the end")));
}

TEST_F(SafetensorsMalformed, DataOffsetsHugeDoNotWrap) {
  // begin + span would wrap around 2^64 if anyone added them unchecked.
  Error e = OpenBroken(RawSafetensors(
      Header(R"("w.q": {"dtype": "F32", "shape": [2], "data_offsets": [18446744073709551608, 18446744073709551615]})"),
      std::string(8, '\0')));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.q")));
}

TEST_F(SafetensorsMalformed, OverlappingDataOffsets) {
  Error e = OpenBroken(RawSafetensors(Header(R"("w.a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                                             R"("w.b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]})"),
                                      std::string(16, '\0')));
  EXPECT_THAT(e.what(),
              AllOf(HasSubstr("broken.safetensors"), HasSubstr("w.a"), HasSubstr("w.b"), HasSubstr("overlap")));
}

TEST_F(SafetensorsMalformed, OneTensorInsideAnother) {
  Error e = OpenBroken(RawSafetensors(Header(R"("big": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]},)"
                                             R"("inner": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]},)"
                                             R"("after": {"dtype": "F32", "shape": [1], "data_offsets": [32, 36]})"),
                                      std::string(40, '\0')));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("inner"), HasSubstr("overlap")));
}

TEST_F(SafetensorsMalformed, MetadataMustBeStrings) {
  Error e = OpenBroken(RawSafetensors(Header(R"("__metadata__": {"format": 3})"), ""));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("__metadata__.format")));
  e = OpenBroken(RawSafetensors(Header(R"("__metadata__": [1])"), ""));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("broken.safetensors"), HasSubstr("__metadata__")));
}

TEST_F(SafetensorsMalformed, TruncatedFixtureNamesTheLastTensor) {
  // Cut one byte off a real model file: only the tensor ending at the end of
  // the data runs past it.
  const std::string src = testing::ModelFixture("tiny-v2lite") + "/model.safetensors";
  auto parts = testing::SafetensorsParts::Read(src);
  std::string last;
  uint64_t last_end = 0;
  for (auto it = parts.header.begin(); it != parts.header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    uint64_t end = it.value()["data_offsets"][1].get<uint64_t>();
    if (end >= last_end) last_end = end, last = it.key();
  }
  ASSERT_EQ(last_end, parts.data.size());
  std::string bytes = ReadBytes(src);
  Error e = OpenBroken(bytes.substr(0, bytes.size() - 1), "model.safetensors");
  EXPECT_EQ(e.field(), last);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors"), HasSubstr(last), HasSubstr("truncated")));

  // Cut inside the header: the header length now runs past the end.
  e = OpenBroken(bytes.substr(0, 100), "model.safetensors");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors"), HasSubstr("past the end")));
}

// ---- model.safetensors.index.json ----

class SafetensorsIndexMalformed : public ::testing::Test {
 protected:
  Error ReadBroken(const std::string& text) {
    path_ = dir_ / "model.safetensors.index.json";
    WriteBytes(path_, text);
    return ExpectError([&] { ReadSafetensorsIndex(path_); });
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(SafetensorsIndexMalformed, ReadsAGoodIndex) {
  path_ = dir_ / "model.safetensors.index.json";
  WriteBytes(path_, R"({"metadata": {}, "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
  auto m = ReadSafetensorsIndex(path_);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("a"), "s1.safetensors");
  EXPECT_EQ(m.at("b"), "s2.safetensors");
}

TEST_F(SafetensorsIndexMalformed, MissingFile) {
  path_ = dir_ / "model.safetensors.index.json";
  Error e = ExpectError([&] { ReadSafetensorsIndex(path_); });
  EXPECT_THAT(e.what(), HasSubstr("model.safetensors.index.json"));
}

TEST_F(SafetensorsIndexMalformed, BadJson) {
  Error e = ReadBroken("{\"weight_map\": {");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("bad JSON")));
}

TEST_F(SafetensorsIndexMalformed, NoWeightMap) {
  for (const char* t : {"{}", "[]", R"({"weight_map": ["a"]})"}) {
    SCOPED_TRACE(t);
    Error e = ReadBroken(t);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("weight_map")));
  }
}

TEST_F(SafetensorsIndexMalformed, ShardNameNotAString) {
  Error e = ReadBroken(R"({"weight_map": {"w.q": 3}})");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("weight_map.w.q")));
}

TEST_F(SafetensorsIndexMalformed, PathTraversalShardNames) {
  for (const char* shard : {"../x", "../../etc/passwd", "/etc/passwd", "sub/x.safetensors", "..\\\\x", "..", ".", ""}) {
    SCOPED_TRACE(shard);
    Error e = ReadBroken(std::string(R"({"weight_map": {"w.q": ")") + shard + "\"}}");
    EXPECT_EQ(e.field(), "weight_map.w.q");
    EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("w.q"),
                                HasSubstr("not a plain file name")));
  }
}

}  // namespace
}  // namespace dseek
