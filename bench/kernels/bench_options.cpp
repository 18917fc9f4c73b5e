// kernel_bench's command line (bench_options.h).
#include "bench_options.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <sstream>

#include "backend/cuda/kernels.h"

namespace kiln::bench {
namespace {

const std::vector<Shape> kLlama = {{"llama7b", 4096, 4096},
                                   {"llama7b", 11008, 4096},
                                   {"llama7b", 4096, 11008},
                                   {"llama7b", 32000, 4096}};
const std::vector<Shape> kTiny = {{"tinyllama", 2048, 2048},
                                  {"tinyllama", 256, 2048},
                                  {"tinyllama", 5632, 2048},
                                  {"tinyllama", 2048, 5632},
                                  {"tinyllama", 32000, 2048}};
const std::vector<GgmlType> kAllTypes = {
    GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
    GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

// The output types of --y and their names.
struct YName {
  const char* name;
  cuda::ActType type;
};
constexpr YName kYNames[] = {
    {"f32", cuda::ActType::F32}, {"f16", cuda::ActType::F16}, {"bf16", cuda::ActType::BF16}};

// Type names compare case-insensitively on the command line (q4_k = q4_K).
bool same_name(const std::string& a, const std::string& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

// The comma-separated integers of a flag's value, each in [lo, hi]; exits 1
// with the flag's name on one that is not.
std::vector<long long> int_list(const char* flag, const std::string& v, long long lo,
                                long long hi) {
  std::vector<long long> out;
  for (const auto& n : split(v)) {
    const long long x = std::atoll(n.c_str());
    if (x < lo || x > hi) {
      std::fprintf(stderr, "%s: %lld..%lld, not '%s'\n", flag, lo, hi, n.c_str());
      std::exit(1);
    }
    out.push_back(x);
  }
  return out;
}

constexpr const char* kUsage =
    "usage: kernel_bench [--quick] [--json F] [--types a,b] [--shapes "
    "llama7b|tinyllama|all|RxK,...] [--cols 1,2] [--variants 0,1] [--floor] "
    "[--ablate 1,2] [--timeline] [--x f32,q8] [--y f32|f16|bf16]\n";

constexpr const char* kHelp =
    "Correctness and speed of the CUDA matmul kernels (y = W x) on this GPU.\n"
    "For every shape, type and column count: the decode route (1-64 columns) and the\n"
    "GEMM route (from 16 columns) against the CPU reference, then CUDA-graph timing\n"
    "(weights rotated past L2), GB/s and % of the measured device-to-device copy\n"
    "bandwidth, TFLOP/s and % of cuBLAS dense BF16 on the same shape.\n\n"
    "  --shapes S     llama7b, tinyllama, all (default), or RxK,... (K a multiple of 256)\n"
    "  --types T      f16,bf16,q8_0,q4_0,q4_1,q5_0,q5_1,q2_K,q3_K,q4_K,q5_K,q6_K (default all)\n"
    "  --cols C       column counts (default 1,2,4,8,16,64,512; 1..4096)\n"
    "  --quick        columns 1,8,16,512\n"
    "  --x f32,q8     decode with x as given (F32) and/or quantized beforehand (Q8)\n"
    "  --y T          the output type, f32 (default), f16 or bf16 (tolerances widened by\n"
    "                 its rounding, half an ulp)\n"
    "  --variants V   at 1-8 columns, every listed decode kernel choice (0 = automatic;\n"
    "                 src/backend/cuda/choice.h and kernels.h)\n"
    "  --floor        at 1 column, the dependent-read floors of the weight bytes, and the\n"
    "                 copy rate per SM on 1/4 to all of the SMs\n"
    "  --ablate B     at 1 column, the staged kernel with parts left out (1 dots, 2 x fill,\n"
    "                 4 wait; timing only)\n"
    "  --timeline     at 1 column, the staged kernel's per-block step times in two\n"
    "                 consecutive launches (the second on the first's clock)\n"
    "  --json F       results as JSON (default kernel_bench.json; bench/kernels/perf_table.py)\n"
    "Exit status: 0 when every check passed, 1 on a failed check or bad arguments,\n"
    "2 on a CUDA or library error.\n";

}  // namespace

Options parse(int argc, char** argv) {
  Options o;
  o.types = kAllTypes;
  std::string shapes = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_val = i + 1 < argc;
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--json" && has_val) {
      o.json_path = argv[++i];
    } else if (a == "--shapes" && has_val) {
      shapes = argv[++i];
    } else if (a == "--types" && has_val) {
      o.types.clear();
      for (const auto& n : split(argv[++i])) {
        bool found = false;
        for (GgmlType t : kAllTypes) {
          if (same_name(tname(t), n)) {
            o.types.push_back(t);
            found = true;
          }
        }
        if (!found) {
          std::fprintf(stderr, "unknown type %s\n", n.c_str());
          std::exit(1);
        }
      }
    } else if (a == "--variants" && has_val) {
      o.variants.clear();
      for (long long v : int_list("--variants", argv[++i], 0, cuda::kNumMatvecVariants - 1))
        o.variants.push_back(static_cast<int>(v));
    } else if (a == "--floor") {
      o.floor = true;
    } else if (a == "--timeline") {
      o.timeline = true;
    } else if (a == "--ablate" && has_val) {
      for (const auto& n : split(argv[++i])) o.ablate.push_back(std::atoi(n.c_str()));
    } else if (a == "--x" && has_val) {
      o.xq8.clear();
      for (const auto& n : split(argv[++i])) {
        if (n != "f32" && n != "q8") {
          std::fprintf(stderr, "--x: f32 or q8, not '%s'\n", n.c_str());
          std::exit(1);
        }
        o.xq8.push_back(n == "q8");
      }
    } else if (a == "--y" && has_val) {
      const std::string n = argv[++i];
      const YName* y = std::find_if(std::begin(kYNames), std::end(kYNames),
                                    [&](const YName& e) { return n == e.name; });
      if (y == std::end(kYNames)) {
        std::fprintf(stderr, "--y: f32, f16 or bf16, not '%s'\n", n.c_str());
        std::exit(1);
      }
      o.ytype = y->type;
    } else if (a == "--cols" && has_val) {
      o.cols.clear();
      for (long long c : int_list("--cols", argv[++i], 1, 4096)) o.cols.push_back(c);
    } else if (a == "--help" || a == "-h") {
      std::printf("%s\n%s", kUsage, kHelp);
      std::exit(0);
    } else {
      std::fprintf(stderr, "unknown or incomplete option '%s'\n%s", a.c_str(), kUsage);
      std::exit(1);
    }
  }
  if (o.quick) o.cols = {1, 8, 16, 512};
  if (shapes.find('x') != std::string::npos) {  // RxK[,RxK...]: one-off shapes
    for (const auto& rk : split(shapes)) {
      const size_t x = rk.find('x');
      const int64_t r = x == std::string::npos ? 0 : std::atoll(rk.substr(0, x).c_str());
      const int64_t k = x == std::string::npos ? 0 : std::atoll(rk.substr(x + 1).c_str());
      if (r <= 0 || k <= 0 || k % 256 != 0) {
        std::fprintf(stderr, "bad shape '%s' (want ROWSxK, K a multiple of 256)\n", rk.c_str());
        std::exit(1);
      }
      o.shapes.push_back({"custom", r, k});
    }
    return o;
  }
  if (shapes != "llama7b" && shapes != "tinyllama" && shapes != "all") {
    std::fprintf(stderr, "--shapes: llama7b, tinyllama, all or RxK,..., not '%s'\n",
                 shapes.c_str());
    std::exit(1);
  }
  if (shapes != "tinyllama") o.shapes.insert(o.shapes.end(), kLlama.begin(), kLlama.end());
  if (shapes != "llama7b") o.shapes.insert(o.shapes.end(), kTiny.begin(), kTiny.end());
  return o;
}

std::string tname(GgmlType t) { return std::string(ggml_type_name(static_cast<uint32_t>(t))); }

const char* yname(cuda::ActType t) {
  for (const YName& e : kYNames)
    if (e.type == t) return e.name;
  return "?";
}

}  // namespace kiln::bench
