// The text features of the dseek CLI, end to end through the built binary
// (DSEEK_BINARY): tokenize / detokenize against the DeepSeek-V3 golden ids,
// render-template against every golden rendering in tests/data/templates, and
// `run` on a random-weight demo model made once with `dseek synth` (sampling
// reproducibility, --raw, reasoning routed to stderr, bad sampling flags).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "../format/malformed_files.h"

namespace dseek {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;
using json = nlohmann::ordered_json;

const std::string kData = DSEEK_TEST_DATA;
const std::string kTokDir = kData + "/tokenizer/deepseek-v3";
const std::string kTemplates = kData + "/templates";

struct RunResult {
  int exit_code = -1;  // -1 when it did not exit normally
  int signal = 0;
  std::string out, err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `dseek ARGS` (ARGS already shell-quoted), capturing both streams in
// files under `dir`. `exec` so that a crash shows as a signal.
RunResult Dseek(const TempDir& dir, const std::string& args) {
  const std::string out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd =
      "exec " + Quote(DSEEK_BINARY) + " " + args + " >" + Quote(out) + " 2>" + Quote(err) + " </dev/null";
  const int st = std::system(cmd.c_str());
  RunResult r;
  if (st != -1 && WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  if (st != -1 && WIFSIGNALED(st)) r.signal = WTERMSIG(st);
  r.out = ReadBytes(out);
  r.err = ReadBytes(err);
  return r;
}

std::vector<json> ReadJsonl(const std::string& path) {
  std::vector<json> rows;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

std::string IdsJson(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
  return s + "]\n";
}

std::string IdsCsv(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

#define EXPECT_EXIT_CODE(r, code)                                                             \
  do {                                                                                        \
    EXPECT_EQ((r).signal, 0) << "killed by signal " << (r).signal << "; stderr: " << (r).err; \
    EXPECT_EQ((r).exit_code, code) << "stderr: " << (r).err;                                  \
  } while (0)

// ---------------------------------------------------------------- tokenizer

// Every 8th row of encode_cases.jsonl (21 of 167, both add_special_tokens
// settings among them): `tokenize` prints exactly the golden ids.
TEST(TextCli, TokenizeMatchesGoldenIds) {
  TempDir tmp;
  const std::vector<json> rows = ReadJsonl(kTokDir + "/encode_cases.jsonl");
  ASSERT_GE(rows.size(), 160u);
  int checked = 0, with_special = 0;
  for (size_t i = 0; i < rows.size(); i += 8) {
    const json& row = rows[i];
    const std::string text = row["text"].get<std::string>();
    const bool add_special = row["add_special_tokens"].get<bool>();
    SCOPED_TRACE("row " + std::to_string(i) + ": " + row["text"].dump());
    WriteBytes(tmp / "text.txt", text);
    RunResult r = Dseek(tmp, "tokenize " + Quote(kTokDir) + " --text-file " + Quote(tmp / "text.txt") +
                                 (add_special ? " --add-special" : ""));
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, IdsJson(row["ids"].get<std::vector<int32_t>>()));
    EXPECT_EQ(r.err, "");
    ++checked;
    with_special += add_special;
  }
  EXPECT_GE(checked, 20);
  EXPECT_GE(with_special, 1) << "the sample should include add_special_tokens rows";
}

// The same rows decoded back: ids without the added BOS give the exact text.
TEST(TextCli, DetokenizeRoundTrip) {
  TempDir tmp;
  const std::vector<json> rows = ReadJsonl(kTokDir + "/encode_cases.jsonl");
  int checked = 0;
  for (size_t i = 0; i < rows.size(); i += 8) {
    const json& row = rows[i];
    std::vector<int32_t> ids = row["ids"].get<std::vector<int32_t>>();
    if (row["add_special_tokens"].get<bool>() && !ids.empty() && ids[0] == 0) ids.erase(ids.begin());
    if (ids.empty()) continue;  // --ids needs at least one id
    SCOPED_TRACE("row " + std::to_string(i) + ": " + row["text"].dump());
    RunResult r = Dseek(tmp, "detokenize " + Quote(kTokDir) + " --ids " + IdsCsv(ids));
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, row["text"].get<std::string>());
    ++checked;
  }
  EXPECT_GE(checked, 19);

  // Special tokens decode to their text unless --skip-special.
  RunResult r = Dseek(tmp, "detokenize " + Quote(kTokDir) + " --ids 0,19923,2058,1");
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.out, "<｜begin▁of▁sentence｜>Hello world<｜end▁of▁sentence｜>");
  r = Dseek(tmp, "detokenize " + Quote(kTokDir) + " --ids 0,19923,2058,1 --skip-special");
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.out, "Hello world");
}

TEST(TextCli, TokenizeAndDetokenizeUsageErrors) {
  TempDir tmp;
  RunResult r = Dseek(tmp, "tokenize " + Quote(kTokDir));  // neither --text nor --text-file
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.err, HasSubstr("--text"));
  r = Dseek(tmp, "detokenize " + Quote(kTokDir) + " --ids 1,x");
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.err, HasSubstr("--ids"));
  r = Dseek(tmp, "detokenize " + Quote(kTokDir) + " --ids 999999");
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.err, HasSubstr("999999"));
  r = Dseek(tmp, "tokenize " + Quote(kTokDir) + " --text-file " + Quote(tmp / "missing.txt"));
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, HasSubstr("missing.txt"));
}

