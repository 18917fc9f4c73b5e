// Tokenizer: special-token partitioning (tokenizers.md §3), BOS/EOS (§4),
// dispatch to the SPM/BPE encoders, and detokenization (§7.1, §7.2).
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cctype>

#include "tokenizer/tokenizer_state.h"
#include "tokenizer/unicode.h"

namespace kiln {
namespace {

using detail::TokenizerState;

struct Fragment {
  int32_t token;  // -1: raw text [offset, offset + length) of the input
  size_t offset;
  size_t length;
};

bool is_c_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Splits every raw fragment at each occurrence of `token`'s text, left to
// right, applying its LSTRIP/RSTRIP attributes (llama.cpp tokenizer_st_partition).
void split_at(const TokenizerState& st, std::string_view text, int32_t token,
              std::vector<Fragment>& fragments, std::vector<Fragment>& scratch) {
  const std::string& needle = st.text[token];
  const uint32_t attr = st.attr[token];
  scratch.clear();
  bool changed = false;
  for (const Fragment& f : fragments) {
    if (f.token >= 0) {
      scratch.push_back(f);
      continue;
    }
    std::string_view rest = text.substr(f.offset, f.length);
    size_t base = f.offset;
    while (true) {
      const size_t match = rest.find(needle);
      if (match == std::string_view::npos) break;
      changed = true;
      size_t left_len = match;
      if (attr & detail::kAttrLstrip) {
        while (left_len > 0 && is_c_space(rest[left_len - 1])) --left_len;
      }
      if (left_len > 0) scratch.push_back({-1, base, left_len});
      scratch.push_back({token, 0, 0});
      size_t right = match + needle.size();
      if (attr & detail::kAttrRstrip) {
        while (right < rest.size() && is_c_space(rest[right])) ++right;
      }
      base += right;
      rest = rest.substr(right);
    }
    if (!rest.empty()) scratch.push_back({-1, base, rest.size()});
  }
  if (changed) fragments.swap(scratch);
}

std::vector<Fragment> partition(const TokenizerState& st, std::string_view text,
                                bool parse_special) {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({-1, 0, text.size()});
  // Only tokens that occur in the whole text can occur in a fragment of it:
  // find those in one pass, then split in llama.cpp's order (longest first)
  // at just those. Same fragments as trying every special token.
  std::vector<int32_t> ranks;
  st.special_trie.find_all(text, ranks);
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  std::vector<Fragment> scratch;
  for (int32_t rank : ranks) {
    const int32_t id = st.special_tokens[rank];
    if (!parse_special && (st.attr[id] & (detail::kAttrControl | detail::kAttrUnknown))) continue;
    split_at(st, text, id, fragments, scratch);
  }
  return fragments;
}

void append_spm_fragment(const TokenizerState& st, std::string_view raw, bool prefix_space,
                         std::string& buffer, std::vector<int32_t>& out) {
  buffer.clear();
  if (prefix_space) buffer += "\xE2\x96\x81";
  for (char c : raw) {
    if (c == ' ') {
      buffer += "\xE2\x96\x81";
    } else {
      buffer += c;
    }
  }
  detail::spm_encode(st, buffer, out);
}

// HF clean_up_tokenization_spaces as llama.cpp's llama_detokenize does it.
std::string clean_spaces(const std::string& in) {
  std::string a;
  for (size_t i = 0; i < in.size(); ++i) {
    const char x = in[i];
    if (i > 0 && in[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
    a += x;
  }
  std::string b;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i];
    if (i > 0 && x == '\'' && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
      b.pop_back();  // " ' " -> "'"
      b += x;
      ++i;
      continue;
    }
    b += x;
  }
  std::string c;
  for (size_t i = 0; i < b.size(); ++i) {
    const char x = b[i];
    if (i > 0 && b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
      const char x1 = b[i + 1];
      const char x2 = i + 2 < b.size() ? b[i + 2] : '\0';
      if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) {
        c.pop_back();
      }
    }
    c += x;
  }
  return c;
}

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
  const TokenizerState& st = *state_;
  std::vector<int32_t> out;
  if (add_bos && st.add_bos) out.push_back(st.bos);
  const std::vector<Fragment> fragments = partition(st, text, parse_special);
  std::string buffer;
  bool prev_special = true;  // SPM: the first fragment gets the space prefix
  for (const Fragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    const std::string_view raw = text.substr(f.offset, f.length);
    if (st.kind == detail::VocabKind::kSpm) {
      append_spm_fragment(st, raw, st.add_space_prefix && prev_special, buffer, out);
    } else {
      detail::bpe_encode(st, raw, out);
    }
    prev_special = false;
  }
  if (add_bos && st.add_eos) out.push_back(st.eos);
  return out;
}

