// A parsed Jinja template, rendered the way Hugging Face transformers renders
// chat templates (jinja2 ImmutableSandboxedEnvironment, trim_blocks,
// lstrip_blocks, loopcontrols, tojson with ensure_ascii=False).
//
// Owns its syntax tree; immutable after Parse, so Render may be called from
// several threads at once. Depends on dseek_base (errors) and nlohmann_json.
// Errors: dseek::Error(origin, "line N", reason); a tag, filter or test it does
// not implement fails at Parse, naming the construct and its line.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace dseek::jinja {

class Template {
 public:
  // `origin` names the source in errors (a file path or model name).
  static Template Parse(const std::string& source, std::string origin);

  // `variables` are the template's globals besides jinja2's builtins
  // (range, namespace, dict) and transformers' (raise_exception, strftime_now).
  std::string Render(const Dict& variables) const;

  const std::string& origin() const { return origin_; }

 private:
  Template(std::string origin, std::shared_ptr<const Body> body)
      : origin_(std::move(origin)), body_(std::move(body)) {}

  std::string origin_;
  std::shared_ptr<const Body> body_;
};

}  // namespace dseek::jinja
