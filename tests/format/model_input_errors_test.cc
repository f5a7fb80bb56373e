// LoadModel on broken model folders: copies of the tiny fixtures with one
// thing wrong in the weights, the shard index or config.json. Each must be a
// dseek::Error naming the file and the tensor or field, never a crash. Ends
// with a seeded fuzz loop over the safetensors header region.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>
#include <iterator>
#include <random>

#include "backend/backend.h"
#include "base/error.h"
#include "format/json_config.h"
#include "malformed_files.h"
#include "model/registry.h"

namespace dseek {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::CopyModel;
using testing::EditJson;
using testing::ExpectError;
using testing::SafetensorsParts;
using testing::TempDir;
using Json = nlohmann::ordered_json;

constexpr char kShard1[] = "model-00001-of-00002.safetensors";
constexpr char kShard2[] = "model-00002-of-00002.safetensors";
constexpr char kIndex[] = "model.safetensors.index.json";

class ModelInputErrors : public ::testing::Test {
 protected:
  ModelInputErrors() : backend_(MakeCpuBackend(1)) {}

  // A writable copy of a fixture in a fresh temp dir.
  void Use(const std::string& fixture) { CopyModel(fixture, dir_.path()); }
  std::string Dir() const { return dir_.path().string(); }
  std::string File(const std::string& name) const { return dir_ / name; }

  void EditHeader(const std::string& file, const std::function<void(SafetensorsParts&)>& edit) {
    auto p = SafetensorsParts::Read(File(file));
    edit(p);
    p.Write(File(file));
  }
  void EditConfig(const std::function<void(Json&)>& edit) { EditJson(File("config.json"), edit); }

  Error LoadBroken() {
    return ExpectError([&] { LoadModel(Dir(), *backend_); });
  }

  TempDir dir_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(ModelInputErrors, CopiedFixturesLoad) {
  for (const char* name : {"tiny-v2lite", "tiny-v3", "tiny-v3-fp8"}) {
    SCOPED_TRACE(name);
    TempDir d;
    CopyModel(name, d.path());
    EXPECT_NO_THROW(LoadModel(d.path().string(), *backend_));
  }
}

TEST_F(ModelInputErrors, MissingModelFolder) {
  Error e = ExpectError([&] { LoadModel(dir_ / "nope", *backend_); });
  EXPECT_THAT(e.what(), AllOf(HasSubstr(dir_ / "nope"), HasSubstr("does not exist")));
}

// ---- weights ----

TEST_F(ModelInputErrors, MissingTensorIsNamed) {
  Use("tiny-v2lite");
  const std::string name = "model.layers.2.mlp.experts.7.up_proj.weight";
  EditHeader("model.safetensors", [&](SafetensorsParts& p) { ASSERT_EQ(p.header.erase(name), 1u); });
  Error e = LoadBroken();
  EXPECT_EQ(e.field(), name);
  EXPECT_THAT(e.what(), AllOf(HasSubstr(Dir()), HasSubstr(name), HasSubstr("missing")));
}

TEST_F(ModelInputErrors, MissingNormVectorIsNamed) {
  Use("tiny-v2lite");
  EditHeader("model.safetensors", [&](SafetensorsParts& p) { p.header.erase("model.norm.weight"); });
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr(Dir()), HasSubstr("model.norm.weight"), HasSubstr("missing")));
}

TEST_F(ModelInputErrors, HeaderShapeDisagreesWithConfig) {
  Use("tiny-v2lite");
  const std::string name = "model.layers.0.self_attn.o_proj.weight";
  // Same element count, so the data_offsets still fit: only the shape is wrong.
  EditHeader("model.safetensors", [&](SafetensorsParts& p) { p.header[name]["shape"] = {64, 256}; });
  Error e = LoadBroken();
  EXPECT_EQ(e.where(), File("model.safetensors"));
  EXPECT_EQ(e.field(), name);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors"), HasSubstr(name), HasSubstr("[64, 256]"),
                              HasSubstr("[128, 128]"), HasSubstr("config.json")));
}

TEST_F(ModelInputErrors, ConfigHiddenSizeDisagreesWithWeights) {
  Use("tiny-v2lite");
  EditConfig([](Json& j) { j["hidden_size"] = 96; });
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors"), HasSubstr("model.embed_tokens.weight"),
                              HasSubstr("[512, 128]"), HasSubstr("[512, 96]")));
}

