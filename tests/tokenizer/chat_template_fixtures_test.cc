// Golden renderings of real chat templates (tests/data/templates, copied from
// the shared fixtures; see its README for how jinja2 produced them), and the
// DeepSeek-V3 tokenizer's chat cases rendered through its tokenizer_config.json.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "tokenizer/jinja/chat_template.h"

namespace dseek {
namespace {

const std::string kDir = std::string(DSEEK_TEST_DATA) + "/templates/";

std::vector<nlohmann::ordered_json> ReadJsonl(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<nlohmann::ordered_json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(nlohmann::ordered_json::parse(line));
  }
  return rows;
}

std::string OrEmpty(const nlohmann::ordered_json& j) {
  return j.is_string() ? j.get<std::string>() : "";
}

TEST(ChatTemplateFixtures, CasesJsonl) {
  auto rows = ReadJsonl(kDir + "cases.jsonl");
  ASSERT_EQ(rows.size(), 115u);
  int golden = 0, errors = 0;
  for (const auto& row : rows) {
    SCOPED_TRACE(row["id"].get<std::string>());
    ChatTemplate t = ChatTemplate::FromFile(kDir + row["template"].get<std::string>());
    ChatTemplateInput in;
    in.messages = row["messages"];
    in.tools = row["tools"];
    in.add_generation_prompt = row["add_generation_prompt"].get<bool>();
    in.bos_token = OrEmpty(row["bos_token"]);
    in.eos_token = OrEmpty(row["eos_token"]);
    in.extra = row["extra"];
    if (row["expected_error"].is_string()) {
      // The wording is Python's, so it matches jinja2's message exactly.
      try {
        t.Render(in);
        ADD_FAILURE() << "no error, expected: " << row["expected_error"];
      } catch (const Error& e) {
        EXPECT_EQ(e.reason(), row["expected_error"].get<std::string>());
      }
      ++errors;
    } else {
      std::string got;
      try {
        got = t.Render(in);
      } catch (const Error& e) {
        ADD_FAILURE() << e.what();
        continue;
      }
      EXPECT_EQ(got, row["expected"].get<std::string>());
      ++golden;
    }
  }
  EXPECT_EQ(golden, 108);
  EXPECT_EQ(errors, 7);
}

TEST(ChatTemplateFixtures, DeepSeekV3TokenizerChatCases) {
  ChatTemplate t = ChatTemplate::FromFile(kDir + "deepseek-v3_tokenizer_config.json");
  EXPECT_EQ(t.bos_token(), "<｜begin▁of▁sentence｜>");
  EXPECT_EQ(t.eos_token(), "<｜end▁of▁sentence｜>");
  auto rows = ReadJsonl(kDir + "deepseek-v3_chat_cases.jsonl");
  ASSERT_EQ(rows.size(), 20u);
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE("chat case " + std::to_string(i));
    ChatTemplateInput in;
    in.messages = rows[i]["messages"];
    in.add_generation_prompt = rows[i]["add_generation_prompt"].get<bool>();
    in.bos_token = t.bos_token();
    in.eos_token = t.eos_token();
    EXPECT_EQ(t.Render(in), rows[i]["text"].get<std::string>());
  }
}

TEST(ChatTemplateFixtures, ConfigTemplateEqualsJinjaFile) {
  ChatTemplate a = ChatTemplate::FromFile(kDir + "deepseek-v3_tokenizer_config.json");
  ChatTemplate b = ChatTemplate::FromFile(kDir + "deepseek-ai-DeepSeek-V3.jinja");
  EXPECT_EQ(a.source(), b.source());
}

}  // namespace
}  // namespace dseek
