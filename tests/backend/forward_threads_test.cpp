// The CPU forward pass (packed kernels, threaded attention) gives bit-identical
// logits and greedy ids with 1, 2 and 3 threads, on the golden random-llama
// models of the packed types and a type that keeps the row kernels.
#include <gtest/gtest.h>

#include <cstring>

#include "../model/golden_cases.h"

namespace kiln::test {
namespace {

TEST(ForwardThreads, LogitsBitIdenticalForAnyThreadCount) {
  for (const char* id : {"random-llama/random-llama-Q4_0/r3_long/default",
                         "random-llama/random-llama-Q5_0/r2_mixed/default",
                         "random-llama/random-llama-Q8_0/r3_long/default",
                         "random-llama/random-llama-Q4_K/r3_long/default",
                         "random-llama/random-llama-Q6_K/r1_once/default",
                         "random-llama/random-llama-F16/r3_long/default",
                         "random-llama/random-llama-Q4_1/r3_long/default"}) {
    SCOPED_TRACE(id);
    const GoldenCase& c = golden_case(id);
    std::vector<int32_t> ids1;
    std::vector<float> logits1;
    for (int threads : {1, 2, 3}) {
      auto m = Model::load(c.model_path, golden_options(c, threads));
      ASSERT_TRUE(m.is_ok()) << m.status().message();
      std::vector<float> logits;
      const auto ids = greedy(**m, c.prompt_ids, 12, &logits);
      if (threads == 1) {
        ids1 = ids;
        logits1 = logits;
        continue;
      }
      EXPECT_EQ(ids, ids1) << threads << " threads";
      ASSERT_EQ(logits.size(), logits1.size());
      EXPECT_EQ(std::memcmp(logits.data(), logits1.data(), logits.size() * sizeof(float)), 0)
          << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace kiln::test