TEST_F(ModelInputErrors, ConfigLayerCountBeyondWeights) {
  Use("tiny-v2lite");
  EditConfig([](Json& j) { j["num_hidden_layers"] = 4; });
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr(Dir()), HasSubstr("model.layers.3."), HasSubstr("missing")));
}

TEST_F(ModelInputErrors, UnsupportedMatrixDtype) {
  Use("tiny-v2lite");
  const std::string name = "model.layers.0.self_attn.o_proj.weight";
  // I16 has BF16's size, so the offsets stay valid.
  EditHeader("model.safetensors", [&](SafetensorsParts& p) { p.header[name]["dtype"] = "I16"; });
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors"), HasSubstr(name), HasSubstr("I16"), HasSubstr("not supported")));
}

TEST_F(ModelInputErrors, UnsupportedVectorDtype) {
  Use("tiny-v2lite");
  const std::string name = "model.layers.1.input_layernorm.weight";
  EditHeader("model.safetensors", [&](SafetensorsParts& p) { p.header[name]["dtype"] = "I16"; });
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors"), HasSubstr(name), HasSubstr("not supported")));
}

TEST_F(ModelInputErrors, MisalignedBf16Matrix) {
  Use("tiny-v2lite");
  const std::string name = "model.layers.0.self_attn.o_proj.weight";
  EditHeader("model.safetensors", [&](SafetensorsParts& p) {
    while (p.data.size() % 8 != 1) p.data.push_back('\0');
    const uint64_t begin = p.data.size();
    p.data += std::string(128 * 128 * 2, '\0');
    p.header[name]["data_offsets"] = {begin, begin + 128 * 128 * 2};
  });
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors"), HasSubstr(name), HasSubstr("aligned")));
}

TEST_F(ModelInputErrors, Fp8WeightWithoutScaleInv) {
  Use("tiny-v3-fp8");
  const std::string scale = "model.layers.0.self_attn.o_proj.weight_scale_inv";
  EditHeader(kShard1, [&](SafetensorsParts& p) { ASSERT_EQ(p.header.erase(scale), 1u); });
  EditJson(File(kIndex), [&](Json& j) { ASSERT_EQ(j["weight_map"].erase(scale), 1u); });
  Error e = LoadBroken();
  EXPECT_EQ(e.field(), scale);
  EXPECT_THAT(e.what(), AllOf(HasSubstr(kShard1), HasSubstr(scale), HasSubstr("block-scale")));
}

TEST_F(ModelInputErrors, Fp8ScaleInvWrongGrid) {
  Use("tiny-v3-fp8");
  const std::string scale = "model.layers.0.self_attn.o_proj.weight_scale_inv";
  EditHeader(kShard1, [&](SafetensorsParts& p) {
    ASSERT_EQ(p.header[scale]["shape"], Json({2, 1}));
    p.header[scale]["shape"] = {1, 2};
  });
  Error e = LoadBroken();
  EXPECT_EQ(e.field(), scale);
  EXPECT_THAT(e.what(), AllOf(HasSubstr(kShard1), HasSubstr(scale), HasSubstr("[1, 2]"), HasSubstr("[2, 1]"),
                              HasSubstr("block grid")));
}

TEST_F(ModelInputErrors, Fp8ScaleInvWrongDtype) {
  Use("tiny-v3-fp8");
  const std::string scale = "model.layers.0.self_attn.o_proj.weight_scale_inv";
  EditHeader(kShard1, [&](SafetensorsParts& p) { p.Replace(scale, "BF16", {2, 1}, std::string(4, '\0')); });
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr(kShard1), HasSubstr(scale), HasSubstr("F32")));
}

// ---- shard index ----

TEST_F(ModelInputErrors, IndexNamesMissingShard) {
  Use("tiny-v3-fp8");
  EditJson(File(kIndex), [](Json& j) { j["weight_map"]["lm_head.weight"] = "model-00003-of-00003.safetensors"; });
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr(kIndex), HasSubstr("model-00003-of-00003.safetensors"), HasSubstr("does not exist")));
}

TEST_F(ModelInputErrors, IndexPathTraversalShard) {
  Use("tiny-v3-fp8");
  for (const char* shard : {"../x", "../" "model-00002-of-00002.safetensors", "/etc/passwd"}) {
    SCOPED_TRACE(shard);
    EditJson(File(kIndex), [&](Json& j) { j["weight_map"]["lm_head.weight"] = shard; });
    Error e = LoadBroken();
    EXPECT_EQ(e.field(), "weight_map.lm_head.weight");
    EXPECT_THAT(e.what(), AllOf(HasSubstr(kIndex), HasSubstr("lm_head.weight"), HasSubstr(shard),
                                HasSubstr("not a plain file name")));
  }
}

