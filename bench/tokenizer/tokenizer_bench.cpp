// Tokenizer throughput: encode ~1 MB (1,048,576 bytes) of deterministic mixed
// text (mixed_text.h) in one call, one thread, with the real models'
// vocabularies (models/: SmolLM2 BPE, Gemma 3 SPM) and the llama.cpp test
// vocabularies (../shared/vocab: gpt-2 BPE, llama-spm SPM). Reports MB/s
// (bytes_per_second), tokens/s and seconds per MB; a missing file skips its case.
//
//   bench_tokenizer [--benchmark_filter=gemma] [--benchmark_format=json]
// Names: encode/<vocab>/<plain|special|cjk-only>: special = parse_special (chat
// prompts); cjk-only = 1 MB of CJK without spaces instead of the mixed text.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "gguf/gguf.h"
#include "mixed_text.h"
#include "tokenizer/tokenizer.h"

namespace kiln {
namespace {

constexpr size_t kTextBytes = 1 << 20;

const std::string& text_of(bool cjk) {
  static const std::string mixed = bench::make_mixed_text(kTextBytes);
  static const std::string cjk_only = bench::make_cjk_text(kTextBytes);
  return cjk ? cjk_only : mixed;
}

// Loaded once per process; nullptr if the file is missing or fails to load.
const Tokenizer* tokenizer(const std::string& path) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(path);
  if (it != cache.end()) return it->second.get();
  std::unique_ptr<Tokenizer> tok;
  if (std::filesystem::exists(path)) {
    auto file = gguf::GgufFile::open(path);
    if (file.is_ok()) {
      auto loaded = Tokenizer::from_gguf(*file);
      if (loaded.is_ok()) tok = std::make_unique<Tokenizer>(std::move(loaded).value());
    }
  }
  return cache.emplace(path, std::move(tok)).first->second.get();
}

void bm_encode(benchmark::State& state, const std::string& path, bool parse_special, bool cjk) {
  const Tokenizer* tok = tokenizer(path);
  if (tok == nullptr) {
    state.SkipWithError(("cannot load " + path).c_str());
    return;
  }
  const std::string& text = text_of(cjk);
  size_t n_tokens = 0;
  for (auto _ : state) {
    const std::vector<int32_t> ids = tok->encode(text, /*add_bos=*/false, parse_special);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  const double iters = static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens/s"] = benchmark::Counter(iters * n_tokens, benchmark::Counter::kIsRate);
  state.counters["s/MB"] = benchmark::Counter(
      iters * text.size() / 1e6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["tokens"] = static_cast<double>(n_tokens);
  state.counters["bytes/token"] = static_cast<double>(text.size()) / n_tokens;
}

void register_all() {
  const std::string models = KILN_MODELS_DIR;
  const std::string vocab = std::string(KILN_SHARED_DIR) + "/vocab";
  const std::pair<const char*, std::string> cases[] = {
      {"smollm2", models + "/SmolLM2-135M-Instruct.Q4_1.gguf"},
      {"gemma3", models + "/gemma-3-270m-q4_k_m.gguf"},
      {"gpt-2", vocab + "/ggml-vocab-gpt-2.gguf"},
      {"llama-spm", vocab + "/ggml-vocab-llama-spm.gguf"},
  };
  struct Variant {
    const char* name;
    bool special, cjk;
  };
  for (const auto& [name, file] : cases) {
    const std::string path = file;  // a structured binding cannot be captured before clang 16
    for (const Variant v : {Variant{"plain", false, false}, Variant{"special", true, false},
                            Variant{"cjk-only", false, true}}) {
      benchmark::RegisterBenchmark(
          ("encode/" + std::string(name) + "/" + v.name).c_str(),
          [path, v](benchmark::State& s) { bm_encode(s, path, v.special, v.cjk); })
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  kiln::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
