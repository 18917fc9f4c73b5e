#include "tokenizer/chat_formats.h"

namespace kiln {
namespace {

// Gemma's turn format (the template Gemma 2/3 instruct models ship, for text content).
constexpr const char* kGemma = R"({{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
  {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
  {%- set loop_messages = messages[1:] -%}
{%- else -%}
  {%- set first_user_prefix = '' -%}
  {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
  {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
    {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
  {%- endif -%}
  {%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
  {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}
  {{- message['content'] | trim }}
  {{- '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{ '<start_of_turn>model\n' }}
{%- endif -%})";

constexpr const char* kChatMl = R"({%- for message in messages -%}
  {{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{ '<|im_start|>assistant\n' }}
{%- endif -%})";

// Plain question/answer turns for base models; a system prompt comes first.
constexpr const char* kQa = R"({%- for message in messages -%}
  {%- if message['role'] == 'system' -%}
    {{ message['content'] + '\n\n' }}
  {%- elif message['role'] == 'user' -%}
    {{ 'Q: ' + message['content'] + '\n' }}
  {%- else -%}
    {{ 'A: ' + message['content'] | trim + '\n' }}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{ 'A:' }}
{%- endif -%})";

}  // namespace

BuiltinChatFormat builtin_chat_template(const std::string& name) {
  if (name == "gemma") return {name, kGemma, {}};
  if (name == "chatml") return {name, kChatMl, {}};
  if (name == "qa") return {name, kQa, {"\nQ:"}};
  return {};
}

}  // namespace kiln