TEST_F(ModelInputErrors, IndexPutsTensorInTheWrongShard) {
  Use("tiny-v3-fp8");
  EditJson(File(kIndex), [](Json& j) {
    ASSERT_EQ(j["weight_map"]["model.embed_tokens.weight"], kShard1);
    j["weight_map"]["model.embed_tokens.weight"] = kShard2;
  });
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr(kIndex), HasSubstr("model.embed_tokens.weight"), HasSubstr(kShard2)));
}

TEST_F(ModelInputErrors, TensorInTwoShards) {
  Use("tiny-v3-fp8");
  const std::string name = "model.norm.weight";
  auto p1 = SafetensorsParts::Read(File(kShard1));
  auto p2 = SafetensorsParts::Read(File(kShard2));
  ASSERT_TRUE(p1.header.contains(name) != p2.header.contains(name));
  SafetensorsParts& other = p1.header.contains(name) ? p2 : p1;
  other.Replace(name, "BF16", {192}, std::string(384, '\0'));
  other.Write(File(&other == &p1 ? kShard1 : kShard2));
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr(".safetensors"), HasSubstr(name), HasSubstr("more than one shard")));
}

TEST_F(ModelInputErrors, BadIndexJson) {
  Use("tiny-v3-fp8");
  testing::WriteBytes(File(kIndex), "{\"weight_map\": ");
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr(kIndex), HasSubstr("bad JSON")));
}

TEST_F(ModelInputErrors, TruncatedShard) {
  Use("tiny-v3-fp8");
  std::string b = testing::ReadBytes(File(kShard2));
  testing::WriteBytes(File(kShard2), b.substr(0, b.size() - 100));
  Error e = LoadBroken();
  EXPECT_EQ(e.where(), File(kShard2));
  EXPECT_FALSE(e.field().empty());
  EXPECT_THAT(e.what(), AllOf(HasSubstr(kShard2), HasSubstr(e.field()), HasSubstr("truncated")));
}

TEST_F(ModelInputErrors, NoWeightsAtAll) {
  testing::WriteBytes(File("config.json"), testing::ReadBytes(testing::ModelFixture("tiny-v2lite") + "/config.json"));
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr(Dir()), HasSubstr("safetensors")));
}

// ---- config.json ----

TEST_F(ModelInputErrors, MissingConfig) {
  Use("tiny-v2lite");
  std::filesystem::remove(File("config.json"));
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr("config.json"), HasSubstr("cannot open")));
}

TEST_F(ModelInputErrors, BadConfigJson) {
  Use("tiny-v2lite");
  testing::WriteBytes(File("config.json"), "{\"architectures\": [\"DeepseekV2ForCausalLM\"], \"hidden_size\": 12");
  Error e = LoadBroken();
  EXPECT_EQ(e.where(), File("config.json"));
  EXPECT_THAT(e.what(), AllOf(HasSubstr("config.json"), HasSubstr("bad JSON")));
}

TEST_F(ModelInputErrors, ConfigNotAnObject) {
  Use("tiny-v2lite");
  testing::WriteBytes(File("config.json"), "[1, 2, 3]");
  Error e = LoadBroken();
  EXPECT_THAT(e.what(), AllOf(HasSubstr("config.json"), HasSubstr("not a JSON object")));
}

TEST_F(ModelInputErrors, ConfigMissingRequiredField) {
  for (const char* field : {"kv_lora_rank", "hidden_size", "vocab_size", "qk_rope_head_dim", "moe_intermediate_size"}) {
    SCOPED_TRACE(field);
    TempDir d;
    CopyModel("tiny-v2lite", d.path());
    EditJson(d / "config.json", [&](Json& j) { ASSERT_EQ(j.erase(field), 1u); });
    Error e = ExpectError([&] { LoadModel(d.path().string(), *backend_); });
    EXPECT_EQ(e.field(), field);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("config.json"), HasSubstr(field), HasSubstr("missing")));
  }
}