// ---------------------------------------------------------------- templates

json CaseOf(const json& row) {
  json c = json::object();
  for (const char* k : {"messages", "tools", "add_generation_prompt", "extra", "bos_token", "eos_token"})
    if (row.contains(k)) c[k] = row[k];
  return c;
}

// Every row of templates/cases.jsonl through `render-template`: golden rows
// byte for byte, error rows exit 1 with a message.
TEST(TextCli, RenderTemplateEveryGoldenCase) {
  TempDir tmp;
  const std::vector<json> rows = ReadJsonl(kTemplates + "/cases.jsonl");
  ASSERT_EQ(rows.size(), 115u);
  int golden = 0, errors = 0;
  for (const json& row : rows) {
    SCOPED_TRACE(row["id"].get<std::string>());
    WriteBytes(tmp / "case.json", CaseOf(row).dump());
    RunResult r = Dseek(tmp, "render-template " + Quote(kTemplates + "/" + row["template"].get<std::string>()) +
                                 " --case-file " + Quote(tmp / "case.json"));
    if (!row["expected_error"].is_null()) {
      ++errors;
      EXPECT_EXIT_CODE(r, 1);
      EXPECT_THAT(r.err, HasSubstr("dseek: error:")) << "expected a failure like: " << row["expected_error"];
      EXPECT_EQ(r.out, "") << "nothing on stdout when rendering fails";
    } else {
      ++golden;
      EXPECT_EXIT_CODE(r, 0);
      EXPECT_EQ(r.out, row["expected"].get<std::string>());
      EXPECT_EQ(r.err, "");
    }
  }
  EXPECT_EQ(golden, 108);
  EXPECT_EQ(errors, 7);
}

// A model folder (or its tokenizer_config.json) as the template source: the
// chat_template inside it, with its own bos/eos tokens, gives the renderings
// of tokenizer/deepseek-v3/chat_cases.jsonl.
TEST(TextCli, RenderTemplateFromModelDir) {
  TempDir tmp;
  const std::vector<json> rows = ReadJsonl(kTokDir + "/chat_cases.jsonl");
  ASSERT_GE(rows.size(), 20u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    SCOPED_TRACE("chat case " + std::to_string(i));
    json c = {{"messages", row["messages"]}, {"add_generation_prompt", row["add_generation_prompt"]}};
    WriteBytes(tmp / "case.json", c.dump());
    const std::string src = i % 2 == 0 ? kTokDir : kTokDir + "/tokenizer_config.json";
    RunResult r = Dseek(tmp, "render-template " + Quote(src) + " --case-file " + Quote(tmp / "case.json"));
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(r.out, row["text"].get<std::string>());
  }
}

