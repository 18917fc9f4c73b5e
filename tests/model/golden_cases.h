// The cases of ../shared/golden/manifest.json (llama.cpp reference outputs)
// and helpers to run a Model on them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"

namespace kiln::test {

struct GoldenCase {
  std::string id;      // "family/model/prompt_id/config"
  std::string name;    // id as a gtest-safe name
  std::string family;  // "stories260K" | "random-llama"
  std::string model;   // e.g. "random-llama-Q4_K"
  std::string config;  // "default" | "f32ref"
  std::string model_path;
  std::string step_logits_path;
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> greedy_ids;
  std::vector<float> greedy_margins;
  int robust_steps = 0;
  int n_gen = 0;
  int64_t n_vocab = 512;
};

const std::vector<GoldenCase>& golden_cases();
const GoldenCase& golden_case(const std::string& id);

// The README's tolerance for max |logit diff| of this case's family, weight type and config.
float golden_tolerance(const GoldenCase& c);

// The load options whose arithmetic follows the case's config: exact F32
// (reference matmul, F32 cache) for f32ref; ggml-like (fast matmul, F16 cache,
// ggml's F16 flash attention) for default.
LoadOptions golden_options(const GoldenCase& c, int n_threads = 1);

// [n_gen][n_vocab] golden step logits.
std::vector<float> read_step_logits(const GoldenCase& c);

// Greedy decode: prompt in one batch, then n_steps single-token steps. Returns
// the ids; logits_out (if set) receives [n_steps][n_vocab].
std::vector<int32_t> greedy(Model& model, const std::vector<int32_t>& prompt, int n_steps,
                            std::vector<float>* logits_out = nullptr);

// Teacher forcing as llama.cpp produced the golden step logits: the prompt in
// one batch, then forced[:n-1] one token per forward pass; the logits of the
// last prompt position and of every forced position: [forced.size()][n_vocab].
std::vector<float> teacher_forced_logits(Model& model, const std::vector<int32_t>& prompt,
                                         const std::vector<int32_t>& forced);

int32_t argmax(const float* x, int64_t n);

// A temporary folder with the random-weight models of make_arch_models.py
// ({arch}.gguf, {arch}.logits.f32, tokens.i32), made once per process; "" if
// the script failed.
const std::string& arch_models_dir();

}  // namespace kiln::test
