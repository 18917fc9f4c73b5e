#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/check.h"

namespace kiln {
namespace {

// Descending by logit, ties to the lower id: the order every truncation uses,
// so results never depend on the sort algorithm.
bool better(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  if (a.first != b.first) return a.first > b.first;
  return a.second < b.second;
}

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Status check_range(const char* name, float v, float lo, float hi) {
  if (!(v >= lo && v <= hi)) {
    return Status::error(std::string(name) + " must be in [" + fmt(lo) + ", " + fmt(hi) +
                         "], got " + fmt(v));
  }
  return Status::ok();
}

// Sorted (descending, deterministic) top n of `values` as (value, id).
std::vector<std::pair<float, int32_t>> top_pairs(std::span<const float> values, int32_t n) {
  std::vector<std::pair<float, int32_t>> all;
  all.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    float v = std::isnan(values[i]) ? -std::numeric_limits<float>::infinity() : values[i];
    all.emplace_back(v, static_cast<int32_t>(i));
  }
  size_t k = std::min(static_cast<size_t>(std::max(n, 0)), all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), better);
  all.resize(k);
  return all;
}

}  // namespace

Status validate_sampling_params(const SamplingParams& p, int32_t n_vocab) {
  if (n_vocab <= 0) return Status::error("sampler: n_vocab must be > 0, got " + fmt(n_vocab));
  if (!std::isfinite(p.temperature) || p.temperature < 0) {
    return Status::error("temperature must be >= 0 (0 = greedy), got " + fmt(p.temperature));
  }
  if (p.top_k < 0) return Status::error("top_k must be >= 0 (0 = off), got " + fmt(p.top_k));
  KILN_TRY(check_range("top_p", p.top_p, 0.0f, 1.0f));
  KILN_TRY(check_range("min_p", p.min_p, 0.0f, 1.0f));
  if (!std::isfinite(p.repeat_penalty) || p.repeat_penalty <= 0) {
    return Status::error("repeat_penalty must be > 0 (1 = off), got " + fmt(p.repeat_penalty));
  }
  if (!std::isfinite(p.presence_penalty)) {
    return Status::error("presence_penalty must be finite, got " + fmt(p.presence_penalty));
  }
  if (!std::isfinite(p.frequency_penalty)) {
    return Status::error("frequency_penalty must be finite, got " + fmt(p.frequency_penalty));
  }
  if (p.penalty_last_n < -1) {
    return Status::error("penalty_last_n must be >= -1 (-1 = all, 0 = off), got " +
                         fmt(p.penalty_last_n));
  }
  for (const auto& [id, bias] : p.logit_bias) {
    if (id < 0 || id >= n_vocab) {
      return Status::error("logit_bias: token id " + std::to_string(id) +
                           " is outside the vocab [0, " + std::to_string(n_vocab) + ")");
    }
    if (std::isnan(bias) || bias == std::numeric_limits<float>::infinity()) {
      return Status::error("logit_bias for token " + std::to_string(id) +
                           " must be finite or -inf, got " + fmt(bias));
    }
  }
  if (p.n_logprobs < 0 || p.n_logprobs > kMaxLogprobs) {
    return Status::error("n_logprobs must be in [0, " + std::to_string(kMaxLogprobs) + "], got " +
                         std::to_string(p.n_logprobs));
  }
  return Status::ok();
}

Result<Sampler> Sampler::create(const SamplingParams& params, int32_t n_vocab) {
  KILN_TRY(validate_sampling_params(params, n_vocab));
  return Sampler(params, n_vocab);
}

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab), rng_(params.seed) {}

void Sampler::accept(int32_t token) {
  if (token < 0 || token >= n_vocab_) return;
  history_.push_back(token);
  // Keep the history bounded when only a window is ever read.
  const size_t window = static_cast<size_t>(params_.penalty_last_n);
  if (params_.penalty_last_n >= 0 && history_.size() > 2 * window + 256) {
    history_.erase(history_.begin(), history_.end() - static_cast<std::ptrdiff_t>(window));
  }
}

void Sampler::apply_bias_and_penalties() {
  for (const auto& [id, bias] : params_.logit_bias) work_[static_cast<size_t>(id)] += bias;

  const bool penalties = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                         params_.frequency_penalty != 0.0f;
  if (!penalties || params_.penalty_last_n == 0 || history_.empty()) return;
  size_t n = history_.size();
  if (params_.penalty_last_n > 0) n = std::min(n, static_cast<size_t>(params_.penalty_last_n));
  const auto first = history_.end() - static_cast<std::ptrdiff_t>(n);

  counts_.resize(static_cast<size_t>(n_vocab_), 0);
  for (auto it = first; it != history_.end(); ++it) ++counts_[static_cast<size_t>(*it)];
  for (auto it = first; it != history_.end(); ++it) {
    const auto id = static_cast<size_t>(*it);
    const int32_t count = counts_[id];
    if (count == 0) continue;  // already penalised (a repeated id)
    float& logit = work_[id];
    logit = logit <= 0 ? logit * params_.repeat_penalty : logit / params_.repeat_penalty;
    logit -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    counts_[id] = 0;  // also leaves counts_ all zero for the next call
  }
}

