// Generator: one sequence, one conversation: prompt in, streamed text out.
// Drives Model::forward over its own KV cache (sequence 0), samples with the
// caller's Sampler, applies stop strings and EOG handling, and streams text
// through a StopMatcher and a Utf8Holdback, so the concatenated text is
// exactly the generated tokens' bytes up to any stop string.
//
// The cache keeps the tokens of the previous call: a new prompt that starts
// with them (the next turn of a chat) only runs the new suffix.
//
// Ownership: borrows the Model and Tokenizer (they must outlive it), owns the
// cache. Thread-safety: none; one thread drives it. `cancel` may be set from
// any thread (a signal handler included: it is only read).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/sampler.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace kiln {

enum class FinishReason { kLength, kEog, kStop, kCancelled, kContextFull };
std::string_view finish_reason_name(FinishReason reason);  // "length", "eog", ...

struct GenerateOptions {
  int32_t n_predict = -1;  // max new tokens; -1 = until EOG, a stop string or a full context
  // EOG tokens do not end generation: they are emitted (their text is empty
  // unless rendered) and fed back like any token, as the golden data does.
  // (llama.cpp's --ignore-eos bans them instead.)
  bool ignore_eos = false;
  std::vector<std::string> stop;  // stop strings (bytes); the match is not emitted
  int32_t n_batch = 512;          // prompt tokens per forward call, >= 1
};

// One generated token, as the callback sees it.
struct TokenEvent {
  int32_t step = 0;               // 0-based index among the generated tokens
  int32_t id = 0;                 // the sampled token
  bool eog = false;               // an end-of-generation token
  std::string_view piece;         // its raw bytes (token_piece)
  std::span<const float> logits;  // [n_vocab] the logits it was sampled from
  const SampledToken* sampled = nullptr;
};

struct GenerateCallbacks {
  std::function<void(std::string_view)> on_text;    // bytes ready to write (may be empty)
  std::function<void(const TokenEvent&)> on_token;  // optional, per token
};

struct GenerateStats {
  int32_t n_prompt = 0;       // prompt tokens
  int32_t n_prompt_eval = 0;  // of which run through the model (the rest were cached)
  int32_t n_generated = 0;    // sampled tokens (EOG included when it ended generation)
  double prompt_seconds = 0;
  double gen_seconds = 0;
  FinishReason finish = FinishReason::kLength;
};

class Generator {
 public:
  // A cache of n_ctx positions for one sequence (n_ctx >= 1).
  static Result<std::unique_ptr<Generator>> create(Model& model, const Tokenizer& tokenizer,
                                                   int32_t n_ctx);

  // Runs `prompt` (non-empty, at most n_ctx tokens), then samples until a
  // finish condition. The sampler's penalty history is reset to the prompt.
  // Errors: empty or too long prompt, bad options, a forward error.
  Result<GenerateStats> generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                                 Sampler& sampler, const GenerateCallbacks& callbacks,
                                 const std::atomic<bool>* cancel = nullptr);

  void reset();  // forget the cached conversation
  int32_t n_ctx() const { return n_ctx_; }
  const std::vector<int32_t>& cached_tokens() const { return cached_; }

 private:
  Generator(Model& model, const Tokenizer& tokenizer, std::unique_ptr<KvCache> cache,
            int32_t n_ctx);
  // Appends `tokens` (not aliasing cached_) at the next positions, in chunks
  // of n_batch; logits_ gets the last token's logits.
  Status feed(std::span<const int32_t> tokens, int32_t n_batch);

  Model* model_;
  const Tokenizer* tokenizer_;
  std::unique_ptr<KvCache> cache_;
  int32_t n_ctx_;
  std::vector<int32_t> cached_;  // tokens in the cache, positions 0..
  std::vector<float> logits_;    // [n_vocab] after feed()
  Batch batch_;
};

}  // namespace kiln
