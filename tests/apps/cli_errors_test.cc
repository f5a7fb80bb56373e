// The dseek CLI on bad input: a model or argument mistake exits 1 (input) or
// 2 (usage) with a message on stderr naming the file and the tensor or field,
// and never dies from a signal. Runs the built binary (DSEEK_BINARY).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "../format/malformed_files.h"

namespace dseek {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::CopyModel;
using testing::EditJson;
using testing::ModelFixture;
using testing::ReadBytes;
using testing::SafetensorsParts;
using testing::TempDir;

struct RunResult {
  int exit_code = -1;  // -1 when it did not exit normally
  int signal = 0;      // the signal that killed it, if any
  std::string out, err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class CliErrors : public ::testing::Test {
 protected:
  // Runs `dseek ARGS` (ARGS already shell-quoted); `exec` so a crash shows as
  // a signal rather than as the shell's 128+N.
  RunResult Dseek(const std::string& args) {
    const std::string out = tmp_ / "stdout.txt", err = tmp_ / "stderr.txt";
    const std::string cmd = "exec " + Quote(DSEEK_BINARY) + " " + args + " >" + Quote(out) + " 2>" + Quote(err) + " </dev/null";
    const int st = std::system(cmd.c_str());
    RunResult r;
    if (st != -1 && WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
    if (st != -1 && WIFSIGNALED(st)) r.signal = WTERMSIG(st);
    r.out = ReadBytes(out);
    r.err = ReadBytes(err);
    return r;
  }

  std::string Model(const std::string& fixture) const { return Quote(ModelFixture(fixture)); }
  // A writable copy of a fixture, for corrupting.
  std::string Broken(const std::string& fixture) {
    const std::string dir = tmp_ / "model";
    std::filesystem::create_directory(dir);
    CopyModel(fixture, dir);
    return dir;
  }
  std::string OutFile() const { return Quote(tmp_ / "logits.f32"); }

  TempDir tmp_;
};

#define EXPECT_EXIT_CODE(r, code)                                                             \
  do {                                                                                        \
    EXPECT_EQ((r).signal, 0) << "killed by signal " << (r).signal << "; stderr: " << (r).err; \
    EXPECT_EQ((r).exit_code, code) << "stderr: " << (r).err;                                  \
  } while (0)

TEST_F(CliErrors, HappyPathLogitsWritesTheFile) {
  RunResult r = Dseek("logits " + Model("tiny-v2lite") + " --ids 1,2 --out " + OutFile());
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(std::filesystem::file_size(tmp_ / "logits.f32"), 2u * 512u * sizeof(float));
}

TEST_F(CliErrors, TokenIdOutOfRange) {
  RunResult r = Dseek("logits " + Model("tiny-v2lite") + " --ids 1,600 --out " + OutFile());
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("dseek: error:"), HasSubstr("token id"), HasSubstr("600"), HasSubstr("0..511")));
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "logits.f32")) << "no output on failure";

  r = Dseek("generate " + Model("tiny-v2lite") + " --ids 512 -n 2 --greedy");
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("token id"), HasSubstr("512")));
  EXPECT_EQ(r.out, "");
}

TEST_F(CliErrors, BadIdsTextIsAUsageError) {
  for (const char* ids : {"1,x", "1,,2", "-1", "", "1.5", "99999999999", "1;2", "0x10", ","}) {
    SCOPED_TRACE(ids);
    RunResult r = Dseek("logits " + Model("tiny-v2lite") + " --ids " + Quote(ids) + " --out " + OutFile());
    EXPECT_EXIT_CODE(r, 2);
    EXPECT_THAT(r.err, HasSubstr("--ids"));
  }
  RunResult r = Dseek("generate " + Model("tiny-v2lite") + " --ids 1,zz -n 2 --greedy");
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.err, AllOf(HasSubstr("--ids"), HasSubstr("'zz'")));
}

TEST_F(CliErrors, OtherUsageErrorsExitTwo) {
  EXPECT_EXIT_CODE(Dseek(""), 2);
  EXPECT_EXIT_CODE(Dseek("frobnicate"), 2);
  EXPECT_EXIT_CODE(Dseek("logits " + Model("tiny-v2lite") + " --out " + OutFile()), 2);  // no --ids
  EXPECT_EXIT_CODE(Dseek("logits " + Model("tiny-v2lite") + " --ids 1 --out " + OutFile() + " --attention fast"), 2);
  RunResult r = Dseek("generate " + Model("tiny-v2lite") + " --ids 1 -n 2");  // sampling is not offered here
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.err, HasSubstr("--greedy"));
}

// The performance flags: bad values are usage errors naming the flag; good
// ones run (a bf16 cache and pinned threads on a safetensors model, where
// --repack-cache has nothing to repack and writes nothing).
TEST_F(CliErrors, PerformanceFlags) {
  RunResult r = Dseek("generate " + Model("tiny-v2lite") + " --ids 1,2 -n 2 --greedy --cache-type fp4");
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.err, HasSubstr("--cache-type"));
  r = Dseek("bench " + Model("tiny-v2lite") + " -p 4 -n 2 -r 1 --cache-type int8");
  EXPECT_EXIT_CODE(r, 2);
  r = Dseek("generate " + Model("tiny-v2lite") + " --ids 1,2 -n 3 --greedy --cache-type bf16 --pin-threads --repack-cache");
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_FALSE(r.out.empty());
  r = Dseek("bench " + Model("tiny-v2lite") + " -p 4 -n 2 -r 1 --json --cache-type bf16 --pin-threads --no-repack");
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.out, HasSubstr("\"load_s\""));
}