double Sampler::next_uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::sample_stochastic() {
  cand_.clear();
  for (int32_t i = 0; i < n_vocab_; ++i) {
    const float v = work_[static_cast<size_t>(i)];
    if (v > -std::numeric_limits<float>::infinity()) cand_.emplace_back(v, i);  // drops NaN too
  }
  if (cand_.empty()) return argmax(work_);

  // top-k (then the survivors sorted, which top-p needs anyway).
  size_t keep = cand_.size();
  if (params_.top_k > 0) keep = std::min(keep, static_cast<size_t>(params_.top_k));
  std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(keep), cand_.end(),
                    better);
  cand_.resize(keep);

  const double max_logit = cand_[0].first;
  // top-p on softmax of the survivors: the smallest prefix whose mass reaches p.
  if (params_.top_p < 1.0f) {
    double total = 0;
    for (const auto& c : cand_) total += std::exp(static_cast<double>(c.first) - max_logit);
    double cum = 0;
    size_t n = cand_.size();
    for (size_t i = 0; i < cand_.size(); ++i) {
      cum += std::exp(static_cast<double>(cand_[i].first) - max_logit) / total;
      if (cum >= params_.top_p) {
        n = i + 1;
        break;
      }
    }
    cand_.resize(n);
  }
  // min-p: p_i >= min_p * p_max  <=>  logit_i - logit_max >= log(min_p).
  if (params_.min_p > 0.0f) {
    const double threshold = max_logit + std::log(static_cast<double>(params_.min_p));
    size_t n = 1;
    while (n < cand_.size() && static_cast<double>(cand_[n].first) >= threshold) ++n;
    cand_.resize(n);
  }

  // Temperature, softmax, one draw.
  const double inv_temp = 1.0 / static_cast<double>(params_.temperature);
  double total = 0;
  for (const auto& c : cand_)
    total += std::exp((static_cast<double>(c.first) - max_logit) * inv_temp);
  const double target = next_uniform() * total;
  double cum = 0;
  for (const auto& c : cand_) {
    cum += std::exp((static_cast<double>(c.first) - max_logit) * inv_temp);
    if (target < cum) return c.second;
  }
  return cand_.back().second;  // rounding: target landed on the total
}

SampledToken Sampler::sample(std::span<const float> logits) {
  KILN_CHECK_MSG(logits.size() == static_cast<size_t>(n_vocab_), "logits size != n_vocab");
  work_.assign(logits.begin(), logits.end());
  apply_bias_and_penalties();

  SampledToken out;
  out.id = params_.temperature <= 0.0f ? argmax(work_) : sample_stochastic();
  if (params_.logprobs) {
    out.top_logprobs = top_logprobs(logits, params_.n_logprobs);
    double max_logit = -std::numeric_limits<double>::infinity();
    for (float v : logits) max_logit = std::max(max_logit, static_cast<double>(v));
    double total = 0;
    for (float v : logits) total += std::exp(static_cast<double>(v) - max_logit);
    out.logprob = static_cast<float>(static_cast<double>(logits[static_cast<size_t>(out.id)]) -
                                     max_logit - std::log(total));
  }
  return out;
}

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  float best_value = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] > best_value) {
      best_value = logits[i];
      best = static_cast<int32_t>(i);
    }
  }
  return best;
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t n) {
  std::vector<TokenLogprob> out;
  if (logits.empty()) return out;
  double max_logit = -std::numeric_limits<double>::infinity();
  for (float v : logits) max_logit = std::max(max_logit, static_cast<double>(v));
  double total = 0;
  for (float v : logits) total += std::exp(static_cast<double>(v) - max_logit);
  const double log_total = max_logit + std::log(total);
  for (const auto& [v, id] : top_pairs(logits, n)) {
    out.push_back({id, static_cast<float>(static_cast<double>(v) - log_total)});
  }
  return out;
}

std::vector<std::pair<int32_t, float>> top_logits(std::span<const float> logits, int32_t n) {
  std::vector<std::pair<int32_t, float>> out;
  for (const auto& [v, id] : top_pairs(logits, n)) out.emplace_back(id, v);
  return out;
}

}  // namespace kiln
