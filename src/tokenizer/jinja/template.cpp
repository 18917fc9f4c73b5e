#include "tokenizer/jinja/template.h"

#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/pystr.h"

namespace kiln::jinja {

Result<Template> Template::parse(std::string_view source, const TemplateOptions& options) {
  if (!pystr::is_valid_utf8(source)) return Status::error("chat template is not valid UTF-8");
  const std::string normalized = normalize_newlines(source, options.keep_trailing_newline);
  LexOptions lex{options.trim_blocks, options.lstrip_blocks, options.keep_trailing_newline};
  KILN_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(normalized, lex));
  KILN_ASSIGN_OR_RETURN(Body body, parse_tokens(tokens));
  return Template(std::make_shared<const Body>(std::move(body)));
}

Result<std::string> Template::render(const nlohmann::ordered_json& context,
                                     const RenderOptions& options) const {
  if (!context.is_object()) return Status::error("template context must be a JSON object");
  KILN_ASSIGN_OR_RETURN(Value ctx, Value::from_json(context));
  return render_value(ctx, options);
}

Result<std::string> Template::render_value(const Value& context,
                                           const RenderOptions& options) const {
  if (!context.is_mapping()) return Status::error("template context must be a mapping");
  Interpreter interpreter(options);
  return interpreter.render(*body_, context);
}

}  // namespace kiln::jinja
