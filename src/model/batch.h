// Batch: the tokens one forward pass processes, possibly of several sequences.
//
// Entry i is token tokens[i] of sequence seq_ids[i] at position positions[i].
// Within one sequence the entries of a batch have consecutive positions in
// batch order, starting at or below that sequence's current cache length
// (KvCache::seq_length): re-feeding position p drops the cached positions >= p.
// want_logits[i] asks for the logits of entry i; Model::forward returns them in
// batch order, one row of n_vocab floats per wanted entry.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln {

struct Batch {
  std::vector<int32_t> tokens;     // [n] token ids, 0 <= id < n_vocab
  std::vector<int32_t> positions;  // [n] positions, 0 <= pos < cache n_ctx
  std::vector<int32_t> seq_ids;    // [n] sequence ids, 0 <= seq < cache n_seq_max
  std::vector<bool> want_logits;   // [n]

  size_t size() const { return tokens.size(); }
  bool empty() const { return tokens.empty(); }
  void clear() {
    tokens.clear();
    positions.clear();
    seq_ids.clear();
    want_logits.clear();
  }
  void add(int32_t token, int32_t pos, int32_t seq, bool logits) {
    tokens.push_back(token);
    positions.push_back(pos);
    seq_ids.push_back(seq);
    want_logits.push_back(logits);
  }
  size_t n_wanted() const {
    size_t n = 0;
    for (bool w : want_logits) n += w ? 1 : 0;
    return n;
  }
};

}  // namespace kiln