TEST_F(ModelInputErrors, ConfigFieldOfWrongTypeOrRange) {
  struct Case {
    const char* field;
    Json value;
    const char* reason;
  };
  const Case cases[] = {
      {"hidden_size", "128", "integer"},     {"hidden_size", 0, "positive"},      {"kv_lora_rank", -64, "positive"},
      {"hidden_size", 128.5, "integer"},     {"rms_norm_eps", "small", "number"}, {"norm_topk_prob", 1, "true or false"},
      {"qk_rope_head_dim", 15, "even"},      {"num_experts_per_tok", 17, "n_routed_experts"},
      {"attention_bias", true, "not supported"}, {"rope_theta", -1.0, "positive"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.field) + " = " + c.value.dump());
    TempDir d;
    CopyModel("tiny-v2lite", d.path());
    EditJson(d / "config.json", [&](Json& j) { j[c.field] = c.value; });
    Error e = ExpectError([&] { LoadModel(d.path().string(), *backend_); });
    EXPECT_EQ(e.field(), c.field);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("config.json"), HasSubstr(c.field), HasSubstr(c.reason)));
  }
}

TEST_F(ModelInputErrors, UnsupportedArchitecture) {
  Use("tiny-v2lite");
  EditConfig([](Json& j) { j["architectures"] = {"MixtralForCausalLM"}; });
  Error e = LoadBroken();
  EXPECT_EQ(e.field(), "architectures");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("config.json"), HasSubstr("architectures"), HasSubstr("MixtralForCausalLM"),
                              HasSubstr("DeepseekV3ForCausalLM")));
  // FactsFromConfig (dseek info) goes through the same registry.
  e = ExpectError([&] { FactsFromConfig(JsonConfig::FromFile(File("config.json"))); });
  EXPECT_EQ(e.field(), "architectures");
}

TEST_F(ModelInputErrors, MissingOrMalformedArchitectures) {
  for (Json value : {Json(), Json::array(), Json("DeepseekV2ForCausalLM"), Json({3})}) {
    SCOPED_TRACE(value.dump());
    TempDir d;
    CopyModel("tiny-v2lite", d.path());
    EditJson(d / "config.json", [&](Json& j) {
      if (value.is_null()) j.erase("architectures");
      else j["architectures"] = value;
    });
    Error e = ExpectError([&] { LoadModel(d.path().string(), *backend_); });
    EXPECT_EQ(e.field(), "architectures");
    EXPECT_THAT(e.what(), AllOf(HasSubstr("config.json"), HasSubstr("architectures")));
  }
}

TEST_F(ModelInputErrors, UnsupportedConfigValues) {
  struct Case {
    const char* name;
    std::function<void(Json&)> edit;
    const char* field;   // the field the message must name
    const char* detail;  // and something of the reason
  };
  const Case cases[] = {
      {"topk_method", [](Json& j) { j["topk_method"] = "foo"; }, "topk_method", "'foo'"},
      {"scoring_func", [](Json& j) { j["scoring_func"] = "foo"; }, "scoring_func", "'foo'"},
      {"hidden_act", [](Json& j) { j["hidden_act"] = "gelu"; }, "hidden_act", "'gelu'"},
      {"rope_scaling linear", [](Json& j) { j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}}; }, "type",
       "'linear'"},
      {"rope_scaling factor", [](Json& j) { j["rope_scaling"] = {{"type", "yarn"}, {"factor", 0.5}}; }, "factor",
       ">= 1"},
      {"quant_method gptq", [](Json& j) { j["quantization_config"] = {{"quant_method", "gptq"}, {"bits", 4}}; },
       "quant_method", "'gptq'"},
      {"fp8 fmt", [](Json& j) { j["quantization_config"] = {{"quant_method", "fp8"}, {"fmt", "e5m2"}}; }, "fmt",
       "'e5m2'"},
      {"fp8 block", [](Json& j) {
         j["quantization_config"] = {{"quant_method", "fp8"}, {"weight_block_size", {64, 64}}};
       }, "weight_block_size", "[64,64]"},
      {"n_group", [](Json& j) { j["n_group"] = 3; }, "n_group", "divide"},
      {"topk_group", [](Json& j) { j["n_group"] = 4; j["topk_group"] = 5; }, "topk_group", "n_group"},
      {"moe_layer_freq", [](Json& j) { j["moe_layer_freq"] = 0; }, "moe_layer_freq", "positive"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir d;
    CopyModel("tiny-v2lite", d.path());
    EditJson(d / "config.json", c.edit);
    Error e = ExpectError([&] { LoadModel(d.path().string(), *backend_); });
    EXPECT_EQ(e.field(), c.field);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("config.json"), HasSubstr(c.field), HasSubstr(c.detail)));
  }
}