std::string Tokenizer::token_piece(int32_t id, bool render_special) const {
  const TokenizerState& st = *state_;
  if (id < 0 || id >= st.n_tokens()) return {};
  const uint32_t attr = st.attr[id];
  const std::string& text = st.text[id];
  if (attr & (detail::kAttrControl | detail::kAttrUnknown)) return render_special ? text : "";
  if (attr & detail::kAttrUserDefined) return text;
  if (attr & detail::kAttrNormal) {
    std::string out;
    if (st.kind == detail::VocabKind::kSpm) {
      for (size_t i = 0; i < text.size(); ++i) {
        if (text.compare(i, 3, "\xE2\x96\x81") == 0) {
          out += ' ';
          i += 2;
        } else {
          out += text[i];
        }
      }
      return out;
    }
    for (size_t pos = 0; pos < text.size();) {
      const size_t start = pos;
      const int byte = unicode::unicode_to_byte(unicode::next_codepoint(text, pos));
      if (byte >= 0) {
        out += static_cast<char>(byte);
      } else {  // not a byte-map code point (llama.cpp does the same)
        out += "[UNK_BYTE_0x";
        for (size_t i = start; i < pos; ++i) {
          static const char kHex[] = "0123456789abcdef";
          out += kHex[static_cast<uint8_t>(text[i]) >> 4];
          out += kHex[static_cast<uint8_t>(text[i]) & 15];
        }
        out.append(text, start, pos - start);
        out += ']';
      }
    }
    return out;
  }
  if ((attr & detail::kAttrByte) && st.kind == detail::VocabKind::kSpm) {
    // "<0xXX>"
    if (text.size() == 6 && text.compare(0, 3, "<0x") == 0) {
      return std::string(1, static_cast<char>(std::stoi(text.substr(3, 2), nullptr, 16)));
    }
    return {};
  }
  return {};  // UNUSED / undefined
}

std::string Tokenizer::detokenize(std::span<const int32_t> ids,
                                  const DetokenizeOptions& options) const {
  std::string out;
  bool strip = options.strip_leading_space && state_->add_space_prefix;
  for (int32_t id : ids) {
    std::string piece = token_piece(id, options.render_special);
    if (strip && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    strip = false;  // only the first token, even if its piece is empty
    out += piece;
  }
  if (options.clean_spaces && state_->clean_spaces) out = clean_spaces(out);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  return detokenize(ids, DetokenizeOptions{});
}

const std::string& Tokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= state_->n_tokens()) return state_->empty;
  return state_->text[id];
}

int32_t Tokenizer::find_token(std::string_view text) const { return state_->find(text); }

TokenType Tokenizer::token_type(int32_t id) const {
  if (id < 0 || id >= state_->n_tokens()) return TokenType::kUndefined;
  return state_->type[id];
}

bool Tokenizer::is_eog(int32_t id) const {
  return id >= 0 && id < state_->n_tokens() && state_->eog[id] != 0;
}

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < state_->n_tokens() && (state_->attr[id] & detail::kAttrControl) != 0;
}

int32_t Tokenizer::n_vocab() const { return state_->n_tokens(); }
int32_t Tokenizer::bos() const { return state_->bos; }
int32_t Tokenizer::eos() const { return state_->eos; }
int32_t Tokenizer::eot() const { return state_->eot; }
int32_t Tokenizer::unk() const { return state_->unk; }
int32_t Tokenizer::pad() const { return state_->pad; }
bool Tokenizer::add_bos() const { return state_->add_bos; }
bool Tokenizer::add_eos() const { return state_->add_eos; }
bool Tokenizer::add_space_prefix() const { return state_->add_space_prefix; }
const std::string& Tokenizer::bos_text() const { return token_text(state_->bos); }
const std::string& Tokenizer::eos_text() const { return token_text(state_->eos); }
const std::string& Tokenizer::chat_template() const { return state_->chat_template; }
const std::string& Tokenizer::model_name() const { return state_->model_name; }
const std::string& Tokenizer::pre_name() const { return state_->pre_name; }

}  // namespace kiln
