// `kiln bench -m MODEL [-p 512] [-n 128] [-t THREADS] [-r 5] [--json]`:
// prompt-processing and generation speed of one model on the CPU, the way
// llama-bench measures them: ppN = one forward pass over N prompt tokens into
// an empty cache; tgN = N single-token forward passes from an empty cache.
// Token ids are pseudo-random (fixed seed). Each test runs once to warm up,
// then `reps` times; the median is reported with the spread. GB/s = the weight
// bytes one generated token reads (every tensor, but only one row of the
// embedding table unless it doubles as the output head) x tg tokens/s.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/ggml_type.h"

namespace kiln::cli {
namespace {

struct BenchOptions {
  std::string model;
  int32_t n_prompt = 512;
  int32_t n_gen = 128;
  int n_threads = default_threads();
  int reps = 5;
  std::string kv_type = "f16";
  bool json = false;
};

struct Samples {
  int32_t n_tokens = 0;
  std::vector<double> tokens_per_s;  // one per repetition
  double median() const {
    std::vector<double> v = tokens_per_s;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n == 0 ? 0 : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  double stddev() const {
    if (tokens_per_s.size() < 2) return 0;
    double mean = 0, sq = 0;
    for (double x : tokens_per_s) mean += x;
    mean /= static_cast<double>(tokens_per_s.size());
    for (double x : tokens_per_s) sq += (x - mean) * (x - mean);
    return std::sqrt(sq / static_cast<double>(tokens_per_s.size() - 1));
  }
};

struct WeightStats {
  uint64_t file_bytes = 0;   // all tensors
  uint64_t token_bytes = 0;  // what one generated token reads
  int64_t n_params = 0;
  std::string main_type;  // the type holding most bytes
};

WeightStats weight_stats(const gguf::GgufFile& file) {
  WeightStats s;
  std::vector<std::pair<uint64_t, uint32_t>> by_type;
  const bool has_output = file.find_tensor("output.weight") != nullptr;
  for (const gguf::TensorInfo& t : file.tensors()) {
    s.file_bytes += t.n_bytes;
    s.n_params += t.n_elements();
    const bool embedding_lookup = t.name == "token_embd.weight" && has_output;
    s.token_bytes += embedding_lookup ? t.n_bytes / static_cast<uint64_t>(t.ne[1]) : t.n_bytes;
    const auto id = static_cast<uint32_t>(t.type);
    auto it =
        std::find_if(by_type.begin(), by_type.end(), [&](const auto& e) { return e.second == id; });
    if (it == by_type.end()) {
      by_type.emplace_back(t.n_bytes, id);
    } else {
      it->first += t.n_bytes;
    }
  }
  if (!by_type.empty()) {
    s.main_type = ggml_type_name(std::max_element(by_type.begin(), by_type.end())->second);
  }
  return s;
}

using Clock = std::chrono::steady_clock;

// One forward pass over `tokens` at positions [0, n) of an empty cache.
Result<double> time_prompt(Model& model, KvCache& cache, const std::vector<int32_t>& tokens) {
  cache.clear();
  Batch batch;
  for (size_t i = 0; i < tokens.size(); ++i) {
    batch.add(tokens[i], static_cast<int32_t>(i), 0, i + 1 == tokens.size());
  }
  std::vector<float> logits;
  const auto start = Clock::now();
  KILN_TRY(model.forward(batch, cache, logits));
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// tokens.size() single-token forward passes from an empty cache.
Result<double> time_generation(Model& model, KvCache& cache, const std::vector<int32_t>& tokens) {
  cache.clear();
  Batch batch;
  std::vector<float> logits;
  const auto start = Clock::now();
  for (size_t i = 0; i < tokens.size(); ++i) {
    batch.clear();
    batch.add(tokens[i], static_cast<int32_t>(i), 0, true);
    KILN_TRY(model.forward(batch, cache, logits));
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

template <typename TimeFn>
Result<Samples> measure(Model& model, KvCache& cache, const std::vector<int32_t>& tokens, int reps,
                        TimeFn time_fn) {
  Samples s;
  s.n_tokens = static_cast<int32_t>(tokens.size());
  if (tokens.empty()) return s;
  KILN_TRY(time_fn(model, cache, tokens).status());  // warm-up
  for (int r = 0; r < reps; ++r) {
    KILN_ASSIGN_OR_RETURN(double seconds, time_fn(model, cache, tokens));
    s.tokens_per_s.push_back(static_cast<double>(tokens.size()) / std::max(seconds, 1e-9));
  }
  return s;
}

nlohmann::json samples_json(const Samples& s) {
  return {{"n_tokens", s.n_tokens},
          {"tokens_per_s", s.median()},
          {"stddev", s.stddev()},
          {"samples", s.tokens_per_s}};
}

int run_bench(const BenchOptions& o) {
  if (o.n_prompt < 0 || o.n_gen < 0 || o.n_prompt + o.n_gen == 0) {
    return fail("-p and -n must be >= 0 and not both 0");
  }
  if (o.reps < 1) return fail("-r must be >= 1, got " + std::to_string(o.reps));
  if (o.n_threads < 1 || o.n_threads > 1024) return fail("-t must be in [1, 1024]");
  auto kv_type = parse_kv_type(o.kv_type);
  if (!kv_type.is_ok()) return fail(kv_type.status().message());
  LoadOptions load;
  load.n_threads = o.n_threads;
  load.kv_type = *kv_type;
  auto loaded = load_model(o.model, load);
  if (!loaded.is_ok()) return fail(loaded.status().message());
  Model& model = *loaded->model;
  auto cache = model.make_kv_cache(1, std::max(o.n_prompt, o.n_gen));
  if (!cache.is_ok()) return fail(cache.status().message());

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(model.config().n_vocab) - 1);
  std::vector<int32_t> prompt(static_cast<size_t>(o.n_prompt)), gen(static_cast<size_t>(o.n_gen));
  for (int32_t& t : prompt) t = pick(rng);
  for (int32_t& t : gen) t = pick(rng);

  auto pp = measure(model, **cache, prompt, o.reps, time_prompt);
  if (!pp.is_ok()) return fail(pp.status().message());
  auto tg = measure(model, **cache, gen, o.reps, time_generation);
  if (!tg.is_ok()) return fail(tg.status().message());

  const WeightStats w = weight_stats(model.file());
  const double gbps = tg->median() * static_cast<double>(w.token_bytes) / 1e9;
  if (o.json) {
    nlohmann::json out = {{"model", o.model},
                          {"arch", model.config().arch},
                          {"type", w.main_type},
                          {"n_params", w.n_params},
                          {"model_bytes", w.file_bytes},
                          {"weight_bytes_per_token", w.token_bytes},
                          {"threads", o.n_threads},
                          {"reps", o.reps},
                          {"pp", samples_json(*pp)},
                          {"tg", samples_json(*tg)},
                          {"tg_weight_gb_per_s", gbps}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("model %s: %s, %.1f M params, %.1f MiB, mostly %s; %d threads, median of %d\n",
              o.model.c_str(), model.config().arch.c_str(), static_cast<double>(w.n_params) / 1e6,
              static_cast<double>(w.file_bytes) / (1 << 20), w.main_type.c_str(), o.n_threads,
              o.reps);
  std::printf("%-8s %12s %10s\n", "test", "tokens/s", "stddev");
  if (pp->n_tokens > 0) {
    std::printf("pp%-6d %12.1f %10.1f\n", pp->n_tokens, pp->median(), pp->stddev());
  }
  if (tg->n_tokens > 0) {
    std::printf("tg%-6d %12.1f %10.1f   %.2f GB/s of weights (%.1f MB per token)\n", tg->n_tokens,
                tg->median(), tg->stddev(), gbps, static_cast<double>(w.token_bytes) / 1e6);
  }
  return 0;
}

}  // namespace

CLI::App* add_bench_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench", "measure prompt processing (ppN) and generation (tgN) speed, tokens/s");
  sub->add_option("-m,--model", o->model, "GGUF model file")->required();
  sub->add_option("-p,--n-prompt", o->n_prompt, "prompt tokens in one forward pass; 0 = skip")
      ->capture_default_str();
  sub->add_option("-n,--n-gen", o->n_gen, "tokens generated one at a time; 0 = skip")
      ->capture_default_str();
  sub->add_option("-t,--threads", o->n_threads, "CPU threads")->capture_default_str();
  sub->add_option("-r,--repetitions", o->reps, "timed runs per test (after one warm-up)")
      ->capture_default_str();
  sub->add_option("--kv-type", o->kv_type, "KV cache storage: f16 or f32")->capture_default_str();
  sub->add_flag("--json", o->json, "print the results as JSON");
  run = [o]() { return run_bench(*o); };
  return sub;
}

}  // namespace kiln::cli
