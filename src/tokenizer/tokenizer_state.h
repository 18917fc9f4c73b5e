// Internal: the immutable state behind a Tokenizer, and the SPM/BPE encoders
// that read it. Not part of the public API (include tokenizer.h instead).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace kiln::detail {

// llama.cpp token attributes (bit set).
enum TokenAttr : uint32_t {
  kAttrUnknown = 1u << 1,
  kAttrUnused = 1u << 2,
  kAttrNormal = 1u << 3,
  kAttrControl = 1u << 4,
  kAttrUserDefined = 1u << 5,
  kAttrByte = 1u << 6,
  kAttrLstrip = 1u << 8,
  kAttrRstrip = 1u << 9,
};

enum class VocabKind { kSpm, kBpe };

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct TokenizerState {
  VocabKind kind = VocabKind::kSpm;
  std::string model_name;  // "llama" | "gpt2"
  std::string pre_name;    // "default" when the key is missing
  // [n_tokens] each.
  std::vector<std::string> text;
  std::vector<float> score;
  std::vector<TokenType> type;
  std::vector<uint32_t> attr;  // TokenAttr bits
  std::vector<uint8_t> eog;    // 1 = end of generation
  StringMap token_to_id;
  // BPE merges: key "left\x00right" -> rank (first occurrence wins).
  StringMap merge_rank;
  // Tokens matched in text before the model tokenizer runs (CONTROL,
  // USER_DEFINED, UNKNOWN), longest text first.
  std::vector<int32_t> special_tokens;
  // SPM byte fallback: byte -> token id (<0xXX>, else the raw byte), -1 none.
  std::array<int32_t, 256> byte_token{};

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1, sep = -1;
  bool add_bos = false, add_eos = false, add_space_prefix = false;
  bool ignore_merges = false, clean_spaces = false;
  PreTokenizer pre;
  std::string chat_template;
  std::string empty;  // returned for out-of-range ids

  int32_t n_tokens() const { return static_cast<int32_t>(text.size()); }
  int32_t find(std::string_view s) const {
    auto it = token_to_id.find(s);
    return it == token_to_id.end() ? -1 : it->second;
  }
};

// Builds and validates the state (tokenizer_load.cpp).
Result<std::shared_ptr<const TokenizerState>> build_state(VocabData data);

// Model tokenizers for one raw fragment (no special tokens inside); append
// ids to `out`.
void spm_encode(const TokenizerState& st, std::string_view text, std::vector<int32_t>& out);
void bpe_encode(const TokenizerState& st, std::string_view text, std::vector<int32_t>& out);

}  // namespace kiln::detail
