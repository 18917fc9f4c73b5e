// Whole-model CPU throughput: llama-bench's pp<N> / tg<N> on a GGUF file, plus
// a requantizer that makes the smol135m test files from the F16 one (until
// `kiln quantize` lands) with llama-quantize's per-tensor recipes.
//
//   bench_cpu_model quantize IN.gguf OUT.gguf TYPE   TYPE: q4_0 q8_0 q4_k_m q5_0 q4_1 q5_1 f16
//   bench_cpu_model run MODEL.gguf [-t THREADS] [-p 128] [-n 64] [-r REPS]
//   bench_cpu_model check MODEL.gguf [-t THREADS]   greedy ids and logits, 1 vs THREADS
//
// run: like llama-bench, pp is one forward of N prompt tokens (logits of the
// last only) on an empty F16 KV cache, tg is N single-token forwards from
// position 0. Prints wall tokens/s (mean of REPS after one warm-up), the
// process CPU time per token (all threads) and the load average: on a shared
// machine wall time is noise, and CPU time / threads is the idle-machine
// estimate when the work splits evenly.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "model/model.h"
#include "quant/quant.h"

namespace kiln {
namespace {

// llama-quantize's use_more_bits(i, n).
bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// llama-quantize's fallback for rows that are not a multiple of 256.
GgmlType k_fallback(GgmlType t, int64_t cols) {
  if (cols % 256 == 0) return t;
  switch (t) {
    case GgmlType::Q4_K:
      return GgmlType::Q5_0;
    case GgmlType::Q5_K:
      return GgmlType::Q5_1;
    case GgmlType::Q6_K:
      return GgmlType::Q8_0;
    default:
      return t;
  }
}

// The type of a 2-D tensor under recipe `recipe` (llama.cpp llama_tensor_get_type
// for the ftypes used here; n_layer for the more_bits layers).
GgmlType recipe_type(const std::string& recipe, const std::string& name, int64_t cols,
                     int n_layer) {
  auto layer_of = [&] { return std::atoi(name.c_str() + 4); };  // "blk.N."
  if (recipe == "f16") return GgmlType::F16;
  if (name == "output.weight") return k_fallback(GgmlType::Q6_K, cols);
  if (recipe == "q4_0") return GgmlType::Q4_0;
  if (recipe == "q4_1") return GgmlType::Q4_1;
  if (recipe == "q5_0") return GgmlType::Q5_0;
  if (recipe == "q5_1") return GgmlType::Q5_1;
  if (recipe == "q8_0") return GgmlType::Q8_0;
  // q4_k_m
  GgmlType t = GgmlType::Q4_K;
  if (name.find("attn_v") != std::string::npos && more_bits(layer_of(), n_layer)) {
    t = GgmlType::Q6_K;
  }
  if (name.find("ffn_down") != std::string::npos && more_bits(layer_of(), n_layer)) {
    t = GgmlType::Q6_K;
  }
  return k_fallback(t, cols);
}

uint32_t file_type_of(const std::string& recipe) {
  if (recipe == "f16") return 1;
  if (recipe == "q4_0") return 2;
  if (recipe == "q4_1") return 3;
  if (recipe == "q8_0") return 7;
  if (recipe == "q5_0") return 8;
  if (recipe == "q5_1") return 9;
  return 15;  // q4_k_m
}

int quantize_main(const std::string& in, const std::string& out, const std::string& recipe) {
  auto file = gguf::GgufFile::open(in);
  if (!file.is_ok()) {
    std::fprintf(stderr, "%s\n", file.status().message().c_str());
    return 1;
  }
  const gguf::GgufFile& f = file.value();
  const int n_layer = static_cast<int>(f.get_u32("llama.block_count").value());
  gguf::GgufWriter w;
  for (const auto& kv : f.metadata()) w.set(kv.key, kv.value);
  w.set_u32("general.file_type", file_type_of(recipe));
  std::vector<float> row;
  for (const auto& t : f.tensors()) {
    const auto src = f.tensor_data(t);
    const int64_t cols = t.ne[0], rows = t.n_elements() / cols;
    GgmlType type = t.n_dims >= 2 ? recipe_type(recipe, t.name, cols, n_layer) : t.type;
    if (t.name == "token_embd.weight" && recipe == "q4_k_m") type = GgmlType::Q5_0;
    std::vector<uint8_t> dst(quant::row_bytes(type, cols) * rows);
    row.resize(static_cast<size_t>(cols));
    const size_t sb = quant::row_bytes(t.type, cols), db = quant::row_bytes(type, cols);
    for (int64_t r = 0; r < rows; ++r) {
      quant::dequantize_row(t.type, src.data() + r * sb, row.data(), cols);
      quant::quantize_row(type, row.data(), dst.data() + r * db, cols);
    }
    const int64_t ne[4] = {t.ne[0], t.ne[1], t.ne[2], t.ne[3]};
    const Status s = w.add_tensor(t.name, type, std::span(ne, static_cast<size_t>(t.n_dims)), dst);
    if (!s.is_ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 1;
    }
  }
  const Status s = w.write_file(out);
  if (!s.is_ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

double cpu_seconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Timing {
  std::vector<double> wall, cpu;  // seconds per repetition
};

void report(const char* what, int n, int threads, const Timing& t) {
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  const double w = mean(t.wall), c = mean(t.cpu);
  const double best = *std::min_element(t.wall.begin(), t.wall.end());
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf(
      "%s%d t%d: wall %.1f tok/s (best %.1f) | cpu %.3f ms/tok -> %.1f tok/s at cpu/threads | "
      "load %.2f\n",
      what, n, threads, n / w, n / best, 1e3 * c / n, n * threads / c, load[0]);
}

int run_main(const std::string& path, int threads, int n_pp, int n_tg, int reps) {
  auto loaded = Model::load(path, {.n_threads = threads, .kv_type = GgmlType::F16});
  if (!loaded.is_ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
    return 1;
  }
  Model& model = *loaded.value();
  auto cache = model.make_kv_cache(1, std::max(n_pp, n_tg) + 1).value();
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> tok(1, static_cast<int32_t>(model.config().n_vocab) - 1);
  std::vector<float> logits;
  Timing pp, tg;
  for (int rep = 0; rep <= reps; ++rep) {
    Batch batch;
    for (int i = 0; i < n_pp; ++i) batch.add(tok(rng), i, 0, i == n_pp - 1);
    cache->clear();
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_seconds();
    if (n_pp > 0 && !model.forward(batch, *cache, logits).is_ok()) return 1;
    if (rep > 0) {
      pp.wall.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      pp.cpu.push_back(cpu_seconds() - c0);
    }
    cache->clear();
    t0 = std::chrono::steady_clock::now();
    c0 = cpu_seconds();
    for (int i = 0; i < n_tg; ++i) {
      batch.clear();
      batch.add(tok(rng), i, 0, true);
      if (!model.forward(batch, *cache, logits).is_ok()) return 1;
    }
    if (rep > 0) {
      tg.wall.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      tg.cpu.push_back(cpu_seconds() - c0);
    }
  }
  if (n_pp > 0) report("pp", n_pp, threads, pp);
  if (n_tg > 0) report("tg", n_tg, threads, tg);
  return 0;
}

// Greedy decoding of a 32-token prompt for 32 steps; logits of every step.
std::vector<int32_t> greedy_run(Model& model, std::vector<float>* all_logits) {
  auto cache = model.make_kv_cache(1, 80).value();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> tok(1, static_cast<int32_t>(model.config().n_vocab) - 1);
  Batch batch;
  for (int i = 0; i < 32; ++i) batch.add(tok(rng), i, 0, i == 31);
  std::vector<int32_t> ids;
  std::vector<float> logits;
  for (int s = 0; s < 32; ++s) {
    if (!model.forward(batch, *cache, logits).is_ok()) break;
    all_logits->insert(all_logits->end(), logits.begin(), logits.end());
    ids.push_back(
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
    batch.clear();
    batch.add(ids.back(), 32 + s, 0, true);
  }
  return ids;
}

int check_main(const std::string& path, int threads) {
  std::vector<float> l1, ln;
  std::vector<int32_t> ids1, idsn;
  for (int t : {1, threads}) {
    auto loaded = Model::load(path, {.n_threads = t, .kv_type = GgmlType::F16});
    if (!loaded.is_ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
      return 1;
    }
    (t == 1 ? ids1 : idsn) = greedy_run(*loaded.value(), t == 1 ? &l1 : &ln);
  }
  float max_diff = 0;
  for (size_t i = 0; i < std::min(l1.size(), ln.size()); ++i) {
    max_diff = std::max(max_diff, std::fabs(l1[i] - ln[i]));
  }
  const bool same_ids = ids1 == idsn;
  const bool same_bits =
      l1.size() == ln.size() && std::memcmp(l1.data(), ln.data(), l1.size() * 4) == 0;
  std::printf("1 vs %d threads: greedy ids %s (%zu steps), logits %s (max |diff| %g)\n", threads,
              same_ids ? "identical" : "DIFFER", ids1.size(),
              same_bits ? "bit-identical" : "differ", max_diff);
  return same_ids ? 0 : 1;
}

int usage() {
  std::fprintf(
      stderr,
      "usage: bench_cpu_model quantize IN OUT TYPE\n"
      "       bench_cpu_model run MODEL [-t threads] [-p n_prompt] [-n n_gen] [-r reps]\n");
  return 2;
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) {
  if (argc < 3) return kiln::usage();
  const std::string cmd = argv[1];
  if (cmd == "quantize") {
    if (argc != 5) return kiln::usage();
    return kiln::quantize_main(argv[2], argv[3], argv[4]);
  }
  if (cmd != "run" && cmd != "check") return kiln::usage();
  int threads = 2, pp = 128, tg = 64, reps = 3;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (opt == "-t") {
      threads = v;
    } else if (opt == "-p") {
      pp = v;
    } else if (opt == "-n") {
      tg = v;
    } else if (opt == "-r") {
      reps = std::max(1, v);
    } else {
      return kiln::usage();
    }
  }
  if (cmd == "check") return kiln::check_main(argv[2], threads);
  return kiln::run_main(argv[2], threads, pp, tg, reps);
}
