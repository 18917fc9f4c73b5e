// Byte-level BPE ("gpt2") encoder, as llama.cpp's llm_tokenizer_bpe
// (tokenizers.md §6.2): pre-tokenize with the regex list, map each word's
// bytes through the GPT-2 byte map, merge by rank (lowest first, ties
// leftmost), emit the ids.
#include <queue>

#include "tokenizer/tokenizer_state.h"
#include "tokenizer/unicode.h"

namespace kiln::detail {
namespace {

struct Symbol {
  int prev;
  int next;
  size_t offset;  // into the mapped word
  size_t n;       // bytes; 0 once merged
  int32_t id;     // token id of the symbol's text, -1 if it is not a token
};

struct Bigram {
  int left;
  int right;
  int32_t rank;
  size_t size;
  int32_t result;  // token id of the merged text, -1 if none
};

// Lowest rank first; ties go to the leftmost pair.
struct BigramGreater {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

class BpeSession {
 public:
  explicit BpeSession(const TokenizerState& st) : st_(st) {}

  void encode_word(std::string_view raw_word, std::vector<int32_t>& out) {
    word_.clear();
    for (char c : raw_word) word_ += unicode::byte_to_unicode(static_cast<uint8_t>(c));
    if (st_.ignore_merges) {
      if (const int32_t id = st_.find(word_); id >= 0) {
        out.push_back(id);
        return;
      }
    }
    // Each raw byte maps to one code point, so the initial symbols are the
    // mapped bytes, one per raw byte.
    symbols_.clear();
    size_t offs = 0;
    for (size_t i = 0; i < raw_word.size(); ++i) {
      const uint8_t byte = static_cast<uint8_t>(raw_word[i]);
      const size_t n = unicode::byte_to_unicode(byte).size();
      const int index = static_cast<int>(i);
      const int next = i + 1 == raw_word.size() ? -1 : index + 1;
      symbols_.push_back({index - 1, next, offs, n, st_.byte_char_token[byte]});
      offs += n;
    }
    for (size_t i = 1; i < symbols_.size(); ++i) add_bigram(static_cast<int>(i) - 1, i);
    while (!queue_.empty()) {
      const Bigram bigram = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[bigram.left];
      Symbol& right = symbols_[bigram.right];
      // Symbols are contiguous in the word, so the pair's text is current iff
      // the lengths still add up.
      if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) continue;
      left.n += right.n;
      left.id = bigram.result;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = bigram.left;
      add_bigram(left.prev, bigram.left);
      add_bigram(bigram.left, left.next);
    }
    if (symbols_.empty()) return;
    for (int i = 0; i != -1; i = symbols_[i].next) emit(symbols_[i], out);
  }

 private:
  // Merges are looked up by text (llama.cpp); when both symbols are tokens
  // the id-keyed table gives the same answer without hashing strings.
  void add_bigram(int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols_[left];
    const Symbol& r = symbols_[right];
    if (l.id >= 0 && r.id >= 0) {
      auto it = st_.merge_by_ids.find(merge_key(l.id, r.id));
      if (it == st_.merge_by_ids.end()) return;
      queue_.push({left, right, it->second.rank, l.n + r.n, it->second.result});
      return;
    }
    key_.assign(word_, l.offset, l.n);
    key_ += '\0';
    key_.append(word_, r.offset, r.n);
    auto it = st_.merge_rank.find(key_);
    if (it == st_.merge_rank.end()) return;
    const int32_t result = st_.find(std::string_view(word_).substr(l.offset, l.n + r.n));
    queue_.push({left, right, it->second, l.n + r.n, result});
  }

  void emit(const Symbol& sym, std::vector<int32_t>& out) const {
    if (sym.id >= 0) {
      out.push_back(sym.id);
      return;
    }
    // Not in the vocabulary (incomplete byte-level vocab): llama.cpp looks up
    // each byte of the mapped text as a 1-byte token and drops misses.
    const std::string_view piece = std::string_view(word_).substr(sym.offset, sym.n);
    for (char c : piece) {
      if (const int32_t id = st_.find(std::string_view(&c, 1)); id >= 0) out.push_back(id);
    }
  }

  const TokenizerState& st_;
  std::string word_;
  std::string key_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramGreater> queue_;
};

}  // namespace

void bpe_encode(const TokenizerState& st, std::string_view text, std::vector<int32_t>& out) {
  // PCRE2 in UTF mode needs valid UTF-8; llama.cpp also turns each invalid
  // byte into U+FFFD before splitting.
  std::string clean;
  std::string_view valid = text;
  for (size_t pos = 0; pos < text.size();) {
    const int len = unicode::valid_sequence_len(text, pos);
    if (len <= 0) {
      clean = unicode::sanitize_utf8(text);
      valid = clean;
      break;
    }
    pos += len;
  }
  std::vector<std::string_view> words;
  st.pre.split(valid, words);
  BpeSession session(st);
  for (std::string_view word : words) session.encode_word(word, out);
}

}  // namespace kiln::detail
