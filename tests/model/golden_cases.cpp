#include "golden_cases.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace kiln::test {
namespace {

std::string golden_dir() { return std::string(KILN_SHARED_DIR) + "/golden/"; }

std::vector<GoldenCase> load_cases() {
  std::ifstream in(golden_dir() + "manifest.json");
  if (!in) return {};
  const nlohmann::json m = nlohmann::json::parse(in);
  std::vector<GoldenCase> out;
  for (const auto& j : m.at("cases")) {
    GoldenCase c;
    c.id = j.at("id");
    c.family = j.at("family");
    c.model = j.at("model");
    c.config = j.at("config");
    c.model_path = golden_dir() + j.at("model_file").get<std::string>();
    c.step_logits_path = golden_dir() + j.at("step_logits").at("path").get<std::string>();
    c.prompt_ids = j.at("prompt_ids").get<std::vector<int32_t>>();
    c.greedy_ids = j.at("greedy_ids").get<std::vector<int32_t>>();
    c.greedy_margins = j.at("greedy_margins").get<std::vector<float>>();
    c.robust_steps = j.at("robust_steps");
    c.n_gen = j.at("n_gen");
    c.name = c.id;
    for (char& ch : c.name) {
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    }
    out.push_back(std::move(c));
  }
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const std::vector<GoldenCase>& golden_cases() {
  static const std::vector<GoldenCase> cases = load_cases();
  return cases;
}

const GoldenCase& golden_case(const std::string& id) {
  for (const GoldenCase& c : golden_cases()) {
    if (c.id == id) return c;
  }
  throw std::runtime_error("no golden case " + id);
}

float golden_tolerance(const GoldenCase& c) {
  const bool stories = c.family == "stories260K";
  if (c.config == "f32ref") return stories ? 1e-4f : 1e-5f;
  if (stories) return ends_with(c.model, "f32") ? 3e-2f : 0.6f;
  if (ends_with(c.model, "-F32") || ends_with(c.model, "-F16")) return 3e-3f;
  if (ends_with(c.model, "-BF16")) return 1e-2f;
  return 4e-2f;
}

LoadOptions golden_options(const GoldenCase& c, int n_threads) {
  LoadOptions o;
  o.n_threads = n_threads;
  if (c.config == "f32ref") {
    o.matmul = MatmulMode::kReference;
    o.kv_type = GgmlType::F32;
  } else {
    o.matmul = MatmulMode::kFast;
    o.kv_type = GgmlType::F16;
    o.attention = AttentionMode::kGgmlF16;
  }
  return o;
}

std::vector<float> read_step_logits(const GoldenCase& c) {
  std::vector<float> v(static_cast<size_t>(c.n_gen) * c.n_vocab);
  std::ifstream in(c.step_logits_path, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  if (!in) throw std::runtime_error("cannot read " + c.step_logits_path);
  return v;
}

int32_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;  // ties: lowest id, as llama.cpp's greedy
  }
  return static_cast<int32_t>(best);
}

std::vector<int32_t> greedy(Model& model, const std::vector<int32_t>& prompt, int n_steps,
                            std::vector<float>* logits_out) {
  const int64_t n_vocab = model.config().n_vocab;
  const auto n_ctx = static_cast<int32_t>(prompt.size() + n_steps + 1);
  auto cache = model.make_kv_cache(1, n_ctx);
  EXPECT_TRUE(cache.is_ok()) << cache.status().message();
  Batch batch;
  for (size_t i = 0; i < prompt.size(); ++i) {
    batch.add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size());
  }
  std::vector<int32_t> ids;
  std::vector<float> logits;
  if (logits_out) logits_out->clear();
  for (int s = 0; s < n_steps; ++s) {
    const Status st = model.forward(batch, **cache, logits);
    EXPECT_TRUE(st.is_ok()) << st.message();
    if (!st.is_ok()) break;
    if (logits_out) logits_out->insert(logits_out->end(), logits.begin(), logits.end());
    ids.push_back(argmax(logits.data(), n_vocab));
    batch.clear();
    batch.add(ids.back(), static_cast<int32_t>(prompt.size()) + s, 0, true);
  }
  return ids;
}

std::vector<float> teacher_forced_logits(Model& model, const std::vector<int32_t>& prompt,
                                         const std::vector<int32_t>& forced) {
  const auto n_ctx = static_cast<int32_t>(prompt.size() + forced.size());
  auto cache = model.make_kv_cache(1, n_ctx);
  EXPECT_TRUE(cache.is_ok()) << cache.status().message();
  Batch batch;
  for (size_t i = 0; i < prompt.size(); ++i) {
    batch.add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size());
  }
  std::vector<float> all, logits;
  for (size_t i = 0; i < forced.size(); ++i) {
    const Status st = model.forward(batch, **cache, logits);
    EXPECT_TRUE(st.is_ok()) << st.message();
    all.insert(all.end(), logits.begin(), logits.end());
    batch.clear();
    batch.add(forced[i], static_cast<int32_t>(prompt.size() + i), 0, true);
  }
  return all;
}

const std::string& arch_models_dir() {
  static const std::string dir = [] {
    const std::string d = (std::filesystem::temp_directory_path() /
                           ("kiln_arch_models_" + std::to_string(::getpid())))
                              .string();
    const std::string cmd =
        "python3 " + std::string(KILN_SOURCE_DIR) + "/tests/model/make_arch_models.py " + d;
    if (std::system(cmd.c_str()) != 0) return std::string();
    return d;
  }();
  return dir;
}

}  // namespace kiln::test
