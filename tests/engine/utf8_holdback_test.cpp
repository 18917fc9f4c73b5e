#include "engine/utf8_holdback.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln {
namespace {

TEST(Utf8Holdback, HoldsAnIncompleteCharacterUntilItCompletes) {
  Utf8Holdback h;
  EXPECT_EQ(h.push("ab\xE2"), "ab");
  EXPECT_EQ(h.push("\x98"), "");
  EXPECT_EQ(h.push("\x95!"), "\xE2\x98\x95!");  // U+2615 in one write
  EXPECT_EQ(h.flush(), "");
}

TEST(Utf8Holdback, PassesInvalidBytesThroughUnchanged) {
  Utf8Holdback h;
  EXPECT_EQ(h.push("\x0C"), "\x0C");
  EXPECT_EQ(h.push("\x80"), "\x80");  // lone continuation
  EXPECT_EQ(h.push("\xFF"), "\xFF");  // never valid
  EXPECT_EQ(h.push("\xC0"), "\xC0");  // overlong lead
  EXPECT_EQ(h.push("\xE2"
                   "A"),
            "\xE2"
            "A");                             // lead then ASCII: cannot complete
  EXPECT_EQ(h.push("\xED\xA0"), "\xED\xA0");  // surrogate start
}

TEST(Utf8Holdback, FlushReturnsTheRawTail) {
  Utf8Holdback h;
  EXPECT_EQ(h.push("x\xF0\x9F"), "x");
  EXPECT_EQ(h.held_back(), 2u);
  EXPECT_EQ(h.flush(), "\xF0\x9F");
}

TEST(Utf8Holdback, ConcatenationIsExactlyTheInput) {
  // Every split of a mixed byte string gives back the same bytes.
  const std::string input = "a\xC3\xA9\xE2\x98\x95\xF0\x9F\x98\x80\x80\xE2z\xF4\x90";
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    Utf8Holdback h;
    std::string out = h.push(input.substr(0, cut));
    out += h.push(input.substr(cut));
    out += h.flush();
    EXPECT_EQ(out, input) << cut;
  }
}

TEST(Utf8Holdback, TailLength) {
  EXPECT_EQ(incomplete_utf8_tail(""), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xC3"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("\xC3\xA9"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incomplete_utf8_tail("\xE0\x80"), 0u);  // overlong
}

}  // namespace
}  // namespace kiln
