#include "tokenizer/jinja/chat_template.h"

namespace kiln::jinja {

namespace {

// transformers' _alias_reasoning_fields: {"thinking": r, **message, "reasoning_content": r}.
nlohmann::ordered_json alias_reasoning(const nlohmann::ordered_json& message) {
  const nlohmann::ordered_json* reasoning = nullptr;
  for (const char* key : {"reasoning_content", "thinking", "reasoning"}) {
    auto it = message.find(key);
    if (it != message.end() && !it->is_null()) {
      reasoning = &*it;
      break;
    }
  }
  if (!reasoning) return message;
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["thinking"] = *reasoning;
  for (const auto& [k, v] : message.items()) out[k] = v;
  out["thinking"] = message.contains("thinking") ? message["thinking"] : *reasoning;
  out["reasoning_content"] = *reasoning;
  return out;
}

// nlohmann::json -> ordered_json without a dump/parse round trip (which throws on
// invalid UTF-8); depth-limited like Value::from_json.
Result<nlohmann::ordered_json> to_ordered(const nlohmann::json& j, int depth) {
  if (depth > kMaxValueDepth) return Status::error("JSON input nested too deeply");
  if (j.is_array()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& e : j) {
      KILN_ASSIGN_OR_RETURN(auto v, to_ordered(e, depth + 1));
      out.push_back(std::move(v));
    }
    return out;
  }
  if (j.is_object()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& [k, e] : j.items()) {
      KILN_ASSIGN_OR_RETURN(auto v, to_ordered(e, depth + 1));
      out[k] = std::move(v);
    }
    return out;
  }
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return nlohmann::ordered_json(nullptr);
    case nlohmann::json::value_t::boolean:
      return nlohmann::ordered_json(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return nlohmann::ordered_json(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return nlohmann::ordered_json(j.get<uint64_t>());
    case nlohmann::json::value_t::number_float:
      return nlohmann::ordered_json(j.get<double>());
    case nlohmann::json::value_t::string:
      return nlohmann::ordered_json(j.get<std::string>());
    default:
      return Status::error("unsupported JSON value in chat input");
  }
}

}  // namespace

Result<std::string> render_chat(const Template& tmpl, const ChatInputs& inputs,
                                const RenderOptions& options) {
  if (!inputs.messages.is_array()) return Status::error("chat messages must be a JSON array");
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  for (size_t i = 0; i < inputs.messages.size(); ++i) {
    if (!inputs.messages[i].is_object()) {
      return Status::error("chat message " + std::to_string(i) + " is not a JSON object");
    }
    messages.push_back(alias_reasoning(inputs.messages[i]));
  }
  if (!inputs.tools.is_null() && !inputs.tools.is_array()) {
    return Status::error("chat tools must be a JSON array or null");
  }
  if (!inputs.extra_context.is_null() && !inputs.extra_context.is_object()) {
    return Status::error("extra chat-template context must be a JSON object");
  }
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = std::move(messages);
  context["tools"] = inputs.tools;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = inputs.add_generation_prompt;
  context["bos_token"] = inputs.bos_token;
  context["eos_token"] = inputs.eos_token;
  if (inputs.extra_context.is_object()) {
    for (const auto& [k, v] : inputs.extra_context.items()) context[k] = v;
  }
  return tmpl.render(context, options);
}

Result<std::string> render_chat_template(const std::string& template_source,
                                         const ChatInputs& inputs, const RenderOptions& options) {
  KILN_ASSIGN_OR_RETURN(Template tmpl, Template::parse(template_source));
  return render_chat(tmpl, inputs, options);
}

Result<std::string> render_chat_template(const std::string& template_source,
                                         const nlohmann::json& messages, bool add_generation_prompt,
                                         const std::string& bos_token, const std::string& eos_token,
                                         const nlohmann::json& tools) {
  ChatInputs inputs;
  KILN_ASSIGN_OR_RETURN(inputs.messages, to_ordered(messages, 1));
  inputs.add_generation_prompt = add_generation_prompt;
  inputs.bos_token = bos_token;
  inputs.eos_token = eos_token;
  KILN_ASSIGN_OR_RETURN(inputs.tools, to_ordered(tools, 1));
  return render_chat_template(template_source, inputs);
}

}  // namespace kiln::jinja
