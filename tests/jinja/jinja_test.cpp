// Unit tests of kiln's Jinja renderer: language features (expected values checked
// against Python jinja2 3.1 with trim_blocks/lstrip_blocks) and error handling
// (every bad template is a Status error with a line number, never a crash).
#include <gtest/gtest.h>

#include <string>

#include "tokenizer/jinja/chat_template.h"

namespace kiln::jinja {
namespace {

using nlohmann::ordered_json;

Result<std::string> render(const std::string& src, const ordered_json& ctx = ordered_json::object(),
                           const RenderOptions& options = {}) {
  KILN_ASSIGN_OR_RETURN(Template t, Template::parse(src));
  return t.render(ctx, options);
}

std::string ok(const std::string& src, const ordered_json& ctx = ordered_json::object()) {
  auto r = render(src, ctx);
  EXPECT_TRUE(r.is_ok()) << src << ": " << r.status().message();
  return r.is_ok() ? r.value() : "";
}

std::string err(const std::string& src, const RenderOptions& options = {}) {
  auto r = render(src, ordered_json::object(), options);
  EXPECT_FALSE(r.is_ok()) << src << " rendered: " << (r.is_ok() ? r.value() : "");
  return r.is_ok() ? "" : r.status().message();
}

TEST(JinjaTest, ExpressionsFollowPython) {
  EXPECT_EQ(ok("{{ 7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 1.0 }} {{ none }} {{ true }}"),
            "3 2 3.5 1.0 None True");
  EXPECT_EQ(ok("{{ [1, 'a'] }}{{ {'k': none} }}{{ (1,) }}"), "[1, 'a']{'k': None}(1,)");
  EXPECT_EQ(ok("{{ 'a' ~ 1 ~ undefined_name }}|{{ 'x' if false }}|"), "a1||");
  EXPECT_EQ(ok("{{ 'héllo'[1] }}{{ 'héllo'|length }}{{ 'abc'[::-1] }}"), "é5cba");
}

TEST(JinjaTest, LoopsScopesAndNamespaces) {
  EXPECT_EQ(
      ok("{% for x in [3, 1, 2] if x > 1 %}{{ loop.index }}{{ x }}{{ loop.last }} {% endfor %}"),
      "13False 22True ");
  EXPECT_EQ(ok("{% set x = 0 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}"),
            "120");
  EXPECT_EQ(ok("{% set ns = namespace(t=0) %}{% for i in [1, 2] %}{% set ns.t = ns.t + i %}"
               "{% endfor %}{{ ns.t }}"),
            "3");
  EXPECT_EQ(ok("{% macro m(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}"),
            "1B23");
}

TEST(JinjaTest, WhitespaceControlMatchesHuggingFaceSettings) {
  EXPECT_EQ(ok("a\n  {% if true %}\n    b\n  {% endif %}\nc\n"), "a\n    b\nc");
  EXPECT_EQ(ok("x  {{- ' y ' -}}  z"), "x y z");
  EXPECT_EQ(ok("{% raw %}{{ kept }}{% endraw %}{# gone #}"), "{{ kept }}");
}

TEST(JinjaTest, FiltersAndMethods) {
  ordered_json ctx = {{"d", {{"b", 2}, {"a", 1}}}};
  EXPECT_EQ(ok("{{ d|tojson }}|{{ d|dictsort }}|{{ '  x '|trim }}", ctx),
            "{\"b\": 2, \"a\": 1}|[('a', 1), ('b', 2)]|x");
  EXPECT_EQ(ok("{{ 'a,b'.split(',') }}{{ 'Ab'.lower().startswith('a') }}{{ d.get('z', 5) }}", ctx),
            "['a', 'b']True5");
}

TEST(JinjaTest, SyntaxErrorsNameTheLine) {
  EXPECT_NE(err("ok\n{% if %}").find("template line 2"), std::string::npos);
  EXPECT_NE(err("{% for x in y %}never closed").find("endfor"), std::string::npos);
  EXPECT_NE(err("{% unknowntag %}").find("unknown tag"), std::string::npos);
  EXPECT_NE(err("{{ 'unterminated }}").find("template line 1"), std::string::npos);
  EXPECT_NE(err("{# open comment").find("comment"), std::string::npos);
  EXPECT_NE(err("{{ (1 }}").find("template line 1"), std::string::npos);
}

TEST(JinjaTest, UnknownFilterIsAnErrorUnlessGuardedByIf) {
  EXPECT_NE(err("{{ x|no_such_filter }}").find("No filter named 'no_such_filter'"),
            std::string::npos);
  EXPECT_EQ(ok("{% if false %}{{ x|no_such_filter }}{% endif %}ok"), "ok");
  EXPECT_NE(err("{% if true %}{{ x|no_such_filter }}{% endif %}").find("no_such_filter"),
            std::string::npos);
}

TEST(JinjaTest, RuntimeErrorsAreStatuses) {
  EXPECT_NE(err("\n{{ raise_exception('bad role') }}").find("line 2: raise_exception: bad role"),
            std::string::npos);
  EXPECT_NE(err("{{ 1 + 'a' }}").find("unsupported operand"), std::string::npos);
  EXPECT_NE(err("{{ x.y }}").find("'x' is undefined"), std::string::npos);
  EXPECT_NE(err("{{ [1].append(2) }}").find("unsafe"), std::string::npos);
  EXPECT_FALSE(render("{{ 1 / 0 }}").is_ok());
}

TEST(JinjaTest, DeepRecursionIsBounded) {
  EXPECT_NE(err("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("nested deeper"),
            std::string::npos);
  std::string deep(5000, '(');
  EXPECT_NE(err("{{ " + deep + "1" + std::string(5000, ')') + " }}").find("nested too deeply"),
            std::string::npos);
  std::string nested;
  for (int i = 0; i < 500; ++i) nested += "{% if true %}";
  EXPECT_NE(err(nested).find("nested too deeply"), std::string::npos);
}

TEST(JinjaTest, HugeLoopsAndOutputsAreBounded) {
  RenderOptions small;
  small.limits.max_steps = 100000;
  EXPECT_NE(
      err("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", small)
          .find("step budget"),
      std::string::npos);
  RenderOptions tiny;
  tiny.limits.max_output_bytes = 1000;
  EXPECT_NE(err("{% for i in range(1000) %}xxxxxxxxxx{% endfor %}", tiny).find("output exceeds"),
            std::string::npos);
  EXPECT_NE(err("{{ 'x' * 100000000000 }}").find("output limit"), std::string::npos);
  EXPECT_NE(err("{{ range(1000000)|length }}").find("MAX_RANGE"), std::string::npos);
}

TEST(JinjaTest, ChatTemplateContract) {
  const std::string tmpl =
      "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
      "{% if tools is none %}[no tools]{% endif %}{% if add_generation_prompt %}<assistant>"
      "{% endif %}";
  nlohmann::json messages = nlohmann::json::array({{{"role", "user"}, {"content", "hi"}}});
  auto r = render_chat_template(tmpl, messages, true, "<s>", "</s>", nullptr);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r.value(), "<s><user>hi[no tools]<assistant>");
  EXPECT_FALSE(
      render_chat_template(tmpl, nlohmann::json::array({1}), true, "", "", nullptr).is_ok());
  EXPECT_FALSE(render_chat_template("{% if %}", messages, true, "", "", nullptr).is_ok());
  EXPECT_FALSE(
      render_chat_template(std::string("\xff\xfe"), messages, true, "", "", nullptr).is_ok());
}

}  // namespace
}  // namespace kiln::jinja
