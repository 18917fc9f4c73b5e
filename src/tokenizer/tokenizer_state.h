// Internal: the immutable state behind a Tokenizer, and the SPM/BPE encoders
// that read it. Not part of the public API (include tokenizer.h instead).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
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
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// Byte trie over the texts of TokenizerState::special_tokens, to find which
// of them occur in a text in one pass (tokenizer.cpp partition()).
struct SpecialTrie {
  std::array<int32_t, 256> root{};              // first byte -> node, -1 none
  std::unordered_map<uint64_t, int32_t> edges;  // (node << 8 | byte) -> node
  std::vector<int32_t> rank;  // node -> index into special_tokens, -1 if no token ends here

  void build(const std::vector<std::string>& texts, const std::vector<int32_t>& special_tokens);
  // Appends the special_tokens index of every token that occurs in `text`
  // (with repeats, unordered).
  void find_all(std::string_view text, std::vector<int32_t>& ranks) const;
};

struct MergeInfo {
  int32_t rank;
  int32_t result;
};
inline uint64_t merge_key(int32_t left, int32_t right) {
  return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
}

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
  // The same merges keyed by token ids, for the (usual) merges whose two
  // sides are tokens: merge_key(left, right) -> rank and the id of the merged
  // text (-1 if it is not a token). First occurrence wins, as in merge_rank.
  std::unordered_map<uint64_t, MergeInfo> merge_by_ids;
  // BPE: byte -> id of the token whose text is the byte's GPT-2 map code
  // point (byte_to_unicode), -1 if none.
  std::array<int32_t, 256> byte_char_token{};
  // Tokens matched in text before the model tokenizer runs (CONTROL,
  // USER_DEFINED, UNKNOWN), longest text first.
  std::vector<int32_t> special_tokens;
  SpecialTrie special_trie;
  // SPM byte fallback: byte -> token id (<0xXX>, else the raw byte), -1 none.
  std::array<int32_t, 256> byte_token{};
  // SPM: the characters X (UTF-8) such that some token's text contains X
  // followed by U+2581. A merge can only join X and a following U+2581 if X
  // is in this set, so the encoder may process the text between the other
  // U+2581 boundaries independently (spm.cpp). Usually just {U+2581}.
  StringSet spm_joins_space;

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
