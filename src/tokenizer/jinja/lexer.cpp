#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "tokenizer/jinja/pystr.h"

namespace kiln::jinja {

std::string normalize_newlines(std::string_view source, bool keep_trailing_newline) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Python's str.rstrip() (Unicode whitespace).
std::string_view rstrip_view(std::string_view s) {
  const std::u32string cps = pystr::decode(s);
  size_t e = cps.size();
  while (e > 0 && pystr::is_space(cps[e - 1])) --e;
  size_t bytes = 0;
  for (size_t i = 0; i < e; ++i) {
    const char32_t c = cps[i];
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return s.substr(0, bytes);
}

// Length of the run of Python whitespace at the start of s (`\s*`).
size_t whitespace_run(std::string_view s, size_t pos) {
  size_t i = pos;
  while (i < s.size()) {
    if (is_ascii_space(s[i])) {
      ++i;
      continue;
    }
    if (static_cast<unsigned char>(s[i]) < 0x80) break;
    // Decode one non-ASCII code point to test it.
    const std::u32string one = pystr::decode(s.substr(i, 4));
    if (one.empty() || !pystr::is_space(one[0])) break;
    std::string enc;
    pystr::append_utf8(enc, one[0]);
    i += enc.size();
  }
  return i - pos;
}

class Lexer {
 public:
  Lexer(std::string_view src, const LexOptions& opt) : src_(src), opt_(opt) {}

  Result<std::vector<Token>> run() {
    while (pos_ < src_.size()) KILN_TRY(lex_root());
    tokens_.push_back(Token{TokenType::kEof, "", 0, 0.0, line_at(src_.size())});
    return std::move(tokens_);
  }

 private:
  int line_at(size_t pos) {
    while (line_pos_ < pos && line_pos_ < src_.size()) {
      if (src_[line_pos_] == '\n') ++line_;
      ++line_pos_;
    }
    return line_;
  }

  Status error(size_t pos, const std::string& what) {
    return Status::error("template line " + std::to_string(line_at(pos)) + ": " + what);
  }

  void emit(TokenType type, std::string value, size_t pos) {
    tokens_.push_back(Token{type, std::move(value), 0, 0.0, line_at(pos)});
  }

  // Applies the whitespace rules to `text` that precedes a tag whose sign is `sign`.
  std::string_view strip_before(std::string_view text, char sign, bool is_variable) {
    if (sign == '-') return rstrip_view(text);
    if (sign != '+' && opt_.lstrip_blocks && !is_variable) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if (l_pos > 0 || line_starting_) {
        const std::string_view tail = text.substr(l_pos);
        if (!tail.empty() && whitespace_run(tail, 0) == tail.size()) return text.substr(0, l_pos);
      }
    }
    return text;
  }

  static char sign_at(std::string_view s, size_t pos) {
    return (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) ? s[pos] : '\0';
  }

  // Matches `{%(-|+|)\s*raw\s*(-%}\s*|%})` at pos; returns the end or npos.
  size_t match_raw_begin(size_t pos) const { return match_raw_tag(pos, "raw", false); }

  size_t match_raw_tag(size_t pos, std::string_view word, bool trim) const {
    size_t i = pos + 2;
    if (sign_at(src_, i)) ++i;
    i += whitespace_run(src_, i);
    if (src_.compare(i, word.size(), word) != 0) return std::string_view::npos;
    i += word.size();
    i += whitespace_run(src_, i);
    if (src_.compare(i, 3, "-%}") == 0) return i + 3 + whitespace_run(src_, i + 3);
    if (word == "endraw" && src_.compare(i, 3, "+%}") == 0) return i + 3;
    if (src_.compare(i, 2, "%}") == 0) {
      i += 2;
      if (trim && opt_.trim_blocks && i < src_.size() && src_[i] == '\n') ++i;
      return i;
    }
    return std::string_view::npos;
  }

  Status lex_root() {
    size_t tag = pos_;
    while (true) {
      tag = src_.find('{', tag);
      if (tag == std::string_view::npos || tag + 1 >= src_.size()) {
        emit_data(src_.substr(pos_), pos_);
        pos_ = src_.size();
        return Status::ok();
      }
      const char c = src_[tag + 1];
      if (c == '%' || c == '{' || c == '#') break;
      ++tag;
    }
    const char kind = src_[tag + 1];
    const char sign = sign_at(src_, tag + 2);
    std::string_view text = src_.substr(pos_, tag - pos_);
    text = strip_before(text, sign, kind == '{');
    emit_data(text, pos_);
    if (kind == '%') {
      const size_t raw_end = match_raw_begin(tag);
      if (raw_end != std::string_view::npos) return lex_raw(tag, raw_end);
    }
    if (kind == '#') return lex_comment(tag);
    emit(kind == '%' ? TokenType::kBlockBegin : TokenType::kVarBegin, "", tag);
    pos_ = tag + 2 + (sign ? 1 : 0);
    return lex_tag(kind == '%', tag);
  }

  void emit_data(std::string_view text, size_t pos) {
    if (!text.empty()) emit(TokenType::kData, std::string(text), pos);
  }

  Status lex_comment(size_t tag) {
    size_t i = tag + 2;
    while (true) {
      const size_t end = src_.find("#}", i);
      if (end == std::string_view::npos) return error(tag, "Missing end of comment tag");
      const char before = end > tag + 2 ? src_[end - 1] : '\0';
      size_t after = end + 2;
      if (before == '-') {
        after += whitespace_run(src_, after);
      } else if (before != '+' && opt_.trim_blocks && after < src_.size() && src_[after] == '\n') {
        ++after;
      }
      pos_ = after;
      line_starting_ = src_[after - 1] == '\n';
      return Status::ok();
    }
  }

  Status lex_raw(size_t tag, size_t body_start) {
    line_starting_ = src_[body_start - 1] == '\n';
    size_t i = body_start;
    while (true) {
      const size_t open = src_.find("{%", i);
      if (open == std::string_view::npos) return error(tag, "Missing end of raw directive");
      const size_t end = match_raw_tag(open, "endraw", true);
      if (end == std::string_view::npos) {
        i = open + 2;
        continue;
      }
      std::string_view text = src_.substr(body_start, open - body_start);
      text = strip_before(text, sign_at(src_, open + 2), false);
      emit_data(text, body_start);
      pos_ = end;
      line_starting_ = src_[end - 1] == '\n';
      return Status::ok();
    }
  }

  // Tries the tag-end rule at pos_; on success advances and returns true.
  bool match_tag_end(bool block) {
    const char* close = block ? "%}" : "}}";
    if (block && src_.compare(pos_, 3, "+%}") == 0) {
      pos_ += 3;
    } else if (src_.compare(pos_, 1, "-") == 0 && src_.compare(pos_ + 1, 2, close) == 0) {
      pos_ += 3;
      pos_ += whitespace_run(src_, pos_);
    } else if (src_.compare(pos_, 2, close) == 0) {
      pos_ += 2;
      if (block && opt_.trim_blocks && pos_ < src_.size() && src_[pos_] == '\n') ++pos_;
    } else {
      return false;
    }
    line_starting_ = src_[pos_ - 1] == '\n';
    return true;
  }

  Status lex_tag(bool block, size_t tag) {
    std::vector<char> balance;
    while (true) {
      if (pos_ >= src_.size()) {
        return error(tag, std::string("unexpected end of template, expected '") +
                              (block ? "%}" : "}}") + "'");
      }
      const size_t start = pos_;
      if (balance.empty() && match_tag_end(block)) {
        emit(block ? TokenType::kBlockEnd : TokenType::kVarEnd, "", start);
        return Status::ok();
      }
      const size_t ws = whitespace_run(src_, pos_);
      if (ws > 0) {
        pos_ += ws;
        continue;
      }
      const char c = src_[pos_];
      if (is_digit(c)) {
        KILN_TRY(lex_number());
      } else if (is_name_start(c)) {
        size_t e = pos_;
        while (e < src_.size() && is_name_char(src_[e])) ++e;
        emit(TokenType::kName, std::string(src_.substr(pos_, e - pos_)), pos_);
        pos_ = e;
      } else if (c == '\'' || c == '"') {
        KILN_TRY(lex_string());
      } else {
        KILN_TRY(lex_operator(balance));
      }
    }
  }

  Status lex_number() {
    const size_t start = pos_;
    size_t e = pos_;
    auto digits = [&](size_t& i) {
      const size_t s = i;
      while (i < src_.size() && (is_digit(src_[i]) || (src_[i] == '_' && i + 1 < src_.size() &&
                                                       is_digit(src_[i + 1]) && i > s))) {
        ++i;
      }
      return i > s;
    };
    digits(e);
    bool is_float = false;
    size_t f = e;
    if (f + 1 < src_.size() && src_[f] == '.' && is_digit(src_[f + 1])) {
      ++f;
      digits(f);
      is_float = true;
      e = f;
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
      if (x < src_.size() && is_digit(src_[x])) {
        digits(x);
        is_float = true;
        e = x;
      }
    }
    std::string text;
    for (size_t i = start; i < e; ++i) {
      if (src_[i] != '_') text.push_back(src_[i]);
    }
    Token t{is_float ? TokenType::kFloat : TokenType::kInteger, text, 0, 0.0, line_at(start)};
    if (is_float) {
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      const auto r = std::from_chars(text.data(), text.data() + text.size(), t.int_value);
      if (r.ec != std::errc()) return error(start, "integer literal too large: " + text);
    }
    tokens_.push_back(std::move(t));
    pos_ = e;
    return Status::ok();
  }

  Status lex_string() {
    const size_t start = pos_;
    const char quote = src_[pos_];
    size_t i = pos_ + 1;
    std::string raw;
    while (true) {
      if (i >= src_.size()) return error(start, "unexpected end of string literal");
      if (src_[i] == '\\' && i + 1 < src_.size()) {
        raw.push_back(src_[i]);
        raw.push_back(src_[i + 1]);
        i += 2;
        continue;
      }
      if (src_[i] == quote) break;
      raw.push_back(src_[i++]);
    }
    KILN_ASSIGN_OR_RETURN(std::string value, unescape(raw, start));
    emit(TokenType::kString, std::move(value), start);
    pos_ = i + 1;
    return Status::ok();
  }

  // Python's "unicode-escape" decoding of a string literal's body.
  Result<std::string> unescape(std::string_view raw, size_t at) {
    std::string out;
    size_t i = 0;
    while (i < raw.size()) {
      if (raw[i] != '\\' || i + 1 >= raw.size()) {
        out.push_back(raw[i++]);
        continue;
      }
      const char e = raw[i + 1];
      i += 2;
      switch (e) {
        case '\n':
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '\'':
          out.push_back('\'');
          break;
        case '"':
          out.push_back('"');
          break;
        case 'a':
          out.push_back('\a');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'v':
          out.push_back('\v');
          break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (i + n > raw.size()) return error(at, "truncated \\" + std::string(1, e) + " escape");
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            const char h = raw[i + k];
            const int d = is_digit(h)              ? h - '0'
                          : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                          : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                   : -1;
            if (d < 0) return error(at, "truncated \\" + std::string(1, e) + " escape");
            cp = cp * 16 + static_cast<uint32_t>(d);
          }
          if (cp > 0x10FFFF) return error(at, "illegal Unicode character in string literal");
          pystr::append_utf8(out, cp);
          i += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i < raw.size() && raw[i] >= '0' && raw[i] <= '7'; ++k) {
              cp = cp * 8 + static_cast<uint32_t>(raw[i++] - '0');
            }
            pystr::append_utf8(out, cp);
          } else {
            out.push_back('\\');
            out.push_back(e);
          }
      }
    }
    return out;
  }

  Status lex_operator(std::vector<char>& balance) {
    static const char* const kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kTwo) {
      if (src_.compare(pos_, 2, op) == 0) {
        emit(TokenType::kOperator, op, pos_);
        pos_ += 2;
        return Status::ok();
      }
    }
    const char c = src_[pos_];
    static const std::string_view kOne = "+-/*%~[](){}.:|,;=<>";
    if (kOne.find(c) == std::string_view::npos) {
      return error(pos_, std::string("unexpected char '") + c + "'");
    }
    if (c == '(' || c == '[' || c == '{') {
      balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (balance.empty()) return error(pos_, std::string("unexpected '") + c + "'");
      if (balance.back() != c) {
        return error(pos_,
                     std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
      }
      balance.pop_back();
    }
    emit(TokenType::kOperator, std::string(1, c), pos_);
    ++pos_;
    return Status::ok();
  }

  std::string_view src_;
  LexOptions opt_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
  int line_ = 1;
  size_t line_pos_ = 0;
};

}  // namespace

Result<std::vector<Token>> tokenize(std::string_view source, const LexOptions& options) {
  return Lexer(source, options).run();
}

}  // namespace kiln::jinja