TEST_F(ModelInputErrors, NestedConfigErrorsNameTheParentObject) {
  Use("tiny-v2lite");
  EditConfig([](Json& j) { j["rope_scaling"] = {{"type", "linear"}}; });
  Error e = LoadBroken();
  EXPECT_THAT(e.where(), AllOf(HasSubstr("config.json"), HasSubstr("rope_scaling")));
  EditConfig([](Json& j) { j["rope_scaling"] = "yarn"; });
  e = LoadBroken();
  EXPECT_EQ(e.field(), "rope_scaling");
}

// Config values that once loaded and then produced NaNs, negative sizes or
// hours of looping; the config reader now rejects them by name.

TEST_F(ModelInputErrors, YarnOriginalContextMustBePositive) {
  for (int64_t v : {0, -7}) {
    SCOPED_TRACE(v);
    TempDir d;
    CopyModel("tiny-v2lite", d.path());
    EditJson(d / "config.json", [&](Json& j) {
      j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", v}};
    });
    Error e = ExpectError([&] { LoadModel(d.path().string(), *backend_); });
    EXPECT_EQ(e.field(), "original_max_position_embeddings");
    EXPECT_THAT(e.what(), AllOf(HasSubstr("config.json"), HasSubstr("rope_scaling")));
  }
}

TEST_F(ModelInputErrors, MaxPositionEmbeddingsMustBePositive) {
  Use("tiny-v2lite");
  EditConfig([](Json& j) { j["max_position_embeddings"] = -5; });
  Error e = LoadBroken();
  EXPECT_EQ(e.field(), "max_position_embeddings");
}

TEST_F(ModelInputErrors, ImplausiblyLargeSizesAreRejectedByName) {
  struct Case {
    const char* field;
    int64_t value;
  };
  for (const Case& c : {Case{"qk_rope_head_dim", 1ll << 36}, Case{"num_hidden_layers", 3000000000000ll},
                        Case{"hidden_size", 4000000000000000000ll}, Case{"vocab_size", 1ll << 50}}) {
    SCOPED_TRACE(c.field);
    TempDir d;
    CopyModel("tiny-v2lite", d.path());
    EditJson(d / "config.json", [&](Json& j) { j[c.field] = c.value; });
    Error e = ExpectError([&] { FactsFromConfig(JsonConfig::FromFile(d / "config.json")); });
    EXPECT_EQ(e.field(), c.field);
    e = ExpectError([&] { LoadModel(d.path().string(), *backend_); });
    EXPECT_EQ(e.field(), c.field);
  }
}

// ---- fuzz ----

// Seeded random single-byte corruptions and truncations of the header region
// of a model file (and a few anywhere). Every outcome must be a clean load
// (then a forward pass runs) or a dseek::Error naming something in the folder;
// anything else (another exception type, a crash, a sanitizer report) fails.
void FuzzHeader(const std::string& fixture, const std::string& file, int iterations, uint32_t seed) {
  auto backend = MakeCpuBackend(1);
  TempDir d;
  CopyModel(fixture, d.path());
  const std::string path = d / file;
  const std::string original = testing::ReadBytes(path);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(original[i]);
  const size_t region = 8 + header_len;
  ASSERT_LT(region, original.size());

  const char interesting[] = {'"', '{', '}', '[', ']', ',', ':', '-', '0', '1', '9', ' ', 'e', '.', '\0', '\x7f',
                              '\xff', '\\'};
  std::mt19937 rng(seed);
  int loaded = 0, errors = 0;
  for (int it = 0; it < iterations; ++it) {
    std::string bytes = original;
    std::string what;
    const int kind = static_cast<int>(rng() % 10);
    if (kind < 4) {
      size_t pos = rng() % region;
      char v;
      do v = static_cast<char>(rng() & 0xff); while (v == bytes[pos]);
      bytes[pos] = v;
      what = "byte " + std::to_string(pos) + " = " + std::to_string(static_cast<uint8_t>(v));
    } else if (kind < 7) {
      size_t pos = 8 + rng() % header_len;
      bytes[pos] = interesting[rng() % sizeof(interesting)];
      what = "byte " + std::to_string(pos) + " = " + std::to_string(static_cast<uint8_t>(bytes[pos]));
    } else if (kind < 9) {
      size_t len = rng() % (region + 64);
      bytes.resize(len);
      what = "truncate to " + std::to_string(len);
    } else {
      size_t len = rng() % original.size();
      bytes.resize(len);
      what = "truncate to " + std::to_string(len);
    }
    SCOPED_TRACE("iteration " + std::to_string(it) + ": " + what);
    testing::WriteBytes(path, bytes);
    try {
      auto model = LoadModel(d.path().string(), *backend);
      ++loaded;
      auto cache = model->NewCache(2);
      std::vector<float> logits(model->facts().vocab_size);
      const int32_t ids[2] = {1, 2};
      model->Forward(ids, 2, *cache, logits.data(), false);
    } catch (const Error& e) {
      ++errors;
      EXPECT_THAT(e.what(), HasSubstr(d.path().string())) << "error does not name the model folder or file";
      EXPECT_FALSE(e.reason().empty());
    }
  }
  EXPECT_GT(errors, iterations / 2) << "the mutations should mostly break the file";
  std::printf("[   info   ] %s/%s: %d loaded, %d rejected\n", fixture.c_str(), file.c_str(), loaded, errors);
}

