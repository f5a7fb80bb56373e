// `dseek pull ORG/NAME[:FILE]`, `dseek list`, `dseek rm ORG/NAME[:FILE]`: the
// local model cache, filled from the Hugging Face hub (or HF_ENDPOINT). The
// settings come from hub_settings.h; the work is src/hub's. Progress goes to
// stderr (a bar on a terminal, one line per file otherwise); `pull` prints
// the model's path on stdout.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "apps/dseek/commands.h"
#include "apps/dseek/hub_settings.h"
#include "base/error.h"
#include "hub/hub_client.h"
#include "hub/model_cache.h"

namespace dseek::cli {
namespace {

hub::ModelRef ParseName(const std::string& s) {
  std::optional<hub::ModelRef> ref = hub::ParseModelRef(s);
  if (!ref) throw UsageError("'" + s + "' is not a model name: expected ORG/NAME or ORG/NAME:FILE (e.g. deepseek-ai/DeepSeek-V2-Lite)");
  return *ref;
}

std::string CacheRoot(const HubSettings& s) {
  if (s.cache_root.empty()) throw Error("DSEEK_HOME", "", "neither DSEEK_HOME nor HOME is set: no place for the model cache");
  return s.cache_root;
}

// Draws the pull's progress on stderr.
class ProgressView {
 public:
  ProgressView() : tty_(isatty(STDERR_FILENO) == 1) {}

  void operator()(const hub::PullEvent& e) {
    using K = hub::PullEvent::Kind;
    switch (e.kind) {
      case K::kListed:
        break;
      case K::kStart:
        start_ = Clock::now();
        last_draw_ = {};
        resumed_ = e.resumed_from;
        if (!tty_ && e.resumed_from > 0)
          std::fprintf(stderr, "%s: resuming at %s\n", e.path.c_str(), hub::HumanBytes(e.resumed_from).c_str());
        if (tty_) Draw(e, false);
        break;
      case K::kProgress:
        if (tty_ && Clock::now() - last_draw_ > std::chrono::milliseconds(100)) Draw(e, false);
        break;
      case K::kDone:
        if (tty_) Draw(e, true);
        else std::fprintf(stderr, "%s: %s downloaded, verified\n", e.path.c_str(), hub::HumanBytes(e.done).c_str());
        break;
      case K::kSkipped:
        std::fprintf(stderr, "%s%s: already in the cache\n", tty_ ? "\r\033[K" : "", e.path.c_str());
        break;
      case K::kRetry:
        std::fprintf(stderr, "%s%s: %s; retrying from %s\n", tty_ ? "\r\033[K" : "", e.path.c_str(), e.message.c_str(),
                     hub::HumanBytes(e.done).c_str());
        break;
    }
    std::fflush(stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;

  void Draw(const hub::PullEvent& e, bool done) {
    last_draw_ = Clock::now();
    const double secs = std::chrono::duration<double>(last_draw_ - start_).count();
    const double rate = secs > 0.2 ? static_cast<double>(e.done - std::min(e.done, resumed_)) / secs : 0.0;
    constexpr int kWidth = 30;
    std::string bar;
    if (e.total > 0) {
      const int fill = static_cast<int>(static_cast<double>(kWidth) * static_cast<double>(std::min(e.done, e.total)) / static_cast<double>(e.total));
      bar = "[" + std::string(fill, '#') + std::string(kWidth - fill, '.') + "] " +
            std::to_string(e.done * 100 / e.total) + "% ";
    }
    const std::string speed = rate > 0 ? "  " + hub::HumanBytes(static_cast<uint64_t>(rate)) + "/s" : "";
    std::fprintf(stderr, "\r\033[K%s %s%s / %s%s", e.path.c_str(), bar.c_str(), hub::HumanBytes(e.done).c_str(),
                 e.total ? hub::HumanBytes(e.total).c_str() : "?", speed.c_str());
    if (done) std::fprintf(stderr, "  verified\n");
  }

  bool tty_;
  Clock::time_point start_{}, last_draw_{};
  uint64_t resumed_ = 0;
};

}  // namespace

void AddPull(CLI::App& app, Action& action) {
  struct Args {
    std::string name, revision = "main";
    std::vector<std::string> include;
    int retries = 3;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "pull", "Download a model from the Hugging Face hub (HF_ENDPOINT, HF_TOKEN) into the local cache (DSEEK_HOME)");
  cmd->add_option("name", a->name,
                  "ORG/NAME (config, tokenizer and .safetensors files) or ORG/NAME:FILE (one file, e.g. a .gguf)")
      ->required();
  cmd->add_option("--revision", a->revision, "Branch, tag or commit (default: main)");
  cmd->add_option("--include", a->include, "Also download the repo files matching this glob (repeatable)");
  cmd->add_option("--retries", a->retries, "Retries per file after a dropped connection (default: 3)")
      ->check(CLI::Range(0, 100));
  cmd->callback([a, &action] {
    action = [a] {
      const hub::ModelRef ref = ParseName(a->name);
      const HubSettings s = HubSettingsFromEnv();
      hub::HubOptions opt;
      opt.endpoint = s.endpoint;
      opt.token = s.token;
      opt.revision = a->revision;
      opt.include = a->include;
      opt.retries = a->retries;
      hub::ModelCache cache(CacheRoot(s));
      auto view = std::make_shared<ProgressView>();
      hub::PullResult r = hub::Pull(opt, ref, cache, [view](const hub::PullEvent& e) { (*view)(e); });
      std::fprintf(stderr, "pulled %s: %zu file(s), %s downloaded\n", ref.ToString().c_str(), r.files.size(),
                   hub::HumanBytes(r.bytes_downloaded).c_str());
      std::printf("%s\n", r.path.c_str());
      return 0;
    };
  });
}

void AddList(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand("list", "List the models in the local cache with their size and path");
  cmd->callback([&action] {
    action = [] {
      hub::ModelCache cache(CacheRoot(HubSettingsFromEnv()));
      const std::vector<hub::CacheEntry> entries = cache.List();
      if (entries.empty()) {
        std::fprintf(stderr, "no models in %s; `dseek pull ORG/NAME` downloads one\n", cache.root().c_str());
        return 0;
      }
      size_t w = 4;
      for (const auto& e : entries) w = std::max(w, e.repo.size());
      std::printf("%-*s  %10s  %s\n", static_cast<int>(w), "NAME", "SIZE", "PATH");
      for (const auto& e : entries)
        std::printf("%-*s  %10s  %s%s\n", static_cast<int>(w), e.repo.c_str(), hub::HumanBytes(e.bytes).c_str(),
                    e.path.c_str(), e.incomplete ? "  (incomplete: run pull again)" : "");
      return 0;
    };
  });
}

void AddRm(CLI::App& app, Action& action) {
  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("rm", "Delete a model (ORG/NAME) or one of its files (ORG/NAME:FILE) from the cache");
  cmd->add_option("name", *names, "ORG/NAME or ORG/NAME:FILE")->required();
  cmd->callback([names, &action] {
    action = [names] {
      hub::ModelCache cache(CacheRoot(HubSettingsFromEnv()));
      for (const std::string& n : *names) {
        cache.Remove(ParseName(n));
        std::fprintf(stderr, "deleted %s\n", n.c_str());
      }
      return 0;
    };
  });
}

}  // namespace dseek::cli
