#include "engine/stop_matcher.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  StopMatcher m;
  EXPECT_EQ(m.push("hello"), "hello");
  EXPECT_EQ(m.push(" world"), " world");
  EXPECT_EQ(m.flush(), "");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, HoldsBackPossibleStartUntilResolved) {
  StopMatcher m({"</end>"});
  EXPECT_EQ(m.push("abc</"), "abc");
  EXPECT_EQ(m.held_back(), 2u);
  EXPECT_EQ(m.push("en"), "");
  EXPECT_EQ(m.push("x"), "</enx");  // resolved: not a stop string
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, StopsAcrossPiecesAndDropsTheRest) {
  StopMatcher m({"User:"});
  EXPECT_EQ(m.push("Sure. Us"), "Sure. ");
  EXPECT_EQ(m.push("er: more"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "User:");
  EXPECT_EQ(m.push("anything"), "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, EarliestMatchWins) {
  StopMatcher m({"world", "lo w"});
  EXPECT_EQ(m.push("hello world"), "hel");
  EXPECT_EQ(m.matched(), "lo w");
}

TEST(StopMatcher, FlushReturnsUnresolvedTail) {
  StopMatcher m({"###"});
  EXPECT_EQ(m.push("a##"), "a");
  EXPECT_EQ(m.flush(), "##");
}

TEST(StopMatcher, OverlappingPrefixKeepsLongestCandidate) {
  StopMatcher m({"aab"});
  EXPECT_EQ(m.push("xaa"), "x");
  EXPECT_EQ(m.push("a"), "a");  // "aaa": only the last "aa" can still start "aab"
  EXPECT_EQ(m.push("b"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, EmptyStopStringsIgnored) {
  StopMatcher m({"", "z"});
  EXPECT_EQ(m.push("abc"), "abc");
  EXPECT_FALSE(m.stopped());
}

}  // namespace
}  // namespace kiln
