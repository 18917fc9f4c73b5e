// BPE pre-tokenizer: the regex list of a `tokenizer.ggml.pre` value, applied
// as llama.cpp's unicode_regex_split does (tokenizers.md §6.3): each regex
// splits every current piece into its matches and the gaps between them.
// PCRE2 in UTF + UCP mode (JIT when available).
//
// Thread-safety: immutable after create(); split() may run concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln {

// Per-pre-type behaviour besides the regexes (llama_vocab::impl::load).
struct PreTokenizerInfo {
  std::vector<std::string> patterns;  // applied in order; empty for SPM
  bool ignore_merges = false;         // whole word is a token -> emit it
  bool clean_spaces = true;           // detokenizer clean-up
  bool add_bos = false;               // default of add_bos_token
};

// Looks up a `tokenizer.ggml.pre` value. Error names the value if unknown.
Result<PreTokenizerInfo> pre_tokenizer_info(std::string_view pre_name);

class PreTokenizer {
 public:
  PreTokenizer() = default;
  // Compiles the patterns; an error names the pattern and PCRE2's message.
  static Result<PreTokenizer> create(const std::vector<std::string>& patterns);

  // Splits valid UTF-8 `text` into words (views into `text`, in order,
  // covering it exactly). `out` is cleared first.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

 private:
  struct Regex;
  std::vector<std::shared_ptr<const Regex>> regexes_;
};

}  // namespace kiln
