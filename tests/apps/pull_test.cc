// `dseek pull`, `list`, `rm` and cached model names, end to end against a
// hub-shaped server on 127.0.0.1 (fake_hub.h): never any other host. Runs the
// built binary with DSEEK_HOME in a temp folder and HF_ENDPOINT at the server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "../format/malformed_files.h"
#include "fake_hub.h"
#include "hub/digest.h"
#include "hub/model_cache.h"

namespace dseek {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::FakeHub;
using testing::HubFile;
using testing::HubRepo;
using testing::ModelFixture;
using testing::ReadBytes;
using testing::TempDir;

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class Pull : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_config_ = ReadBytes(ModelFixture("tiny-v2lite") + "/config.json");
    fixture_weights_ = ReadBytes(ModelFixture("tiny-v2lite") + "/model.safetensors");
    HubRepo repo;
    repo.files["config.json"] = {fixture_config_, false, ""};
    repo.files["generation_config.json"] = {R"({"temperature": 0.6})", false, ""};
    repo.files["model.safetensors"] = {fixture_weights_, true, ""};
    repo.files["pytorch_model.bin"] = {std::string(1000, 'b'), true, ""};  // another format: not pulled
    repo.files["README.md"] = {"# tiny\n", false, ""};
    repo.files["docs/notes.txt"] = {"notes\n", false, ""};
    repo.files["tiny-q8_0.gguf"] = {"GGUF fake bytes for a single-file pull", true, ""};
    hub_.AddRepo("test-org/tiny-v2lite", repo);
    HubRepo gated = repo;
    gated.token = "hf_secret123";
    hub_.AddRepo("test-org/gated", gated);
  }

  // Runs `dseek ARGS` with only the variables the test sets: no proxy (so
  // 127.0.0.1 is reached directly), no HF_TOKEN unless given.
  RunResult Dseek(const std::string& args, const std::string& token = "") {
    const std::string out = tmp_ / "stdout.txt", err = tmp_ / "stderr.txt";
    std::string cmd = "exec env -u HF_TOKEN -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY"
                      " NO_PROXY=127.0.0.1 DSEEK_HOME=" + Quote(tmp_ / "home") + " HF_ENDPOINT=" + Quote(hub_.endpoint());
    if (!token.empty()) cmd += " HF_TOKEN=" + Quote(token);
    cmd += " " + Quote(DSEEK_BINARY) + " " + args + " >" + Quote(out) + " 2>" + Quote(err) + " </dev/null";
    const int st = std::system(cmd.c_str());
    RunResult r;
    if (st != -1 && WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
    r.out = ReadBytes(out);
    r.err = ReadBytes(err);
    return r;
  }

  fs::path CacheDir(const std::string& repo_dir) const { return fs::path(tmp_ / "home") / "models" / repo_dir; }

  int CountRequests(const std::string& prefix) const {
    int n = 0;
    for (const auto& r : hub_.requests()) n += r.target.rfind(prefix, 0) == 0;
    return n;
  }

  FakeHub hub_;
  TempDir tmp_;
  std::string fixture_config_, fixture_weights_;
};

TEST_F(Pull, FullPullThenLogitsOnTheCachedName) {
  RunResult r = Dseek("pull test-org/tiny-v2lite");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path dir = CacheDir("test-org--tiny-v2lite");
  EXPECT_EQ(r.out, dir.string() + "\n");
  EXPECT_EQ(ReadBytes((dir / "config.json").string()), fixture_config_);
  EXPECT_EQ(ReadBytes((dir / "model.safetensors").string()), fixture_weights_);
  EXPECT_TRUE(fs::exists(dir / "generation_config.json"));
  EXPECT_FALSE(fs::exists(dir / "pytorch_model.bin"));
  EXPECT_FALSE(fs::exists(dir / "README.md"));
  EXPECT_FALSE(fs::exists(dir / "tiny-q8_0.gguf"));
  EXPECT_FALSE(fs::exists(dir / "model.safetensors.part"));
  // Downloads went through the pinned commit, not the branch name.
  EXPECT_EQ(CountRequests(std::string("/test-org/tiny-v2lite/resolve/") + FakeHub::kCommit + "/"), 3);

  RunResult logits = Dseek("logits test-org/tiny-v2lite --ids 1,2 --out " + Quote(tmp_ / "cached.f32"));
  ASSERT_EQ(logits.exit_code, 0) << logits.err;
  RunResult direct = Dseek("logits " + Quote(ModelFixture("tiny-v2lite")) + " --ids 1,2 --out " + Quote(tmp_ / "direct.f32"));
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(ReadBytes(tmp_ / "cached.f32"), ReadBytes(tmp_ / "direct.f32"));

  // A second pull checks and downloads nothing.
  hub_.ClearRequests();
  r = Dseek("pull test-org/tiny-v2lite");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("model.safetensors: already in the cache"));
  EXPECT_EQ(CountRequests("/cdn/"), 0);
}

