// `dseek tokenize DIR --text-file F [--add-special]`: ids as a JSON array.
// `dseek detokenize DIR --ids 1,2,3`: the text.
#include <cstdio>
#include <memory>

#include "apps/dseek/commands.h"
#include "base/error.h"
#include "base/mapped_file.h"
#include "tokenizer/tokenizer.h"

namespace dseek::cli {

void AddTokenize(CLI::App& app, Action& action) {
  struct Args {
    std::string dir, text_file, text, ids;
    bool add_special = false, skip_special = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* tok = app.add_subcommand("tokenize", "Encode text to token ids (JSON array on one line)");
  tok->add_option("dir", a->dir, "Model or tokenizer folder (tokenizer.json)")->required();
  auto* tf = tok->add_option("--text-file", a->text_file, "File holding the text (bytes as they are)");
  auto* tx = tok->add_option("--text", a->text, "The text itself");
  tf->excludes(tx);
  tok->add_flag("--add-special", a->add_special, "Add BOS/EOS as tokenizer_config.json says");
  tok->callback([a, &action] {
    action = [a] {
      if (a->text_file.empty() && a->text.empty()) throw UsageError("tokenize: give --text-file or --text");
      Tokenizer t = Tokenizer::FromDir(a->dir);
      std::string text = a->text_file.empty() ? a->text : ReadTextFile(a->text_file);
      std::vector<int32_t> ids = t.Encode(text, a->add_special);
      std::string out = "[";
      for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
      std::printf("%s]\n", out.c_str());
      return 0;
    };
  });

  CLI::App* det = app.add_subcommand("detokenize", "Decode token ids to text");
  det->add_option("dir", a->dir, "Model or tokenizer folder")->required();
  det->add_option("--ids", a->ids, "Comma-separated token ids")->required();
  det->add_flag("--skip-special", a->skip_special, "Leave out special tokens");
  det->callback([a, &action] {
    action = [a] {
      Tokenizer t = Tokenizer::FromDir(a->dir);
      std::vector<int32_t> ids = ParseIds(a->ids);
      for (int32_t id : ids)
        if (static_cast<size_t>(id) >= t.vocab_size())
          throw UsageError("--ids: " + std::to_string(id) + " is outside the vocabulary of " +
                           std::to_string(t.vocab_size()));
      std::string text = t.Decode(ids, a->skip_special);
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    };
  });
}

}  // namespace dseek::cli
