// Sampler: turns one step's logits into a token id, per request.
//
// Pipeline (the order llama.cpp's default chain uses, so results compare):
//   logit bias -> repetition / presence / frequency penalties (over the last
//   `penalty_last_n` accepted tokens) -> [temperature <= 0: argmax, done]
//   -> top-k -> top-p -> min-p (all on softmax(logits), before temperature)
//   -> temperature -> softmax -> one draw from the sampler's own RNG.
//
// Reproducibility: the RNG is std::mt19937_64 (its output sequence is fixed by
// the C++ standard) and the uniform draw is computed here from its raw bits,
// not by a std:: distribution (those differ between standard libraries), so a
// seed gives the same tokens on every platform for the same logits.
//
// Log-probabilities (when `logprobs` is set): log-softmax of the raw logits
// handed to sample(), i.e. the model's distribution before bias, penalties,
// truncation and temperature (what OpenAI's API reports).
//
// Ownership / thread-safety: a Sampler owns its buffers and RNG; one request's
// sampler is used by one thread at a time. sample() allocates nothing once its
// buffers have grown to n_vocab, except the top_logprobs vector.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kiln {

struct SamplingParams {
  float temperature = 0.8f;  // 0: greedy (argmax, ties to the lowest id)
  int32_t top_k = 40;        // keep the k most likely; 0 = off (all)
  float top_p = 0.95f;       // nucleus: smallest set with mass >= p; 1 = off
  float min_p = 0.05f;       // drop tokens with p < min_p * p_max; 0 = off
  // > 0; 1 = off. As llama.cpp: positive logits are divided, negative multiplied.
  float repeat_penalty = 1.0f;
  float presence_penalty = 0.0f;   // subtracted once from every token in the window
  float frequency_penalty = 0.0f;  // subtracted once per occurrence in the window
  int32_t penalty_last_n = 64;     // window in tokens; 0 = off, -1 = all accepted tokens
  // Added to a token's logit before everything else; -INFINITY bans the token.
  std::vector<std::pair<int32_t, float>> logit_bias;
  uint64_t seed = 0;
  bool logprobs = false;   // fill SampledToken::logprob and top_logprobs
  int32_t n_logprobs = 0;  // top-N entries when logprobs is set (0..kMaxLogprobs)
};

inline constexpr int32_t kMaxLogprobs = 100;

// Checks every field against n_vocab; the error names the field and the value.
Status validate_sampling_params(const SamplingParams& params, int32_t n_vocab);

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  int32_t id = 0;
  float logprob = 0.0f;                    // of `id` under the raw logits (0 unless logprobs)
  std::vector<TokenLogprob> top_logprobs;  // n_logprobs entries, descending
};

class Sampler {
 public:
  // Validates the params (see validate_sampling_params).
  static Result<Sampler> create(const SamplingParams& params, int32_t n_vocab);

  // logits: [n_vocab] floats of one step (a size mismatch is a caller bug).
  // Does not call accept(). When every token is banned (-inf) or NaN, returns
  // the lowest id whose logit is largest (possibly 0).
  SampledToken sample(std::span<const float> logits);

  // Appends a token to the penalty window (prompt tokens too, if the caller
  // wants them penalised, as llama.cpp does). Ids outside the vocab are ignored.
  void accept(int32_t token);
  void reset_history() { history_.clear(); }

  const SamplingParams& params() const { return params_; }

 private:
  Sampler(const SamplingParams& params, int32_t n_vocab);

  void apply_bias_and_penalties();
  int32_t sample_stochastic();
  double next_uniform();  // [0, 1) from 53 random bits

  SamplingParams params_;
  int32_t n_vocab_;
  std::mt19937_64 rng_;
  std::vector<int32_t> history_;                 // accepted tokens, oldest first
  std::vector<float> work_;                      // [n_vocab] adjusted logits
  std::vector<std::pair<float, int32_t>> cand_;  // surviving candidates (logit, id)
  std::vector<int32_t> counts_;                  // [n_vocab] occurrences in the window
};

// Index of the largest value (first one on ties); 0 for an empty span.
int32_t argmax(std::span<const float> logits);

// Log-softmax of `logits`, then the n most likely (descending; ties to the
// lower id). n is clamped to logits.size().
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t n);

// The n largest raw logits (descending; ties to the lower id) as (id, logit).
std::vector<std::pair<int32_t, float>> top_logits(std::span<const float> logits, int32_t n);

}  // namespace kiln
