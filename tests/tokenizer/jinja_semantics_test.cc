// Unit tests of the Jinja interpreter's rules, each checked against what
// jinja2 3.1 (configured as transformers configures it) prints for the same
// template: undefined values, truthiness, short-circuit, whitespace control,
// Python formatting, and errors naming the construct and line.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "tokenizer/jinja/chat_template.h"
#include "tokenizer/jinja/template.h"

namespace dseek::jinja {
namespace {

std::string Render(const std::string& src, const nlohmann::ordered_json& vars = nlohmann::ordered_json::object()) {
  Dict d;
  for (const auto& [k, v] : vars.items()) d.Set(k, Value::FromJson(v));
  return Template::Parse(src, "test").Render(d);
}

// The dseek::Error a render raises ("" when none).
std::string RenderError(const std::string& src, const nlohmann::ordered_json& vars = nlohmann::ordered_json::object()) {
  try {
    Render(src, vars);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JinjaUndefined, PrintsEmptyAndIsFalsy) {
  EXPECT_EQ(Render("[{{ x }}]"), "[]");
  EXPECT_EQ(Render("{{ x is defined }}|{{ x is undefined }}|{{ not x }}"), "False|True|True");
  EXPECT_EQ(Render("{% if x %}yes{% else %}no{% endif %}"), "no");
  EXPECT_EQ(Render("{{ x|default('d') }}{{ x|length }}{{ x|string }}"), "d0");
  EXPECT_EQ(Render("{{ 'a' ~ x ~ 'b' }}"), "ab");
  EXPECT_EQ(Render("{{ x == x }}{{ 'q' in x }}"), "TrueFalse");
}

TEST(JinjaUndefined, IteratesAsEmpty) {
  EXPECT_EQ(Render("{% for i in x %}{{ i }}{% else %}none{% endfor %}"), "none");
  EXPECT_EQ(Render("{% for i in m.missing %}{{ i }}{% endfor %}ok", {{"m", {{"a", 1}}}}), "ok");
}

TEST(JinjaUndefined, MissingKeyIsUndefinedButDeeperAccessRaises) {
  nlohmann::ordered_json vars = {{"m", {{"role", "user"}}}};
  EXPECT_EQ(Render("{{ m.content is defined }}{{ m['content'] is defined }}", vars), "FalseFalse");
  EXPECT_EQ(RenderError("{{ m.content.x }}", vars), "test: line 1: 'dict object' has no attribute 'content'");
  EXPECT_EQ(RenderError("{{ x.y }}"), "test: line 1: 'x' is undefined");
  EXPECT_EQ(RenderError("{{ x() }}"), "test: line 1: 'x' is undefined");
  EXPECT_EQ(RenderError("{{ 'a' + x }}"), "test: line 1: 'x' is undefined");
  EXPECT_EQ(RenderError("{{ l[0]['role'] }}", {{"l", nlohmann::ordered_json::array()}}),
            "test: line 1: list object has no element 0");
}

TEST(JinjaTruthiness, PythonRules) {
  EXPECT_EQ(Render("{% for v in vals %}{{ 'T' if v else 'F' }}{% endfor %}",
                   {{"vals", {"", "a", 0, 1, 0.0, 0.5, nullptr, true, false,
                              nlohmann::ordered_json::array(), {1}, nlohmann::ordered_json::object()}}}),
            "FTFTFTFTFFTF");
}

TEST(JinjaShortCircuit, AndOrReturnOperands) {
  EXPECT_EQ(Render("{{ 0 and 2 }}|{{ 1 and 2 }}|{{ 0 or 'b' }}|{{ 'a' or 'b' }}|{{ none or 0 }}"),
            "0|2|b|a|0");
  // The right side is not evaluated, so its error never happens (Qwen2.5
  // guards messages[loop.index0 - 1] this way).
  EXPECT_EQ(Render("{{ true or undefined_thing.attr }}"), "True");
  EXPECT_EQ(Render("{{ false and undefined_thing.attr }}"), "False");
  EXPECT_EQ(Render("{{ not x is defined }}"), "True");  // not (x is defined)
}

TEST(JinjaWhitespace, TrimAndLstripBlocks) {
  EXPECT_EQ(Render("a\n  {% if true %}\n  b\n  {% endif %}\n c {# x #}\n  {# y #}\nd\n"),
            "a\n  b\n c d");
  EXPECT_EQ(Render("{% for i in [1,2] %}\n  {{ i }}\n{% endfor %}\n"), "  1\n  2\n");
  EXPECT_EQ(Render("  {%- if true %}  x  {% endif -%}  \n y"), "  x  y");
  EXPECT_EQ(Render("a {{- 1 -}} b {{ 2 }} c"), "a1b 2 c");
  EXPECT_EQ(Render("{% if true +%}\nkeep{% endif %}"), "\nkeep");
  EXPECT_EQ(Render("  {{ 1 }}  \n  {%+ if true %}a{% endif %}\n"), "  1  \n  a");
  EXPECT_EQ(Render("line1\r\nline2\r\n{% if true %}\r\nz{% endif %}\r\n"), "line1\nline2\nz");
  EXPECT_EQ(Render("x{% raw %}{{ not parsed }}{% endraw %}y"), "x{{ not parsed }}y");
}

TEST(JinjaFormatting, PythonReprAndJson) {
  EXPECT_EQ(Render("{{ none }} {{ true }} {{ false }} {{ 1.0 }} {{ 1e20 }} {{ 0.1 + 0.2 }} {{ 10 / 4 }}"),
            "None True False 1.0 1e+20 0.30000000000000004 2.5");
  EXPECT_EQ(Render("{{ [1, 2.5, none, true, 'a', \"b'c\", {'k': 'v'}] }}"),
            "[1, 2.5, None, True, 'a', \"b'c\", {'k': 'v'}]");
  EXPECT_EQ(Render("{{ ('a', 1) }}{{ (1,) }}"), "('a', 1)(1,)");
  EXPECT_EQ(Render("{{ v|tojson }}", {{"v", {{"z", "é😀\n\""}, {"a", {1.5, nullptr, true}}}}}),
            "{\"z\": \"é😀\\n\\\"\", \"a\": [1.5, null, true]}");
  EXPECT_EQ(Render("{{ v|tojson(indent=2) }}", {{"v", {{"a", {1, nlohmann::ordered_json::object()}}}}}),
            "{\n  \"a\": [\n    1,\n    {}\n  ]\n}");
  EXPECT_EQ(Render("{{ '<&>'|tojson }}"), "\"<&>\"");  // no HTML escaping
}

TEST(JinjaFormatting, FilterBindsTighterThanPlus) {
  EXPECT_EQ(Render("{{ 'a' + x | tojson + 'b' }}", {{"x", {{"k", 1}}}}), "a{\"k\": 1}b");
}

TEST(JinjaStatements, LoopsNamespacesMacros) {
  EXPECT_EQ(Render("{% for i in range(3) %}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}|{% endfor %}"),
            "0TrueFalse|1FalseFalse|2FalseTrue|");
  EXPECT_EQ(Render("{% set a = 1 %}{% for i in [1,2] %}{% set a = a + i %}{{ a }}{% endfor %}{{ a }}"),
            "231");
  EXPECT_EQ(Render("{% set ns = namespace(a=1) %}{% for i in [1,2] %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}"),
            "4");
  EXPECT_EQ(Render("{% set ns = namespace(f=false) %}{% macro m() %}{% set ns.f = true %}{% endmacro %}"
                   "{{ m() }}{{ ns.f }}"),
            "True");
  EXPECT_EQ(Render("{% macro m(a, b=2) %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }}|{{ m(b=5, a=4) }}"), "1-2|4-5");
  EXPECT_EQ(Render("{% for i in range(10) %}{% if i == 3 %}{% break %}{% endif %}"
                   "{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}"),
            "02");
  EXPECT_EQ(Render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {{"d", {{"b", 1}, {"a", 2}}}}),
            "b=1;a=2;");
  EXPECT_EQ(Render("{% if 1 < 2 < 3 %}chain{% endif %}{{ 1 < 3 < 2 }}"), "chainFalse");
}

TEST(JinjaMethods, StringMethodsAndSlicing) {
  EXPECT_EQ(Render("{{ 'a</think>b</think>c'.split('</think>')[-1] }}|{{ 'a</think>b</think>c'.split('</think>', 1)[1] }}"),
            "c|b</think>c");
  EXPECT_EQ(Render("{{ ' a b '.split() }}{{ '  x '.strip() }}{{ 'xxaxx'.lstrip('x') }}{{ 'abc'.startswith('a') }}"),
            "['a', 'b']xaxxTrue");
  EXPECT_EQ(Render("{{ 'héllo'[1] }}{{ 'héllo'|length }}{{ 'abcdef'[1:4] }}{{ 'abc'[::-1] }}{{ [1,2,3][-2:] }}"),
            "é5bcdcba[2, 3]");
}

TEST(JinjaErrors, UnknownConstructsNameTheLine) {
  EXPECT_EQ(RenderError("line1\n{% include 'x' %}"), "test: line 2: unsupported construct: '{% include %}' tag");
  EXPECT_EQ(RenderError("a\n\n{{ x | nosuch }}"), "test: line 3: unsupported construct: no filter named 'nosuch'");
  EXPECT_EQ(RenderError("{% if x %}\n{{ x is weird }}{% endif %}"),
            "test: line 2: unsupported construct: no test named 'weird'");
  EXPECT_EQ(RenderError("\n{% frobnicate %}"), "test: line 2: unknown tag 'frobnicate'");
  EXPECT_NE(RenderError("{% if true %}never closed").find("line 1"), std::string::npos);
  EXPECT_NE(RenderError("{{ 'unterminated }}").find("unterminated string"), std::string::npos);
}

TEST(JinjaErrors, RuntimeErrorsUsePythonWording) {
  EXPECT_EQ(RenderError("\n{{ raise_exception('Roles must alternate') }}"), "test: line 2: Roles must alternate");
  EXPECT_EQ(RenderError("{{ 'a' + none }}"), "test: line 1: can only concatenate str (not \"NoneType\") to str");
  EXPECT_EQ(RenderError("{{ '</think>' in none }}"), "test: line 1: argument of type 'NoneType' is not iterable");
  EXPECT_EQ(RenderError("{% for x in none %}{% endfor %}"), "test: line 1: 'NoneType' object is not iterable");
  EXPECT_EQ(RenderError("{{ [1]|map('string')|tojson }}"),
            "test: line 1: Object of type generator is not JSON serializable");
  EXPECT_EQ(RenderError("{% set l = [] %}{{ l.append(1) }}"),
            "test: line 1: access to attribute 'append' of 'list' object is unsafe.");
}

TEST(JinjaErrors, IntegerOverflowIsAnErrorNotAWrongNumber) {
  EXPECT_EQ(Render("{{ 2 ** 10 }} {{ (-1) ** 3 }} {{ 9223372036854775806 + 1 }}"), "1024 -1 9223372036854775807");
  EXPECT_NE(RenderError("{{ 9223372036854775807 + 1 }}").find("integer overflow"), std::string::npos);
  EXPECT_NE(RenderError("{{ 2 ** 100 }}").find("integer overflow"), std::string::npos);
}

TEST(Reasoning, StripAndSplit) {
  EXPECT_EQ(StripReasoning("<think>a</think>b</think>c"), "c");
  EXPECT_EQ(StripReasoning("<think>\nplan\n</think>\n\nAnswer"), "\n\nAnswer");
  EXPECT_EQ(StripReasoning("no tags"), "no tags");
  ReasoningSplit r = SplitReasoning("<think>\nplan\n</think>\n\nAnswer");
  EXPECT_EQ(r.reasoning, "plan");
  EXPECT_EQ(r.content, "Answer");
  r = SplitReasoning("plan</think>Answer", true);
  EXPECT_EQ(r.reasoning, "plan");
  EXPECT_EQ(r.content, "Answer");
  r = SplitReasoning("still thinking", true);
  EXPECT_EQ(r.reasoning, "still thinking");
  EXPECT_EQ(r.content, "");
  r = SplitReasoning("just an answer");
  EXPECT_EQ(r.reasoning, "");
  EXPECT_EQ(r.content, "just an answer");
}

}  // namespace
}  // namespace dseek::jinja
