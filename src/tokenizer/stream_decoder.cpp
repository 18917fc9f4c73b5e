// StreamDecoder: emit only complete UTF-8 while ids arrive (tokenizers.md §7.3).
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace kiln {
namespace {

constexpr const char* kReplacement = "\xEF\xBF\xBD";

// Moves the longest decodable prefix of `pending` to the result, replacing
// invalid bytes with U+FFFD. With `final`, an incomplete tail is replaced too.
std::string drain(std::string& pending, bool final) {
  std::string out;
  size_t pos = 0;
  while (pos < pending.size()) {
    const int len = unicode::valid_sequence_len(pending, pos);
    if (len > 0) {
      out.append(pending, pos, len);
      pos += len;
    } else if (len < 0 && !final) {
      break;  // valid so far; wait for the continuation bytes
    } else {
      out += kReplacement;
      pos += len < 0 ? pending.size() - pos : 1;
    }
  }
  pending.erase(0, pos);
  return out;
}

}  // namespace

std::string StreamDecoder::push(int32_t id) {
  std::string piece = tokenizer_->token_piece(id, render_special_);
  if (raw_) return piece;
  pending_ += piece;
  return drain(pending_, false);
}

std::string StreamDecoder::flush() {
  if (raw_) return {};
  return drain(pending_, true);
}

}  // namespace kiln
