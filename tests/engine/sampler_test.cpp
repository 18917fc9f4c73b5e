#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

namespace kiln {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

SamplingParams plain(float temperature) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  return p;
}

Sampler make(const SamplingParams& p, int32_t n_vocab) {
  auto s = Sampler::create(p, n_vocab);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return std::move(s).value();
}

// Empirical frequencies of n draws.
std::vector<double> frequencies(Sampler& s, const std::vector<float>& logits, int n) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) ++counts[static_cast<size_t>(s.sample(logits).id)];
  std::vector<double> f;
  for (int c : counts) f.push_back(static_cast<double>(c) / n);
  return f;
}

std::vector<double> softmax(const std::vector<float>& logits, double temp) {
  std::vector<double> p;
  double total = 0;
  for (float l : logits) total += std::exp(l / temp);
  for (float l : logits) p.push_back(std::exp(l / temp) / total);
  return p;
}

std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

TEST(Sampler, GreedyIsArgmaxWithTiesToLowestId) {
  Sampler s = make(plain(0.0f), 5);
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 3.0f, -1.0f, 3.0f, 2.9f}).id, 1);
  EXPECT_EQ(s.sample(std::vector<float>{-5.0f, -4.0f, -4.5f, -9.0f, -4.0f}).id, 1);
  EXPECT_EQ(argmax(std::vector<float>{1.0f, 1.0f}), 0);
}

TEST(Sampler, TemperatureZeroIgnoresTruncationAndSeed) {
  SamplingParams p;  // defaults: top_k 40, top_p 0.95, min_p 0.05
  p.temperature = 0.0f;
  for (uint64_t seed : {0ull, 1ull, 12345ull}) {
    p.seed = seed;
    Sampler s = make(p, 4);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(std::vector<float>{1, 2, 2.5f, 2.4f}).id, 2);
  }
}

TEST(Sampler, TopKOneIsGreedyAtAnyTemperature) {
  SamplingParams p = plain(5.0f);
  p.top_k = 1;
  Sampler s = make(p, 4);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(s.sample(std::vector<float>{1, 2, 2.5f, 2.4f}).id, 2);
}

TEST(Sampler, TemperatureOneMatchesSoftmax) {
  const std::vector<double> probs = {0.5, 0.3, 0.15, 0.05};
  Sampler s = make(plain(1.0f), 4);
  auto f = frequencies(s, logits_of(probs), 40000);
  for (size_t i = 0; i < probs.size(); ++i) EXPECT_NEAR(f[i], probs[i], 0.01) << i;
}

TEST(Sampler, TemperatureScalesLogits) {
  const std::vector<float> logits = {1.0f, 0.0f, -1.0f};
  for (double temp : {0.5, 2.0}) {
    Sampler s = make(plain(static_cast<float>(temp)), 3);
    auto f = frequencies(s, logits, 40000);
    auto want = softmax(logits, temp);
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(f[i], want[i], 0.01) << temp << " " << i;
  }
}

TEST(Sampler, TopKRenormalisesOverTheKBest) {
  SamplingParams p = plain(1.0f);
  p.top_k = 2;
  Sampler s = make(p, 4);
  auto f = frequencies(s, logits_of({0.15, 0.5, 0.05, 0.3}), 40000);
  EXPECT_NEAR(f[1], 0.5 / 0.8, 0.01);
  EXPECT_NEAR(f[3], 0.3 / 0.8, 0.01);
  EXPECT_EQ(f[0], 0.0);
  EXPECT_EQ(f[2], 0.0);
}

TEST(Sampler, TopKLargerThanVocabKeepsAll) {
  SamplingParams p = plain(1.0f);
  p.top_k = 1000;
  Sampler s = make(p, 2);
  auto f = frequencies(s, logits_of({0.7, 0.3}), 20000);
  EXPECT_NEAR(f[0], 0.7, 0.015);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingP) {
  SamplingParams p = plain(1.0f);
  p.top_p = 0.75f;  // 0.5 < 0.75 <= 0.5 + 0.3: keeps two tokens
  Sampler s = make(p, 4);
  auto f = frequencies(s, logits_of({0.5, 0.3, 0.15, 0.05}), 40000);
  EXPECT_NEAR(f[0], 0.5 / 0.8, 0.01);
  EXPECT_NEAR(f[1], 0.3 / 0.8, 0.01);
  EXPECT_EQ(f[2] + f[3], 0.0);

  p.top_p = 0.0f;  // keeps at least one
  Sampler s0 = make(p, 4);
  auto f0 = frequencies(s0, logits_of({0.2, 0.5, 0.25, 0.05}), 1000);
  EXPECT_EQ(f0[1], 1.0);
}

TEST(Sampler, MinPDropsTokensBelowFractionOfMax) {
  SamplingParams p = plain(1.0f);
  p.min_p = 0.2f;  // threshold 0.1: drops 0.05 and 0.07
  Sampler s = make(p, 5);
  auto f = frequencies(s, logits_of({0.5, 0.05, 0.26, 0.07, 0.12}), 40000);
  const double kept = 0.5 + 0.26 + 0.12;
  EXPECT_NEAR(f[0], 0.5 / kept, 0.01);
  EXPECT_NEAR(f[2], 0.26 / kept, 0.01);
  EXPECT_NEAR(f[4], 0.12 / kept, 0.01);
  EXPECT_EQ(f[1] + f[3], 0.0);
}

