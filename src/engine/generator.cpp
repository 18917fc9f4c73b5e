#include "engine/generator.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "engine/stop_matcher.h"
#include "engine/utf8_holdback.h"

namespace kiln {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kLength:
      return "length";
    case FinishReason::kEog:
      return "eog";
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kContextFull:
      return "context_full";
  }
  return "unknown";
}

Result<std::unique_ptr<Generator>> Generator::create(Model& model, const Tokenizer& tokenizer,
                                                     int32_t n_ctx) {
  if (n_ctx < 1) return Status::error("context size must be >= 1, got " + std::to_string(n_ctx));
  KILN_ASSIGN_OR_RETURN(auto cache, model.make_kv_cache(1, n_ctx));
  return std::unique_ptr<Generator>(new Generator(model, tokenizer, std::move(cache), n_ctx));
}

Generator::Generator(Model& model, const Tokenizer& tokenizer, std::unique_ptr<KvCache> cache,
                     int32_t n_ctx)
    : model_(&model), tokenizer_(&tokenizer), cache_(std::move(cache)), n_ctx_(n_ctx) {}

void Generator::reset() {
  cache_->clear();
  cached_.clear();
}

Status Generator::feed(std::span<const int32_t> tokens, int32_t n_batch) {
  std::vector<float> out;
  for (size_t begin = 0; begin < tokens.size(); begin += static_cast<size_t>(n_batch)) {
    const size_t end = std::min(tokens.size(), begin + static_cast<size_t>(n_batch));
    const auto pos0 = static_cast<int32_t>(cached_.size());
    batch_.clear();
    for (size_t i = begin; i < end; ++i) {
      batch_.add(tokens[i], pos0 + static_cast<int32_t>(i - begin), 0, i + 1 == tokens.size());
    }
    KILN_TRY(model_->forward(batch_, *cache_, out));
    cached_.insert(cached_.end(), tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                   tokens.begin() + static_cast<std::ptrdiff_t>(end));
  }
  logits_ = std::move(out);
  return Status::ok();
}

Result<GenerateStats> Generator::generate(std::span<const int32_t> prompt,
                                          const GenerateOptions& options, Sampler& sampler,
                                          const GenerateCallbacks& callbacks,
                                          const std::atomic<bool>* cancel) {
  if (prompt.empty()) return Status::error("the prompt has no tokens");
  if (prompt.size() > static_cast<size_t>(n_ctx_)) {
    return Status::error("the prompt has " + std::to_string(prompt.size()) +
                         " tokens, more than the context size " + std::to_string(n_ctx_));
  }
  if (options.n_batch < 1) return Status::error("n_batch must be >= 1");
  if (options.n_predict < -1) return Status::error("n_predict must be >= -1");

  GenerateStats stats;
  stats.n_prompt = static_cast<int32_t>(prompt.size());
  // Reuse the cached prefix; at least the last prompt token is run for its logits.
  size_t common = 0;
  while (common < cached_.size() && common < prompt.size() && cached_[common] == prompt[common]) {
    ++common;
  }
  common = std::min(common, prompt.size() - 1);
  cache_->truncate(0, static_cast<int32_t>(common));
  cached_.resize(common);
  stats.n_prompt_eval = static_cast<int32_t>(prompt.size() - common);

  auto start = std::chrono::steady_clock::now();
  if (Status s = feed(prompt.subspan(common), options.n_batch); !s.is_ok()) {
    reset();  // the cache may hold part of the prompt
    return s;
  }
  stats.prompt_seconds = seconds_since(start);

  sampler.reset_history();
  for (int32_t id : prompt) sampler.accept(id);

  StopMatcher stop(options.stop);
  Utf8Holdback utf8;
  auto emit = [&](std::string_view text) {
    if (!text.empty() && callbacks.on_text) callbacks.on_text(text);
  };
  start = std::chrono::steady_clock::now();
  stats.finish = FinishReason::kLength;
  for (int32_t step = 0;; ++step) {
    if (options.n_predict >= 0 && step >= options.n_predict) break;
    if (cancel != nullptr && cancel->load()) {
      stats.finish = FinishReason::kCancelled;
      break;
    }
    const SampledToken sampled = sampler.sample(logits_);
    const bool eog = tokenizer_->is_eog(sampled.id);
    const std::string piece = tokenizer_->token_piece(sampled.id);
    ++stats.n_generated;
    if (callbacks.on_token) {
      callbacks.on_token({step, sampled.id, eog, piece, logits_, &sampled});
    }
    if (eog && !options.ignore_eos) {
      stats.finish = FinishReason::kEog;
      break;
    }
    emit(utf8.push(stop.push(piece)));
    sampler.accept(sampled.id);
    if (stop.stopped()) {
      stats.finish = FinishReason::kStop;
      break;
    }
    if (options.n_predict >= 0 && step + 1 >= options.n_predict) break;
    if (cached_.size() >= static_cast<size_t>(n_ctx_)) {
      stats.finish = FinishReason::kContextFull;
      break;
    }
    const int32_t next[1] = {sampled.id};
    if (Status s = feed(next, 1); !s.is_ok()) {
      reset();
      return s;
    }
  }
  emit(utf8.push(stop.flush()));
  emit(utf8.flush());
  stats.gen_seconds = seconds_since(start);
  return stats;
}

}  // namespace kiln
