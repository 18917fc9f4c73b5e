// jinja_render: renders chat templates with kiln's renderer, for the conformance tests
// (conformance.py compares its output with Python jinja2's).
//
//   jinja_render TEMPLATE CASE.json [--now EPOCH]
//       renders one chat case ({"messages", "tools", "add_generation_prompt",
//       "bos_token", "eos_token", "extra_context"}) through render_chat and prints it.
//   jinja_render --batch TEMPLATE CASES.json [--now EPOCH]
//       CASES.json is {"name": case, ...}; prints one JSON object
//       {"name": {"ok": true, "output": "..."} | {"ok": false, "error": "..."}}.
//   jinja_render --snippets SNIPPETS.json
//       SNIPPETS.json is [{"template": "...", "context": {...}}, ...]; renders each with
//       the plain Template API and prints a JSON array of results as above.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "tokenizer/jinja/chat_template.h"

namespace {

using kiln::jinja::ChatInputs;
using kiln::jinja::RenderOptions;
using kiln::jinja::Template;
using nlohmann::ordered_json;

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

ordered_json result_json(const kiln::Result<std::string>& r) {
  ordered_json j;
  j["ok"] = r.is_ok();
  if (r.is_ok()) {
    j["output"] = r.value();
  } else {
    j["error"] = r.status().message();
  }
  return j;
}

kiln::Result<ChatInputs> chat_inputs(const ordered_json& c) {
  if (!c.is_object()) return kiln::Status::error("case must be a JSON object");
  ChatInputs in;
  in.messages = c.value("messages", ordered_json::array());
  in.add_generation_prompt = c.value("add_generation_prompt", false);
  in.bos_token = c.value("bos_token", std::string());
  in.eos_token = c.value("eos_token", std::string());
  in.tools = c.contains("tools") ? c["tools"] : ordered_json();
  in.extra_context = c.contains("extra_context") ? c["extra_context"] : ordered_json();
  return in;
}

kiln::Result<std::string> render_case(const kiln::Result<Template>& tmpl, const ordered_json& c,
                                      const RenderOptions& options) {
  if (!tmpl.is_ok()) return tmpl.status();
  KILN_ASSIGN_OR_RETURN(ChatInputs in, chat_inputs(c));
  return kiln::jinja::render_chat(tmpl.value(), in, options);
}

int usage() {
  std::fprintf(stderr,
               "usage: jinja_render TEMPLATE CASE.json [--now EPOCH]\n"
               "       jinja_render --batch TEMPLATE CASES.json [--now EPOCH]\n"
               "       jinja_render --snippets SNIPPETS.json\n");
  return 2;
}

int run(int argc, char** argv) {
  if (argc < 3) return usage();
  RenderOptions options;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--now") options.now = std::strtoll(argv[i + 1], nullptr, 10);
  }
  const std::string mode = argv[1];
  std::string a, b;
  if (mode == "--snippets") {
    if (!read_file(argv[2], a)) return usage();
    const ordered_json snippets = ordered_json::parse(a);
    ordered_json out = ordered_json::array();
    for (const auto& s : snippets) {
      auto tmpl = Template::parse(s.at("template").get<std::string>());
      if (!tmpl.is_ok()) {
        out.push_back(result_json(tmpl.status()));
        continue;
      }
      out.push_back(
          result_json(tmpl.value().render(s.value("context", ordered_json::object()), options)));
    }
    std::cout << out.dump(-1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
    return 0;
  }
  const bool batch = mode == "--batch";
  if (batch && argc < 4) return usage();
  if (!read_file(argv[batch ? 2 : 1], a) || !read_file(argv[batch ? 3 : 2], b)) {
    std::fprintf(stderr, "jinja_render: cannot read input files\n");
    return 2;
  }
  const auto tmpl = Template::parse(a);
  const ordered_json cases = ordered_json::parse(b);
  if (batch) {
    ordered_json out = ordered_json::object();
    for (const auto& [name, c] : cases.items())
      out[name] = result_json(render_case(tmpl, c, options));
    std::cout << out.dump(-1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
    return 0;
  }
  const auto r = render_case(tmpl, cases, options);
  if (!r.is_ok()) {
    std::fprintf(stderr, "error: %s\n", r.status().message().c_str());
    return 1;
  }
  std::cout << r.value();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // malformed JSON input files
    std::fprintf(stderr, "jinja_render: %s\n", e.what());
    return 2;
  }
}
