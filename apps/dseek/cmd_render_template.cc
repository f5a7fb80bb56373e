// `dseek render-template TEMPLATE_FILE_OR_MODEL_DIR --case-file CASE.json`:
// renders a chat template for one case (messages, tools,
// add_generation_prompt, extra, bos_token, eos_token) exactly, no newline
// added; a template error exits 1 with the message.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/dseek/commands.h"
#include "base/error.h"
#include "base/mapped_file.h"
#include "tokenizer/jinja/chat_template.h"

namespace dseek::cli {

void AddRenderTemplate(CLI::App& app, Action& action) {
  struct Args {
    std::string source, case_file;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("render-template", "Render a chat template for one case");
  cmd->add_option("template", a->source, "A .jinja file, a tokenizer_config.json, or a model folder")->required();
  cmd->add_option("--case-file", a->case_file, "JSON object: messages, tools, add_generation_prompt, extra, ...")
      ->required();
  cmd->callback([a, &action] {
    action = [a] {
      namespace fs = std::filesystem;
      fs::path src = a->source;
      if (fs::is_directory(src)) src /= "tokenizer_config.json";
      ChatTemplate tmpl = ChatTemplate::FromFile(src);
      nlohmann::ordered_json c;
      try {
        c = nlohmann::ordered_json::parse(ReadTextFile(a->case_file));
      } catch (const nlohmann::json::exception& e) {
        throw Error(a->case_file, "", std::string("bad JSON: ") + e.what());
      }
      if (!c.is_object()) throw Error(a->case_file, "", "must be a JSON object");
      ChatTemplateInput in;
      if (c.contains("messages")) in.messages = c["messages"];
      if (c.contains("tools")) in.tools = c["tools"];
      if (c.contains("add_generation_prompt")) {
        if (!c["add_generation_prompt"].is_boolean()) throw Error(a->case_file, "add_generation_prompt", "must be true or false");
        in.add_generation_prompt = c["add_generation_prompt"].get<bool>();
      }
      if (c.contains("extra") && !c["extra"].is_null()) in.extra = c["extra"];
      auto token = [&](const char* key, const std::string& def) -> std::string {
        if (!c.contains(key)) return def;
        if (c[key].is_null()) return "";
        if (!c[key].is_string()) throw Error(a->case_file, key, "must be a string or null");
        return c[key].get<std::string>();
      };
      in.bos_token = token("bos_token", tmpl.bos_token());
      in.eos_token = token("eos_token", tmpl.eos_token());
      std::string out = tmpl.Render(in);
      std::fwrite(out.data(), 1, out.size(), stdout);
      return 0;
    };
  });
}

}  // namespace dseek::cli