TEST(Sampler, TruncationHappensBeforeTemperature) {
  // min_p on the untempered distribution: with temp 10 the tail would be
  // above 0.2*p_max, but it is cut before temperature applies.
  SamplingParams p = plain(10.0f);
  p.min_p = 0.2f;
  Sampler s = make(p, 3);
  auto f = frequencies(s, logits_of({0.85, 0.1, 0.05}), 5000);
  EXPECT_EQ(f[0], 1.0);
}

TEST(Sampler, RepeatPenaltyDividesPositiveMultipliesNegative) {
  SamplingParams p = plain(0.0f);
  p.repeat_penalty = 2.0f;
  {
    Sampler s = make(p, 2);
    s.accept(0);
    EXPECT_EQ(s.sample(std::vector<float>{2.0f, 1.5f}).id, 1);    // 2/2 = 1 < 1.5
    EXPECT_EQ(s.sample(std::vector<float>{3.2f, 1.5f}).id, 0);    // 1.6 > 1.5
    EXPECT_EQ(s.sample(std::vector<float>{-1.0f, -1.5f}).id, 1);  // -2 < -1.5
  }
  {
    // Distribution check: penalised logits [1, -4, 1] -> p = [e, e^-4, e] / Z.
    SamplingParams q = plain(1.0f);
    q.repeat_penalty = 2.0f;
    Sampler s = make(q, 3);
    s.accept(0);
    s.accept(1);
    s.accept(1);  // counted once: the repeat penalty ignores counts
    auto f = frequencies(s, {2.0f, -2.0f, 1.0f}, 40000);
    auto want = softmax({1.0f, -4.0f, 1.0f}, 1.0);
    for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(f[i], want[i], 0.01) << i;
  }
}

TEST(Sampler, FrequencyAndPresencePenalties) {
  SamplingParams p = plain(0.0f);
  p.frequency_penalty = 0.4f;  // 3 - 3*0.4 = 1.8 < 2
  Sampler a = make(p, 2);
  for (int i = 0; i < 3; ++i) a.accept(0);
  EXPECT_EQ(a.sample(std::vector<float>{3.0f, 2.0f}).id, 1);
  p.frequency_penalty = 0.3f;  // 2.1 > 2
  Sampler b = make(p, 2);
  for (int i = 0; i < 3; ++i) b.accept(0);
  EXPECT_EQ(b.sample(std::vector<float>{3.0f, 2.0f}).id, 0);

  SamplingParams q = plain(0.0f);
  q.presence_penalty = 1.1f;  // once, whatever the count: 3 - 1.1 = 1.9 < 2
  Sampler c = make(q, 2);
  for (int i = 0; i < 5; ++i) c.accept(0);
  EXPECT_EQ(c.sample(std::vector<float>{3.0f, 2.0f}).id, 1);
  q.presence_penalty = 0.9f;
  Sampler d = make(q, 2);
  for (int i = 0; i < 5; ++i) d.accept(0);
  EXPECT_EQ(d.sample(std::vector<float>{3.0f, 2.0f}).id, 0);
}

TEST(Sampler, PenaltyWindowOnlyCoversRecentTokens) {
  SamplingParams p = plain(0.0f);
  p.repeat_penalty = 4.0f;
  p.penalty_last_n = 2;
  Sampler s = make(p, 3);
  s.accept(0);  // falls out of the window
  s.accept(1);
  s.accept(2);
  EXPECT_EQ(s.sample(std::vector<float>{2.0f, 1.9f, 1.8f}).id, 0);
  p.penalty_last_n = 0;  // off
  Sampler off = make(p, 3);
  off.accept(0);
  EXPECT_EQ(off.sample(std::vector<float>{2.0f, 1.9f, 1.8f}).id, 0);
  p.penalty_last_n = -1;  // everything
  Sampler all = make(p, 3);
  for (int i = 0; i < 1000; ++i) all.accept(1);
  all.accept(0);
  EXPECT_EQ(all.sample(std::vector<float>{2.0f, 1.9f, 1.8f}).id, 2);
}