TEST(TextCli, RenderTemplateBadCaseFile) {
  TempDir tmp;
  const std::string tmpl = Quote(kTemplates + "/deepseek-ai-DeepSeek-V3.jinja");
  WriteBytes(tmp / "case.json", "{\"messages\": [");
  RunResult r = Dseek(tmp, "render-template " + tmpl + " --case-file " + Quote(tmp / "case.json"));
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, HasSubstr("case.json"));
  WriteBytes(tmp / "case.json", "[1, 2]");
  r = Dseek(tmp, "render-template " + tmpl + " --case-file " + Quote(tmp / "case.json"));
  EXPECT_EXIT_CODE(r, 1);
  WriteBytes(tmp / "case.json", R"({"messages": [], "add_generation_prompt": "yes"})");
  r = Dseek(tmp, "render-template " + tmpl + " --case-file " + Quote(tmp / "case.json"));
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, HasSubstr("add_generation_prompt"));
  r = Dseek(tmp, "render-template " + Quote(tmp / "no-such.jinja") + " --case-file " + Quote(tmp / "case.json"));
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, HasSubstr("no-such.jinja"));
}

// ---------------------------------------------------------------- run

// One demo model (random weights, real V3 vocabulary) shared by the run tests.
class RunCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    model_ = *dir_ / "demo";
    RunResult r = Dseek(*dir_, "synth --config deepseek-demo --dtype bf16 --seed 1 --out " + Quote(model_) +
                                   " --tokenizer " + Quote(kTokDir));
    synth_ok_ = r.exit_code == 0 && fs::exists(fs::path(model_) / "tokenizer.json");
    synth_err_ = r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(synth_ok_) << "dseek synth failed: " << synth_err_; }

  RunResult Run(const std::string& flags) { return Dseek(tmp_, "run " + Quote(model_) + " -t 2 " + flags); }

  static TempDir* dir_;
  static std::string model_;
  static bool synth_ok_;
  static std::string synth_err_;
  TempDir tmp_;
};

TempDir* RunCli::dir_ = nullptr;
std::string RunCli::model_;
bool RunCli::synth_ok_ = false;
std::string RunCli::synth_err_;

TEST_F(RunCli, GreedyIsReproducible) {
  RunResult a = Run("-p 'Hello there' --greedy -n 8");
  RunResult b = Run("-p 'Hello there' --greedy -n 8");
  EXPECT_EXIT_CODE(a, 0);
  EXPECT_EXIT_CODE(b, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.err, b.err);
  ASSERT_FALSE(a.out.empty());
  EXPECT_EQ(a.out.back(), '\n');
}

TEST_F(RunCli, SeededSamplingIsReproducibleAndSeedsDiffer) {
  // EOS banned so that every run produces its 8 tokens.
  const std::string common = "-p 'Tell me a story' --temp 0.9 -n 8 --logit-bias 1=-inf";
  RunResult a = Run(common + " --seed 5");
  RunResult b = Run(common + " --seed 5");
  EXPECT_EXIT_CODE(a, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.err, b.err);
  std::set<std::string> outs{a.out + "\x01" + a.err};
  for (int seed : {6, 7, 8}) {
    RunResult r = Run(common + " --seed " + std::to_string(seed));
    EXPECT_EXIT_CODE(r, 0);
    outs.insert(r.out + "\x01" + r.err);
  }
  EXPECT_GE(outs.size(), 2u) << "four seeds all gave the same text";
}

