// The real models in models/: they load, and a short greedy continuation of a
// factual prompt gives the obvious answer (" Paris"). Ids come from kiln's
// Tokenizer. Skipped when models/ has not been fetched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "golden_cases.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace kiln::test {
namespace {

struct RealModel {
  const char* file;
  const char* arch;
  int top_n;  // " Paris" must be among the top_n first tokens
};

class RealModelTest : public ::testing::TestWithParam<RealModel> {};

std::string run_greedy(const std::string& path, int n_threads, const std::string& prompt,
                       int n_steps, std::vector<int32_t>* ids_out) {
  auto model = Model::load(path, {.n_threads = n_threads});
  EXPECT_TRUE(model.is_ok()) << model.status().message();
  if (!model.is_ok()) return "";
  auto tok = Tokenizer::from_gguf((*model)->file());
  EXPECT_TRUE(tok.is_ok()) << tok.status().message();
  if (!tok.is_ok()) return "";
  const std::vector<int32_t> prompt_ids = tok->encode(prompt, /*add_bos=*/true, false);
  const std::vector<int32_t> ids = greedy(**model, prompt_ids, n_steps);
  if (ids_out) *ids_out = ids;
  return tok->decode(ids);
}

TEST_P(RealModelTest, CapitalOfFrance) {
  const std::string path = std::string(KILN_MODELS_DIR) + "/" + GetParam().file;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not fetched";
  auto model = Model::load(path, {.n_threads = 2});
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  EXPECT_EQ((*model)->config().arch, GetParam().arch);
  std::printf("%s\n", describe((*model)->config()).c_str());

  std::vector<int32_t> ids;
  const std::string text = run_greedy(path, 2, "The capital of France is", 6, &ids);
  std::printf("%s: 'The capital of France is' -> '%s'\n", GetParam().file, text.c_str());
  auto tok = Tokenizer::from_gguf((*model)->file());
  ASSERT_TRUE(tok.is_ok());
  ASSERT_FALSE(ids.empty());
  // The first step's ranking, from a fresh forward of the prompt.
  auto cache = (*model)->make_kv_cache(1, 64);
  ASSERT_TRUE(cache.is_ok());
  const auto prompt = tok->encode("The capital of France is", true, false);
  Batch batch;
  for (size_t i = 0; i < prompt.size(); ++i) {
    batch.add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size());
  }
  std::vector<float> logits;
  ASSERT_TRUE((*model)->forward(batch, **cache, logits).is_ok());
  std::vector<int32_t> order(logits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  EXPECT_EQ(order[0], ids[0]);
  int rank = -1;
  for (int r = 0; r < 5; ++r) {
    std::printf("  top %d: '%s' %.3f\n", r, tok->token_piece(order[r]).c_str(), logits[order[r]]);
    if (tok->token_piece(order[r]) == " Paris" && rank < 0) rank = r;
  }
  EXPECT_GE(rank, 0) << text;
  EXPECT_LT(rank, GetParam().top_n) << text;
}

TEST_P(RealModelTest, ThreadsGiveSameIds) {
  const std::string path = std::string(KILN_MODELS_DIR) + "/" + GetParam().file;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not fetched";
  std::vector<int32_t> ids1, ids2;
  run_greedy(path, 1, "Once upon a time, in a small village,", 8, &ids1);
  run_greedy(path, 2, "Once upon a time, in a small village,", 8, &ids2);
  EXPECT_EQ(ids1, ids2);
}

INSTANTIATE_TEST_SUITE_P(Models, RealModelTest,
                         ::testing::Values(RealModel{"SmolLM2-135M-Instruct.Q4_1.gguf", "llama", 1},
                                           RealModel{"gemma-3-270m-q4_k_m.gguf", "gemma3", 5}),
                         [](const auto& info) { return std::string(info.param.arch); });

}  // namespace
}  // namespace kiln::test