TEST(Sampler, LogitBiasShiftsAndBans) {
  SamplingParams p = plain(0.0f);
  p.logit_bias = {{0, -kInf}, {2, 0.5f}};
  Sampler s = make(p, 3);
  EXPECT_EQ(s.sample(std::vector<float>{5.0f, 1.0f, 0.6f}).id, 2);  // 0 banned, 0.6+0.5 > 1

  SamplingParams q = plain(1.0f);
  q.logit_bias = {{1, -kInf}};
  Sampler t = make(q, 2);
  auto f = frequencies(t, {0.0f, 10.0f}, 2000);
  EXPECT_EQ(f[0], 1.0);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferent) {
  const std::vector<float> logits(50, 0.0f);
  auto run = [&](uint64_t seed) {
    SamplingParams p = plain(1.0f);
    p.seed = seed;
    Sampler s = make(p, 50);
    std::vector<int32_t> ids;
    for (int i = 0; i < 64; ++i) ids.push_back(s.sample(logits).id);
    return ids;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(Sampler, DrawIsTheTopBitsOfMt19937_64) {
  // With two equal logits the token is 1 exactly when the uniform draw is
  // >= 0.5, i.e. when the top bit of the raw mt19937_64 output is set. The
  // engine's draws therefore equal this independent computation on every
  // platform (mt19937_64's sequence is fixed by the C++ standard).
  std::mt19937_64 reference(7);
  Sampler s = make(
      [] {
        SamplingParams p = plain(1.0f);
        p.seed = 7;
        return p;
      }(),
      2);
  for (int i = 0; i < 200; ++i) {
    const int32_t want = static_cast<int32_t>(reference() >> 63);
    EXPECT_EQ(s.sample(std::vector<float>{0.0f, 0.0f}).id, want) << i;
  }
  // Known value from the standard: the 10000th output of a default-seeded engine.
  std::mt19937_64 standard;
  standard.discard(9999);
  EXPECT_EQ(standard(), 9981545732273789042ull);
}

TEST(Sampler, LogprobsAreLogSoftmaxOfRawLogits) {
  SamplingParams p = plain(0.0f);
  p.logprobs = true;
  p.n_logprobs = 3;
  p.logit_bias = {{0, 100.0f}};  // changes the choice, not the reported distribution
  Sampler s = make(p, 4);
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.0f};
  auto out = s.sample(logits);
  auto probs = softmax(logits, 1.0);
  EXPECT_EQ(out.id, 0);
  EXPECT_NEAR(out.logprob, std::log(probs[0]), 1e-5);
  ASSERT_EQ(out.top_logprobs.size(), 3u);
  EXPECT_EQ(out.top_logprobs[0].id, 1);
  EXPECT_EQ(out.top_logprobs[1].id, 3);
  EXPECT_EQ(out.top_logprobs[2].id, 0);
  for (const auto& t : out.top_logprobs) {
    EXPECT_NEAR(t.logprob, std::log(probs[static_cast<size_t>(t.id)]), 1e-5);
  }
}

TEST(Sampler, TopLogitsSortedWithTiesToLowerId) {
  auto t = top_logits(std::vector<float>{1.0f, 3.0f, 3.0f, -2.0f}, 3);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].first, 1);
  EXPECT_EQ(t[1].first, 2);
  EXPECT_EQ(t[2].first, 0);
  EXPECT_EQ(top_logits(std::vector<float>{1.0f}, 5).size(), 1u);
}

TEST(Sampler, AllBannedFallsBackToLowestId) {
  SamplingParams p = plain(1.0f);
  p.logit_bias = {{0, -kInf}, {1, -kInf}};
  Sampler s = make(p, 2);
  EXPECT_EQ(s.sample(std::vector<float>{1.0f, 2.0f}).id, 0);
}

TEST(Sampler, InvalidParamsAreClearErrors) {
  auto err = [](SamplingParams p, int32_t n_vocab = 10) {
    auto s = Sampler::create(p, n_vocab);
    EXPECT_FALSE(s.is_ok());
    return s.status().message();
  };
  SamplingParams p;
  p.temperature = -1.0f;
  EXPECT_NE(err(p).find("temperature"), std::string::npos);
  p = {};
  p.temperature = std::nanf("");
  EXPECT_NE(err(p).find("temperature"), std::string::npos);
  p = {};
  p.top_k = -1;
  EXPECT_NE(err(p).find("top_k"), std::string::npos);
  p = {};
  p.top_p = 1.5f;
  EXPECT_NE(err(p).find("top_p must be in [0, 1], got 1.5"), std::string::npos);
  p = {};
  p.min_p = std::nanf("");
  EXPECT_NE(err(p).find("min_p"), std::string::npos);
  p = {};
  p.repeat_penalty = 0.0f;
  EXPECT_NE(err(p).find("repeat_penalty"), std::string::npos);
  p = {};
  p.frequency_penalty = kInf;
  EXPECT_NE(err(p).find("frequency_penalty"), std::string::npos);
  p = {};
  p.penalty_last_n = -2;
  EXPECT_NE(err(p).find("penalty_last_n"), std::string::npos);
  p = {};
  p.logit_bias = {{10, 1.0f}};
  EXPECT_NE(err(p).find("token id 10 is outside the vocab"), std::string::npos);
  p = {};
  p.logit_bias = {{1, kInf}};
  EXPECT_NE(err(p).find("logit_bias"), std::string::npos);
  p = {};
  p.n_logprobs = kMaxLogprobs + 1;
  EXPECT_NE(err(p).find("n_logprobs"), std::string::npos);
  EXPECT_NE(err(SamplingParams{}, 0).find("n_vocab"), std::string::npos);
}

}  // namespace
}  // namespace kiln
