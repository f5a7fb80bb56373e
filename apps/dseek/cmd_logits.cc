// `dseek logits MODEL_DIR --ids 1,2,3 --out FILE [--incremental]`: float32
// little-endian logits [n_ids, vocab] of one forward pass; nothing on stdout.
#include <fstream>
#include <memory>

#include "apps/dseek/commands.h"
#include "apps/dseek/hub_settings.h"
#include "base/error.h"
#include "runtime/engine.h"

namespace dseek::cli {

void AddLogits(CLI::App& app, Action& action) {
  struct Args {
    std::string model, ids, out, form = "auto";
    bool incremental = false;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("logits", "Write the logits of a forward pass over token ids");
  cmd->add_option("model", a->model, "Model folder (config.json + safetensors)")->required();
  cmd->add_option("--ids", a->ids, "Comma-separated token ids")->required();
  cmd->add_option("--out", a->out, "Output file: float32 [n_ids, vocab]")->required();
  cmd->add_flag("--incremental", a->incremental, "Feed ids one at a time through the KV cache");
  cmd->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  cmd->add_option("--attention", a->form, "Prefill attention form: auto, absorbed, naive")
      ->check(CLI::IsMember({"auto", "absorbed", "naive"}));
  cmd->callback([a, &action] {
    action = [a] {
      std::vector<int32_t> ids = ParseIds(a->ids);
      EngineOptions opt;
      opt.threads = a->threads;
      opt.context = static_cast<int64_t>(ids.size());
      opt.model.prefill_form = a->form == "naive"      ? AttentionForm::kNaive
                               : a->form == "absorbed" ? AttentionForm::kAbsorbed
                                                       : AttentionForm::kAuto;
      auto engine = Engine::Open(ResolveModelPath(a->model), opt);
      std::vector<float> logits = engine->Logits(ids, a->incremental);
      std::ofstream out(a->out, std::ios::binary | std::ios::trunc);
      if (!out) throw Error(a->out, "", "cannot create output file");
      out.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size() * sizeof(float)));
      out.close();
      if (!out) throw Error(a->out, "", "write failed");
      return 0;
    };
  });
}

}  // namespace dseek::cli
