// SPM ("llama") encoder: score-driven merges over UTF-8 characters with byte
// fallback, as llama.cpp's llm_tokenizer_spm (tokenizers.md §5). The caller
// has already prepended the space prefix and replaced ' ' with U+2581.
#include <queue>

#include "tokenizer/tokenizer_state.h"
#include "tokenizer/unicode.h"

namespace kiln::detail {
namespace {

struct Symbol {
  int prev;
  int next;
  size_t offset;  // into the fragment text
  size_t n;       // bytes; 0 once merged into its left neighbour
};

struct Bigram {
  int left;
  int right;
  float score;
  size_t size;
};

// Highest score first; ties go to the leftmost pair.
struct BigramLess {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

class SpmSession {
 public:
  explicit SpmSession(const TokenizerState& st) : st_(st) {}

  // Merges within `text` only (one segment; see spm_encode).
  void encode(std::string_view text, std::vector<int32_t>& out) {
    text_ = text;
    symbols_.clear();
    for (size_t offs = 0; offs < text_.size();) {
      const size_t n =
          std::min(unicode::lead_len(static_cast<uint8_t>(text_[offs])), text_.size() - offs);
      const int index = static_cast<int>(symbols_.size());
      offs += n;
      symbols_.push_back({index - 1, offs == text_.size() ? -1 : index + 1, offs - n, n});
    }
    for (size_t i = 1; i < symbols_.size(); ++i) try_add_bigram(static_cast<int>(i) - 1, i);
    while (!queue_.empty()) {
      const Bigram bigram = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[bigram.left];
      Symbol& right = symbols_[bigram.right];
      if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) continue;  // stale
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = bigram.left;
      try_add_bigram(left.prev, bigram.left);
      try_add_bigram(bigram.left, left.next);
    }
    if (symbols_.empty()) return;
    for (int i = 0; i != -1; i = symbols_[i].next) emit(symbols_[i], out);
  }

 private:
  void try_add_bigram(int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols_[left];
    const Symbol& r = symbols_[right];
    const std::string_view joined = text_.substr(l.offset, l.n + r.n);
    const int32_t id = st_.find(joined);
    if (id < 0) return;
    queue_.push({left, right, st_.score[id], joined.size()});
  }

  // A symbol formed by merges is always a token; a single character missing
  // from the vocabulary falls back to byte tokens.
  void emit(const Symbol& sym, std::vector<int32_t>& out) const {
    const std::string_view piece = text_.substr(sym.offset, sym.n);
    const int32_t id = st_.find(piece);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
    for (char c : piece) {
      const int32_t byte_id = st_.byte_token[static_cast<uint8_t>(c)];
      // llama.cpp throws when neither <0xXX> nor the raw byte is a token; we
      // emit UNK (or drop the byte if there is no UNK either).
      if (byte_id >= 0) {
        out.push_back(byte_id);
      } else if (st_.unk >= 0) {
        out.push_back(st_.unk);
      }
    }
  }

  const TokenizerState& st_;
  std::string_view text_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramLess> queue_;
};

}  // namespace

// llama.cpp runs one merge queue over the whole fragment. A merge joins two
// adjacent symbols into a token, so it can only cross the boundary between a
// character X and a following U+2581 if some token contains X U+2581; where
// none does (X not in spm_joins_space), no merge ever crosses, and the merges
// on each side happen in the same relative order as in one queue (a pair's
// existence and priority depend only on its own symbols; ties go leftmost in
// both). So encoding the segments between such boundaries one after the
// other gives exactly llama.cpp's ids, with small, cache-resident queues.
void spm_encode(const TokenizerState& st, std::string_view text, std::vector<int32_t>& out) {
  constexpr std::string_view kSpace = "\xE2\x96\x81";
  SpmSession session(st);
  size_t segment = 0;
  size_t prev = 0, prev_n = 0;  // the previous character
  for (size_t offs = 0; offs < text.size();) {
    const size_t n =
        std::min(unicode::lead_len(static_cast<uint8_t>(text[offs])), text.size() - offs);
    if (n == 3 && offs > segment && text.compare(offs, 3, kSpace) == 0 &&
        unicode::valid_sequence_len(text, prev) == static_cast<int>(prev_n) &&
        !st.spm_joins_space.contains(text.substr(prev, prev_n))) {
      session.encode(text.substr(segment, offs - segment), out);
      segment = offs;
    }
    prev = offs;
    prev_n = n;
    offs += n;
  }
  session.encode(text.substr(segment), out);
}

}  // namespace kiln::detail
