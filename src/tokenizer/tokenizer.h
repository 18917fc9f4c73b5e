// Tokenizer: text <-> token ids exactly as llama.cpp does it for a GGUF
// vocabulary (../shared/docs/tokenizers.md). Supports the "llama" (SPM) and
// "gpt2" (byte-level BPE) models; docs/tokenizer.md explains the algorithms.
//
// Ownership: a Tokenizer owns its vocabulary (copied out of the GGUF file, so
// the file may be closed afterwards). Copies share the immutable state.
// Thread-safety: immutable after construction; every const method is safe to
// call from any number of threads at once. A StreamDecoder is per-stream state
// (one per request), not thread-safe, and borrows its Tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::gguf {
class GgufFile;
}

namespace kiln {

// `tokenizer.ggml.token_type` values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Everything the tokenizer needs, as plain data: what a GGUF file's
// `tokenizer.*` keys hold (absent keys are nullopt / empty). Tests build
// vocabularies in memory with it; from_gguf fills it from a file.
struct VocabData {
  std::string model;               // tokenizer.ggml.model: "llama" | "gpt2"
  std::optional<std::string> pre;  // tokenizer.ggml.pre (BPE regex set)
  std::string general_name;        // general.name (phi-3 quirk)
  std::vector<std::string> tokens;
  std::vector<float> scores;         // empty = all 0
  std::vector<int32_t> token_types;  // empty = all NORMAL
  std::vector<std::string> merges;   // "A B", rank = index
  // Special ids as stored (u32; validated against n_tokens).
  std::optional<int64_t> bos, eos, eot, eom, unk, sep, pad, cls, mask;
  std::optional<int64_t> fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
  std::optional<std::string> chat_template;  // tokenizer.chat_template
};

// Options of Tokenizer::detokenize (llama.cpp's llama_detokenize).
struct DetokenizeOptions {
  bool render_special = false;  // CONTROL/UNKNOWN tokens give their text
  // SPM with add_space_prefix: drop one leading space of the first piece.
  bool strip_leading_space = true;
  // BPE vocabularies whose pre type enables it: HF clean_up_tokenization_spaces.
  bool clean_spaces = false;
};

namespace detail {
struct TokenizerState;
}

class Tokenizer {
 public:
  // Reads `tokenizer.ggml.*`, `tokenizer.chat_template` and `general.name`.
  // Errors name the key: unknown model or pre-tokenizer name, arrays of
  // different lengths, missing tokens/merges, ... .
  static Result<Tokenizer> from_gguf(const gguf::GgufFile& file);
  // Same validation, from in-memory data.
  static Result<Tokenizer> from_data(VocabData data);

  // Text -> ids. `add_bos`: add BOS (and EOS) when the vocabulary's
  // add_bos/add_eos flags say so (llama.cpp add_special). `parse_special`:
  // CONTROL/UNKNOWN token texts in `text` become their ids; USER_DEFINED
  // tokens are always matched. Text is taken as bytes; invalid UTF-8 is
  // tokenized byte-wise (SPM byte fallback / BPE byte map), never an error.
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;

  // The bytes one token contributes to decoded text (llama_token_to_piece,
  // lstrip 0): SPM `▁` -> space, BPE byte map undone, `<0xXX>` -> one raw
  // byte (maybe an incomplete UTF-8 sequence). CONTROL/UNKNOWN give "" unless
  // render_special. Out-of-range id -> "".
  std::string token_piece(int32_t id, bool render_special = false) const;
  // The vocabulary text of a token ("<s>", "▁Hello", "Ġworld"); "" if out of range.
  const std::string& token_text(int32_t id) const;
  // Id of a token with exactly this vocabulary text, or -1.
  int32_t find_token(std::string_view text) const;
  TokenType token_type(int32_t id) const;

  // Concatenated pieces with the default options: specials not rendered,
  // one leading space stripped for SPM-with-prefix, no space clean-up. For
  // text the reference round-trips, decode(encode(s, false, false)) == s.
  // The result is raw bytes (may be invalid UTF-8 if the ids are).
  std::string decode(std::span<const int32_t> ids) const;
  std::string detokenize(std::span<const int32_t> ids, const DetokenizeOptions& options) const;

  // End of generation: eos, eot, eom, fim_pad/rep/sep and tokens such as
  // <|im_end|>, <end_of_turn> (tokenizers.md §2).
  bool is_eog(int32_t id) const;
  bool is_control(int32_t id) const;

  int32_t n_vocab() const;
  int32_t bos() const;  // -1 if none
  int32_t eos() const;  // -1 if none
  int32_t eot() const;  // -1 if none
  int32_t unk() const;  // -1 if none
  int32_t pad() const;  // -1 if none
  bool add_bos() const;
  bool add_eos() const;
  bool add_space_prefix() const;
  // Texts of bos/eos for chat templates ("" if the id is absent).
  const std::string& bos_text() const;
  const std::string& eos_text() const;
  // tokenizer.chat_template, or "" if the file has none.
  const std::string& chat_template() const;
  const std::string& model_name() const;  // "llama" | "gpt2"
  const std::string& pre_name() const;    // BPE pre-tokenizer ("default" if missing)

 private:
  explicit Tokenizer(std::shared_ptr<const detail::TokenizerState> state)
      : state_(std::move(state)) {}
  std::shared_ptr<const detail::TokenizerState> state_;
};

// Incremental detokenizer for streaming generation (tokenizers.md §7.3).
// push() returns only complete UTF-8: an incomplete trailing sequence (at most
// 3 bytes, e.g. a character split over byte tokens) is held back until its
// continuation bytes arrive; bytes that can never become valid UTF-8 are
// replaced by U+FFFD. No leading-space stripping: generated text continues
// the prompt. In raw mode push() returns the piece bytes exactly as they
// decode (llama.cpp writes raw bytes to stdout) and flush() returns "".
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool raw = false, bool render_special = false)
      : tokenizer_(&tokenizer), raw_(raw), render_special_(render_special) {}

  std::string push(int32_t id);
  // End of stream: whatever is held back, invalid bytes as U+FFFD.
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool raw_;
  bool render_special_;
  std::string pending_;  // bytes not yet emitted (< 4, an incomplete sequence)
};

}  // namespace kiln
