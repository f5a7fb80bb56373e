#include "runtime/generation_config.h"

#include <gtest/gtest.h>

#include <string>

#include "base/error.h"

namespace dseek {
namespace {

const std::string kDir = std::string(DSEEK_TEST_DATA) + "/sampler";

TEST(GenerationConfig, ReadsDeepSeekR1Defaults) {
  SamplingParams base;
  base.greedy = true;  // do_sample: true in the file turns sampling on
  base.seed = 77;
  base.stop = {"</s>"};
  SamplingParams p = FromGenerationConfig(kDir + "/deepseek_r1/generation_config.json", base);
  EXPECT_FLOAT_EQ(p.temperature, 0.6f);
  EXPECT_FLOAT_EQ(p.top_p, 0.95f);
  EXPECT_FALSE(p.greedy);
  EXPECT_FALSE(p.IsGreedy());
  // Fields the file does not set keep the caller's values.
  EXPECT_EQ(p.top_k, 0);
  EXPECT_EQ(p.seed, 77u);
  EXPECT_EQ(p.stop, base.stop);
  EXPECT_EQ(p.max_tokens, -1);
}

TEST(GenerationConfig, DoSampleFalseIsGreedyAndIntegersAccepted) {
  SamplingParams base;
  base.min_p = 0.05f;
  SamplingParams p = FromModelDir(kDir + "/greedy", base);
  EXPECT_TRUE(p.greedy);
  EXPECT_FLOAT_EQ(p.temperature, 1.0f);
  EXPECT_EQ(p.top_k, 20);
  EXPECT_FLOAT_EQ(p.repetition_penalty, 1.05f);
  EXPECT_EQ(p.max_tokens, 512);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);  // null leaves it alone
}

TEST(GenerationConfig, MissingFileInModelDirReturnsBase) {
  SamplingParams base;
  base.temperature = 0.3f;
  SamplingParams p = FromModelDir(kDir, base);  // no generation_config.json
  EXPECT_FLOAT_EQ(p.temperature, 0.3f);
}

std::string ErrorField(const std::string& path, std::string* where = nullptr) {
  try {
    FromGenerationConfig(path, SamplingParams{});
  } catch (const Error& e) {
    if (where != nullptr) *where = e.where();
    return e.field();
  }
  return "(accepted)";
}

TEST(GenerationConfig, ErrorsNameFileAndField) {
  std::string where;
  EXPECT_EQ(ErrorField(kDir + "/bad_type/generation_config.json", &where), "temperature");
  EXPECT_EQ(where, kDir + "/bad_type/generation_config.json");
  EXPECT_EQ(ErrorField(kDir + "/bad_range/generation_config.json", &where), "top_p");
  EXPECT_EQ(where, kDir + "/bad_range/generation_config.json");
  EXPECT_EQ(ErrorField(kDir + "/not_json/generation_config.json"), "");
  EXPECT_EQ(ErrorField(kDir + "/nowhere/generation_config.json"), "");
  EXPECT_THROW(FromModelDir(kDir + "/bad_type", SamplingParams{}), Error);
}

}  // namespace
}  // namespace dseek