TEST_F(RunCli, RawPromptAndVerboseStats) {
  RunResult r = Run("-p 'The capital of France is' --raw --greedy -n 6 --logit-bias 1=-inf -v");
  EXPECT_EXIT_CODE(r, 0);
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_GT(r.out.size(), 1u) << "six tokens of text expected on stdout";
  // -v: "[prompt N tokens, ... answer 6 tokens, ...; length]"
  EXPECT_THAT(r.err, HasSubstr("answer 6 tokens"));
  EXPECT_THAT(r.err, HasSubstr("length]"));
  // --raw adds BOS + the plain text: 1 + 5 tokens, no template around it.
  EXPECT_THAT(r.err, HasSubstr("[prompt 6 tokens"));
}

// R1-Distill-Llama-8B's generation prompt ends with an open "<think>\n":
// everything generated is reasoning, so it all goes to stderr and stdout
// holds only the final newline.
TEST_F(RunCli, OpenThinkTemplateSendsTextToStderr) {
  RunResult r = Run("-p 'Why is the sky blue?' --greedy -n 8 --logit-bias 1=-inf --chat-template " +
                    Quote(kTemplates + "/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja"));
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.out, "\n");
  EXPECT_FALSE(r.err.empty()) << "the reasoning should be on stderr";
}

// R1-Distill-Qwen-32B's template opens <think> too, but without
// `enable_thinking` (which `run` cannot set) it closes it right away
// ("<think>\n</think>"), so the answer is on stdout and nothing on stderr.
TEST_F(RunCli, ClosedThinkTemplateKeepsAnswerOnStdout) {
  RunResult r = Run("-p 'Why is the sky blue?' --greedy -n 8 --logit-bias 1=-inf --chat-template " +
                    Quote(kTemplates + "/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"));
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.err, "");
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
}

TEST_F(RunCli, BadSamplingFlags) {
  struct Bad {
    const char* flags;
    const char* mention;
  };
  for (const Bad& b : {Bad{"--temp -1", "temperature"}, Bad{"--top-p 2", "top_p"}, Bad{"--min-p 1.5", "min_p"},
                       Bad{"--top-k -3", "top_k"}, Bad{"--temp abc", "--temp"}, Bad{"-n 0", "max-tokens"}}) {
    SCOPED_TRACE(b.flags);
    RunResult r = Run(std::string("-p hi ") + b.flags);
    EXPECT_EQ(r.signal, 0);
    EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2) << "exit " << r.exit_code << "; stderr: " << r.err;
    EXPECT_THAT(r.err, HasSubstr(b.mention));
    EXPECT_EQ(r.out, "");
  }
  for (const char* bias : {"5=abc", "5", "x=1", "=2"}) {
    SCOPED_TRACE(bias);
    RunResult r = Run(std::string("-p hi --logit-bias ") + Quote(bias));
    EXPECT_EXIT_CODE(r, 2);
    EXPECT_THAT(r.err, HasSubstr("--logit-bias"));
    EXPECT_EQ(r.out, "");
  }
}

// A stop string cuts the answer: with --stop set to a character of the greedy
// text, stdout holds what came before it and the newline.
TEST_F(RunCli, StopStringCutsTheAnswer) {
  RunResult full = Run("-p 'Count to ten' --greedy -n 8 --logit-bias 1=-inf --raw");
  EXPECT_EXIT_CODE(full, 0);
  ASSERT_GE(full.out.size(), 2u);
  // The first printable ASCII character as the stop string: a single ASCII
  // byte cannot occur inside a UTF-8 multi-byte character before it.
  size_t k = 0;
  while (k < full.out.size() && !(full.out[k] > ' ' && full.out[k] < 0x7f)) ++k;
  if (k >= full.out.size() - 1) GTEST_SKIP() << "greedy text has no ASCII character to stop at";
  RunResult cut = Run("-p 'Count to ten' --greedy -n 8 --logit-bias 1=-inf --raw --stop " +
                      Quote(std::string(1, full.out[k])));
  EXPECT_EXIT_CODE(cut, 0);
  EXPECT_EQ(cut.out, full.out.substr(0, k) + "\n");
}

}  // namespace
}  // namespace dseek