TEST_F(Pull, IncludeGlobAddsFiles) {
  RunResult r = Dseek("pull test-org/tiny-v2lite --include 'docs/*' --include '*.md'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path dir = CacheDir("test-org--tiny-v2lite");
  EXPECT_EQ(ReadBytes((dir / "docs/notes.txt").string()), "notes\n");
  EXPECT_TRUE(fs::exists(dir / "README.md"));
  EXPECT_FALSE(fs::exists(dir / "pytorch_model.bin"));
}

TEST_F(Pull, SingleFile) {
  RunResult r = Dseek("pull test-org/tiny-v2lite:tiny-q8_0.gguf");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path dir = CacheDir("test-org--tiny-v2lite");
  EXPECT_EQ(r.out, (dir / "tiny-q8_0.gguf").string() + "\n");
  EXPECT_EQ(ReadBytes((dir / "tiny-q8_0.gguf").string()), "GGUF fake bytes for a single-file pull");
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "config.json"));

  // ORG/NAME:FILE names a cached file for any command: here `info` on a config.json.
  ASSERT_EQ(Dseek("pull test-org/tiny-v2lite:config.json").exit_code, 0);
  RunResult info = Dseek("info test-org/tiny-v2lite:config.json");
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_THAT(info.out, HasSubstr("DeepseekV2"));

  RunResult missing = Dseek("pull test-org/tiny-v2lite:nope.gguf");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no such file in the repository"));
  EXPECT_THAT(missing.err, HasSubstr("tiny-q8_0.gguf"));  // it lists what there is
}

TEST_F(Pull, InterruptedDownloadResumesOnTheNextPull) {
  hub_.DropOnce("model.safetensors");
  RunResult r = Dseek("pull test-org/tiny-v2lite --retries 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("run the same pull again to resume"));
  const fs::path dir = CacheDir("test-org--tiny-v2lite");
  ASSERT_TRUE(fs::exists(dir / "model.safetensors.part"));
  const uintmax_t have = fs::file_size(dir / "model.safetensors.part");
  EXPECT_EQ(have, fixture_weights_.size() / 2);
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  RunResult list = Dseek("list");
  EXPECT_THAT(list.out, HasSubstr("incomplete"));

  hub_.ClearRequests();
  r = Dseek("pull test-org/tiny-v2lite");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool ranged = false;
  for (const auto& q : hub_.requests())
    if (q.target.rfind("/cdn/", 0) == 0 && q.headers.count("range"))
      ranged = ranged || q.headers.at("range") == "bytes=" + std::to_string(have) + "-";
  EXPECT_TRUE(ranged) << "the second pull did not resume with a Range request";
  EXPECT_EQ(ReadBytes((dir / "model.safetensors").string()), fixture_weights_);
  EXPECT_FALSE(fs::exists(dir / "model.safetensors.part"));
}

TEST_F(Pull, DroppedConnectionRetriesWithinOnePull) {
  hub_.DropOnce("model.safetensors");
  RunResult r = Dseek("pull test-org/tiny-v2lite");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("retrying from"));
  int ranged = 0;
  for (const auto& q : hub_.requests()) ranged += q.target.rfind("/cdn/", 0) == 0 && q.headers.count("range");
  EXPECT_EQ(ranged, 1);
  EXPECT_EQ(ReadBytes((CacheDir("test-org--tiny-v2lite") / "model.safetensors").string()), fixture_weights_);
}