TEST_F(CliErrors, MissingModelDir) {
  const std::string missing = tmp_ / "no-such-model";
  for (const std::string& cmd : {"logits " + Quote(missing) + " --ids 1 --out " + OutFile(),
                                "generate " + Quote(missing) + " --ids 1 -n 1 --greedy", "info " + Quote(missing)}) {
    SCOPED_TRACE(cmd);
    RunResult r = Dseek(cmd);
    EXPECT_EXIT_CODE(r, 1);
    EXPECT_THAT(r.err, AllOf(HasSubstr("dseek: error:"), HasSubstr("no-such-model")));
  }
}

TEST_F(CliErrors, UnwritableOutputNamesTheFile) {
  RunResult r = Dseek("logits " + Model("tiny-v2lite") + " --ids 1 --out " + Quote(tmp_ / "no-dir/out.f32"));
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, HasSubstr("no-dir/out.f32"));
}

TEST_F(CliErrors, TruncatedWeightsNameFileAndTensor) {
  const std::string dir = Broken("tiny-v2lite");
  const std::string file = dir + "/model.safetensors";
  std::string b = ReadBytes(file);
  testing::WriteBytes(file, b.substr(0, b.size() - 1));
  // The last tensor in the file is the one cut short.
  auto parts = SafetensorsParts::Read(ModelFixture("tiny-v2lite") + "/model.safetensors");
  std::string last;
  for (auto it = parts.header.begin(); it != parts.header.end(); ++it)
    if (it.key() != "__metadata__" && it.value()["data_offsets"][1] == parts.data.size()) last = it.key();
  ASSERT_FALSE(last.empty());

  for (const std::string& cmd : {"logits " + Quote(dir) + " --ids 1 --out " + OutFile(), "info " + Quote(dir),
                                "generate " + Quote(dir) + " --ids 1 -n 1 --greedy"}) {
    SCOPED_TRACE(cmd);
    RunResult r = Dseek(cmd);
    EXPECT_EXIT_CODE(r, 1);
    EXPECT_THAT(r.err, AllOf(HasSubstr("model.safetensors"), HasSubstr(last), HasSubstr("truncated")));
  }
}

TEST_F(CliErrors, MissingTensorIsNamed) {
  const std::string dir = Broken("tiny-v2lite");
  auto p = SafetensorsParts::Read(dir + "/model.safetensors");
  p.header.erase("model.layers.1.mlp.gate.weight");
  p.Write(dir + "/model.safetensors");
  RunResult r = Dseek("generate " + Quote(dir) + " --ids 1,2 -n 2 --greedy");
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr(dir), HasSubstr("model.layers.1.mlp.gate.weight"), HasSubstr("missing")));
}

TEST_F(CliErrors, Fp8ScaleGridMismatchIsNamed) {
  const std::string dir = Broken("tiny-v3-fp8");
  const std::string shard = dir + "/model-00001-of-00002.safetensors";
  const std::string scale = "model.layers.0.mlp.gate_proj.weight_scale_inv";
  auto p = SafetensorsParts::Read(shard);
  p.header[scale]["shape"] = {2, 3};  // the grid is [3, 2]
  p.Write(shard);
  RunResult r = Dseek("logits " + Quote(dir) + " --ids 1 --out " + OutFile());
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("model-00001-of-00002.safetensors"), HasSubstr(scale), HasSubstr("block grid")));
}

TEST_F(CliErrors, ConfigErrorsNameTheField) {
  struct Case {
    const char* field;
    nlohmann::ordered_json value;
    const char* detail;
  };
  const Case cases[] = {
      {"architectures", {"MixtralForCausalLM"}, "MixtralForCausalLM"},
      {"topk_method", "foo", "'foo'"},
      {"hidden_act", "gelu", "'gelu'"},
      {"kv_lora_rank", nullptr, "missing"},
  };
  const std::string dir = Broken("tiny-v2lite");
  const std::string original = ReadBytes(dir + "/config.json");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    testing::WriteBytes(dir + "/config.json", original);
    EditJson(dir + "/config.json", [&](nlohmann::ordered_json& j) { j[c.field] = c.value; });
    for (const std::string& cmd : {"info " + Quote(dir), "logits " + Quote(dir) + " --ids 1 --out " + OutFile()}) {
      RunResult r = Dseek(cmd);
      EXPECT_EXIT_CODE(r, 1);
      EXPECT_THAT(r.err, AllOf(HasSubstr("config.json"), HasSubstr(c.field), HasSubstr(c.detail)));
    }
  }
  testing::WriteBytes(dir + "/config.json", "{ not json");
  RunResult r = Dseek("info " + Quote(dir));
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("config.json"), HasSubstr("bad JSON")));
}

TEST_F(CliErrors, IndexWithPathTraversalIsRefused) {
  const std::string dir = Broken("tiny-v3-fp8");
  EditJson(dir + "/model.safetensors.index.json",
           [](nlohmann::ordered_json& j) { j["weight_map"]["lm_head.weight"] = "../x"; });
  RunResult r = Dseek("info " + Quote(dir));
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("lm_head.weight"), HasSubstr("../x")));
  EXPECT_THAT(r.out, Not(HasSubstr("weights:")));
}

}  // namespace
}  // namespace dseek