// Seeded header edits that keep the JSON valid, so the checks after parsing
// (dtype, shape, offsets, overlap, config agreement, alignment) see them;
// some edits (two same-shaped tensors swapping names) still load and run.
TEST(ModelInputFuzz, StructuredHeaderEdits) {
  auto backend = MakeCpuBackend(1);
  TempDir d;
  CopyModel("tiny-v3-fp8", d.path());
  const std::string path = d / kShard1;
  const SafetensorsParts original = SafetensorsParts::Read(path);
  std::vector<std::string> names;
  for (auto it = original.header.begin(); it != original.header.end(); ++it)
    if (it.key() != "__metadata__") names.push_back(it.key());
  const char* dtypes[] = {"F32", "F16", "BF16", "F8_E4M3", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
  const int64_t numbers[] = {0, 1, 2, 3, 7, 8, 96, 128, 192, 256, 4096, -1, 1ll << 40, INT64_MAX};
  std::mt19937 rng(4242);
  int loaded = 0, errors = 0;
  for (int it = 0; it < 200; ++it) {
    SafetensorsParts p = original;
    const std::string& name = names[rng() % names.size()];
    Json& t = p.header[name];
    std::string what = name + ": ";
    switch (rng() % 6) {
      case 0:
        t["dtype"] = dtypes[rng() % std::size(dtypes)];
        what += "dtype " + t["dtype"].get<std::string>();
        break;
      case 1: {
        Json& shape = t["shape"];
        if (shape.empty() || rng() % 4 == 0) shape.push_back(numbers[rng() % std::size(numbers)]);
        else shape[rng() % shape.size()] = numbers[rng() % std::size(numbers)];
        what += "shape " + shape.dump();
        break;
      }
      case 2: {
        Json& off = t["data_offsets"];
        const size_t k = rng() % 2;
        const int64_t delta = static_cast<int64_t>(rng() % 9) - 4;
        off[k] = std::max<int64_t>(0, off[k].get<int64_t>() + delta * (rng() % 2 ? 1 : 64));
        what += "data_offsets " + off.dump();
        break;
      }
      case 3: {  // point at another tensor's bytes
        const Json& other = original.header[names[rng() % names.size()]];
        t["data_offsets"] = other["data_offsets"];
        what += "data_offsets " + t["data_offsets"].dump();
        break;
      }
      case 4: {  // swap the names of two tensors
        const std::string& other = names[rng() % names.size()];
        Json a = p.header[name];
        p.header[name] = p.header[other];
        p.header[other] = a;
        what += "swapped with " + other;
        break;
      }
      default:
        p.data.resize(rng() % (p.data.size() + 1));
        what += "data cut to " + std::to_string(p.data.size());
        break;
    }
    SCOPED_TRACE("iteration " + std::to_string(it) + ": " + what);
    p.Write(path);
    try {
      auto model = LoadModel(d.path().string(), *backend);
      ++loaded;
      auto cache = model->NewCache(2);
      std::vector<float> logits(model->facts().vocab_size);
      const int32_t ids[2] = {1, 2};
      model->Forward(ids, 2, *cache, logits.data(), false);
    } catch (const Error& e) {
      ++errors;
      EXPECT_THAT(e.what(), HasSubstr(d.path().string()));
      EXPECT_FALSE(e.reason().empty());
    }
  }
  EXPECT_GT(errors, 100);
  std::printf("[   info   ] structured edits: %d loaded, %d rejected\n", loaded, errors);
}

TEST(ModelInputFuzz, Tiny2LiteHeaderCorruptions) { FuzzHeader("tiny-v2lite", "model.safetensors", 300, 20240611); }

TEST(ModelInputFuzz, TinyV3Fp8ShardHeaderCorruptions) { FuzzHeader("tiny-v3-fp8", kShard1, 150, 777); }

}  // namespace
}  // namespace dseek