TEST_F(Pull, CorruptedFileIsDeletedAndReported) {
  HubRepo repo;
  std::string bad = fixture_weights_;
  bad[bad.size() / 2] ^= 0x5a;
  repo.files["config.json"] = {fixture_config_, false, ""};
  repo.files["model.safetensors"] = {fixture_weights_, true, bad};
  hub_.AddRepo("test-org/tiny-v2lite", repo);
  RunResult r = Dseek("pull test-org/tiny-v2lite");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("model.safetensors: sha256: checksum mismatch"));
  EXPECT_THAT(r.err, HasSubstr("deleted"));
  const fs::path dir = CacheDir("test-org--tiny-v2lite");
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "model.safetensors.part"));

  // A small (git) file with wrong bytes is caught by its blob oid too.
  repo.files["config.json"].served = fixture_config_ + " ";
  repo.files["model.safetensors"].served.clear();
  hub_.AddRepo("test-org/tiny-v2lite", repo);
  fs::remove_all(dir);
  r = Dseek("pull test-org/tiny-v2lite");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, Not(HasSubstr("checksum mismatch")));  // one byte more: the size check fires first
  EXPECT_THAT(r.err, HasSubstr("config.json"));
  EXPECT_FALSE(fs::exists(dir / "config.json"));
  EXPECT_FALSE(fs::exists(dir / "config.json.part"));
}

TEST_F(Pull, HubErrorsAreClear) {
  RunResult r = Dseek("pull test-org/no-such-model");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("test-org/no-such-model: repository not found"));
  EXPECT_THAT(r.err, HasSubstr("HF_TOKEN"));
  EXPECT_FALSE(fs::exists(CacheDir("test-org--no-such-model")));

  r = Dseek("pull test-org/tiny-v2lite --revision v9");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("revision 'v9' not found"));

  r = Dseek("pull test-org/gated");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("HTTP 401"));
  EXPECT_THAT(r.err, HasSubstr("set HF_TOKEN"));

  r = Dseek("pull test-org/gated", "hf_wrong");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("HF_TOKEN was rejected"));

  HubRepo vanished;
  vanished.files["config.json"] = {fixture_config_, false, ""};
  vanished.files["model.safetensors"] = {fixture_weights_, true, "<404>"};
  hub_.AddRepo("test-org/vanished", vanished);
  r = Dseek("pull test-org/vanished");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("model.safetensors: model.safetensors not found (HTTP 404)"));
  EXPECT_FALSE(fs::exists(CacheDir("test-org--vanished") / "model.safetensors.part"));

  r = Dseek("pull not-a-name");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("expected ORG/NAME"));

  r = Dseek("pull 'test-org/tiny-v2lite:../../etc/passwd'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no '..'"));
}

TEST_F(Pull, TokenIsSentAsBearer) {
  RunResult r = Dseek("pull test-org/gated", "hf_secret123");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int resolves = 0;
  for (const auto& q : hub_.requests()) {
    if (q.target.rfind("/test-org/gated/resolve/", 0) != 0 && q.target.rfind("/api/", 0) != 0) continue;
    ASSERT_TRUE(q.headers.count("authorization")) << q.target;
    EXPECT_EQ(q.headers.at("authorization"), "Bearer hf_secret123");
    resolves += q.target.find("/resolve/") != std::string::npos;
  }
  EXPECT_EQ(resolves, 3);
  EXPECT_TRUE(fs::exists(CacheDir("test-org--gated") / "model.safetensors"));
}

