#include "tokenizer/jinja/chat_template.h"

namespace kiln::jinja {

Result<std::string> render_chat_template(const std::string& template_source,
                                         const nlohmann::json& messages, bool add_generation_prompt,
                                         const std::string& bos_token, const std::string& eos_token,
                                         const nlohmann::json& tools) {
  (void)template_source;
  (void)messages;
  (void)add_generation_prompt;
  (void)bos_token;
  (void)eos_token;
  (void)tools;
  return Status::error("chat templates: renderer not implemented yet");
}

}  // namespace kiln::jinja