TEST_F(Pull, ListAndRm) {
  RunResult r = Dseek("list");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("no models"));

  ASSERT_EQ(Dseek("pull test-org/tiny-v2lite").exit_code, 0);
  ASSERT_EQ(Dseek("pull test-org/gated", "hf_secret123").exit_code, 0);
  r = Dseek("list");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("test-org/tiny-v2lite"));
  EXPECT_THAT(r.out, HasSubstr(CacheDir("test-org--tiny-v2lite").string()));
  EXPECT_THAT(r.out, HasSubstr("test-org/gated"));
  EXPECT_THAT(r.out, HasSubstr(" MB"));

  r = Dseek("rm test-org/tiny-v2lite");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(CacheDir("test-org--tiny-v2lite")));
  r = Dseek("list");
  EXPECT_THAT(r.out, Not(HasSubstr("tiny-v2lite")));
  EXPECT_THAT(r.out, HasSubstr("test-org/gated"));

  r = Dseek("rm test-org/tiny-v2lite");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not in the model cache"));

  // A removed (or never pulled) name points at pull.
  r = Dseek("logits test-org/tiny-v2lite --ids 1 --out " + Quote(tmp_ / "x.f32"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("dseek pull test-org/tiny-v2lite"));

  // rm of one file keeps the rest.
  r = Dseek("rm test-org/gated:generation_config.json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(CacheDir("test-org--gated") / "generation_config.json"));
  EXPECT_TRUE(fs::exists(CacheDir("test-org--gated") / "model.safetensors"));
}

TEST_F(Pull, HostilePathInTheListingIsRefused) {
  HubRepo repo;
  repo.files["config.json"] = {fixture_config_, false, ""};
  repo.files["../escape.safetensors"] = {"x", true, ""};
  hub_.AddRepo("test-org/hostile", repo);
  RunResult r = Dseek("pull test-org/hostile");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unsafe file path in the hub's listing"));
  EXPECT_FALSE(fs::exists(fs::path(tmp_ / "home") / "escape.safetensors"));
  EXPECT_FALSE(fs::exists(fs::path(tmp_ / "home") / "models" / "escape.safetensors"));
}

TEST_F(Pull, GgufOnlyRepoAsksForOneFile) {
  HubRepo repo;
  repo.files["model-Q4_K_M.gguf"] = {"gguf", true, ""};
  repo.files["README.md"] = {"# r\n", false, ""};
  hub_.AddRepo("test-org/gguf-only", repo);
  RunResult r = Dseek("pull test-org/gguf-only");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("dseek pull test-org/gguf-only:model-Q4_K_M.gguf"));
}

TEST(ModelRefTest, Parse) {
  auto r = hub::ParseModelRef("deepseek-ai/DeepSeek-V2-Lite");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->org, "deepseek-ai");
  EXPECT_EQ(r->name, "DeepSeek-V2-Lite");
  EXPECT_EQ(r->file, "");
  r = hub::ParseModelRef("unsloth/DeepSeek-R1-GGUF:Q2_K/DeepSeek-R1-Q2_K-00001-of-00005.gguf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo(), "unsloth/DeepSeek-R1-GGUF");
  EXPECT_EQ(r->file, "Q2_K/DeepSeek-R1-Q2_K-00001-of-00005.gguf");
  // Paths, not names.
  for (const char* s : {"model", "/abs/path", "./org/name", "a/b/c", "org/", "/name", "org--x/name", "o/na..me", "org/-x"})
    EXPECT_FALSE(hub::ParseModelRef(s)) << s;
  // Names with a file that must never be joined to a folder.
  for (const char* s : {"o/n:../x", "o/n:/etc/passwd", "o/n:a//b", "o/n:", "o/n:x.part", "o/n:.dseek-pull.json", "o/n:a\\b"})
    EXPECT_THROW(hub::ParseModelRef(s), Error) << s;
}

TEST(DigestTest, Sha256AndGitBlobVectors) {
  EXPECT_EQ(hub::Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hub::Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hub::Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  hub::Digest d(hub::Digest::Kind::kSha256);
  for (size_t i = 0; i < million.size(); i += 4096) d.Update(million.data() + i, std::min<size_t>(4096, million.size() - i));
  EXPECT_EQ(d.HexFinal(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // `git hash-object` of "hello\n".
  hub::Digest g(hub::Digest::Kind::kSha1);
  const std::string blob = std::string("blob 6") + '\0' + "hello\n";
  g.Update(blob.data(), blob.size());
  EXPECT_EQ(g.HexFinal(), "ce013625030ba8dba906f756967f9e9ca394464a");
}

TEST(ModelCacheTest, HumanBytes) {
  EXPECT_EQ(hub::HumanBytes(12), "12 B");
  EXPECT_EQ(hub::HumanBytes(1500), "1.5 KB");
  EXPECT_EQ(hub::HumanBytes(15'700'000'000ull), "16 GB");
}

}  // namespace
}  // namespace dseek
