// Tokenizer algorithms on small in-memory vocabularies. Expected ids are
// worked out by hand from the algorithm in ../shared/docs/tokenizers.md.
#include <gtest/gtest.h>

#include "tokenizer/tokenizer.h"

namespace kiln {
namespace {

constexpr const char* kSp = "\xE2\x96\x81";  // U+2581

// 0 <unk> 1 <s> 2 </s> 3 <0xE2> 4 <0x98> 5 <0x95> 6 <0x0A> 7 ▁ 8 ▁H 9 e 10 l
// 11 o 12 H 13 ▁He 14 ll 15 llo 16 ▁Hello 17 <tag> (user-defined) 18 <0x3F>
VocabData spm_vocab() {
  VocabData d;
  d.model = "llama";
  const std::string sp = kSp;
  d.tokens = {"<unk>", "<s>",    "</s>",       "<0xE2>", "<0x98>", "<0x95>", "<0x0A>",
              sp,      sp + "H", "e",          "l",      "o",      "H",      sp + "He",
              "ll",    "llo",    sp + "Hello", "<tag>",  "<0x3F>"};
  d.scores = {0, 0, 0, 0, 0, 0, 0, -10, -1, -10, -10, -10, -10, -3, -2, -4, -5, 0, 0};
  d.token_types = {2, 3, 3, 6, 6, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 6};
  return d;
}

Tokenizer make(VocabData d) {
  auto t = Tokenizer::from_data(std::move(d));
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return std::move(t).value();
}

using Ids = std::vector<int32_t>;

TEST(Spm, MergesByScore) {
  Tokenizer t = make(spm_vocab());
  EXPECT_EQ(t.encode("Hello", false, false), (Ids{16}));
  EXPECT_EQ(t.encode("Hello", true, false), (Ids{1, 16}));
  // Leading space: "▁▁Hello"; ▁▁ is not a token.
  EXPECT_EQ(t.encode(" Hello", false, false), (Ids{7, 16}));
  EXPECT_EQ(t.encode("", false, false), Ids{});
  EXPECT_EQ(t.encode("", true, false), Ids{1});
}

TEST(Spm, ByteFallbackAndUnknown) {
  Tokenizer t = make(spm_vocab());
  // ☕ = E2 98 95 is not a token: its bytes are.
  EXPECT_EQ(t.encode("\xE2\x98\x95", false, false), (Ids{7, 3, 4, 5}));
  EXPECT_EQ(t.encode("\n", false, false), (Ids{7, 6}));
  // '?' has the byte token <0x3F>; 'x' has none and no raw token: UNK.
  EXPECT_EQ(t.encode("?x", false, false), (Ids{7, 18, 0}));
}

TEST(Spm, SpecialTokens) {
  Tokenizer t = make(spm_vocab());
  // Control text is plain text unless parse_special: '<', '/', 's', '>' -> UNK.
  EXPECT_EQ(t.encode("Hello</s>", false, false), (Ids{16, 0, 0, 0, 0}));
  EXPECT_EQ(t.encode("Hello</s>", false, true), (Ids{16, 2}));
  // Text after a special token gets the space prefix again (llama.cpp quirk).
  EXPECT_EQ(t.encode("</s>Hello", false, true), (Ids{2, 16}));
  // User-defined tokens are split out even without parse_special.
  EXPECT_EQ(t.encode("Hello<tag>Hello", false, false), (Ids{16, 17, 16}));
}

// The encoder runs one merge queue per segment between U+2581 boundaries that
// no token spans (spm.cpp). A token "o▁" spans the boundary after 'o', so
// "▁Hello▁Hello" must stay one queue: o+▁ (score 0) merges first and the
// second word loses its ▁ (worked out by hand from tokenizers.md §5).
TEST(Spm, MergeAcrossSpaceWhenATokenSpansIt) {
  VocabData d = spm_vocab();
  d.tokens.push_back(std::string("o") + kSp);  // 19
  d.scores.push_back(0);
  d.token_types.push_back(1);
  Tokenizer t = make(d);
  EXPECT_EQ(t.encode("Hello Hello", false, false), (Ids{13, 14, 19, 12, 9, 15}));
  // Without that token each word is its own segment.
  EXPECT_EQ(make(spm_vocab()).encode("Hello Hello", false, false), (Ids{16, 16}));
  // 'l' is not followed by ▁ in any token: "Hell" + "▁Hello" split there.
  EXPECT_EQ(t.encode("Hell Hello", false, false), (Ids{13, 14, 16}));
}

// Special tokens are found in one pass and then split longest first; a
// shorter token inside a longer one's text is not matched there.
TEST(Spm, NestedSpecialTokensLongestFirst) {
  VocabData d = spm_vocab();
  d.tokens.push_back("<tag>x");  // 19, user-defined
  d.scores.push_back(0);
  d.token_types.push_back(4);
  Tokenizer t = make(d);
  EXPECT_EQ(t.encode("<tag>x<tag>", false, false), (Ids{19, 17}));
  EXPECT_EQ(t.encode("Hello<tag>xHello", false, false), (Ids{16, 19, 16}));
}

TEST(Spm, Decode) {
  Tokenizer t = make(spm_vocab());
  EXPECT_EQ(t.token_piece(16), " Hello");
  EXPECT_EQ(t.token_piece(2), "");
  EXPECT_EQ(t.token_piece(2, true), "</s>");
  EXPECT_EQ(t.token_piece(6), "\n");
  EXPECT_EQ(t.token_piece(17), "<tag>");
  EXPECT_EQ(t.token_piece(999), "");
  EXPECT_EQ(t.token_piece(-1), "");
  for (const char* s : {"Hello", " Hello", "\xE2\x98\x95\n", "Hello<tag>", ""}) {
    EXPECT_EQ(t.decode(t.encode(s, false, false)), s);
  }
  // The BOS piece is empty but consumes the one-space strip, as in llama.cpp.
  EXPECT_EQ(t.decode(Ids{1, 16}), " Hello");
  EXPECT_TRUE(t.is_eog(2));
  EXPECT_FALSE(t.is_eog(16));
  EXPECT_EQ(t.bos_text(), "<s>");
  EXPECT_EQ(t.eos_text(), "</s>");
}

TEST(StreamDecoder, HoldsBackSplitCharacters) {
  Tokenizer t = make(spm_vocab());
  StreamDecoder d(t);
  EXPECT_EQ(d.push(16), " Hello");
  EXPECT_EQ(d.push(3), "");
  EXPECT_EQ(d.push(4), "");
  EXPECT_EQ(d.push(5), "\xE2\x98\x95");
  EXPECT_EQ(d.push(2), "");  // control: no text
  EXPECT_EQ(d.flush(), "");
  // A continuation byte without a lead byte can never be valid: U+FFFD.
  EXPECT_EQ(d.push(4), "\xEF\xBF\xBD");
  // An incomplete sequence at the end is flushed as U+FFFD.
  EXPECT_EQ(d.push(3), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
  // A lead byte followed by a non-continuation: U+FFFD then the text.
  EXPECT_EQ(d.push(3), "");
  EXPECT_EQ(d.push(16), "\xEF\xBF\xBD Hello");
}

TEST(StreamDecoder, RawModeEmitsBytesAsIs) {
  Tokenizer t = make(spm_vocab());
  StreamDecoder d(t, /*raw=*/true);
  EXPECT_EQ(d.push(3), "\xE2");
  EXPECT_EQ(d.push(4), "\x98");
  EXPECT_EQ(d.flush(), "");
}

// Byte-level BPE: tokens are in the GPT-2 byte alphabet (space = Ġ U+0120).
VocabData bpe_vocab() {
  VocabData d;
  d.model = "gpt2";
  d.pre = "gpt-2";
  d.tokens = {"H",         "e",  "l",           "o",  "\xC4\xA0",      "w",
              "r",         "d",  "He",          "ll", "Hell",          "Hello",
              "\xC4\xA0w", "or", "\xC4\xA0wor", "ld", "\xC4\xA0world", "<|endoftext|>",
              "'",         "s",  "1",           "2",  "\xC4\x8A"};
  d.token_types.assign(d.tokens.size(), 1);
  d.token_types[17] = 3;
  d.merges = {"H e", "l l",          "He ll", "Hell o",        "\xC4\xA0 w",
              "o r", "\xC4\xA0w or", "l d",   "\xC4\xA0wor ld"};
  d.eos = 17;
  d.bos = 17;
  return d;
}

TEST(Bpe, MergesByRank) {
  Tokenizer t = make(bpe_vocab());
  EXPECT_EQ(t.encode("Hello world", false, false), (Ids{11, 16}));
  EXPECT_EQ(t.encode("Hello world", true, false), (Ids{11, 16}));  // gpt-2: no BOS
  // "Hello  world": words "Hello", " ", " world".
  EXPECT_EQ(t.encode("Hello  world", false, false), (Ids{11, 4, 16}));
  // "'s" is one word but not a token and has no merge: its characters.
  EXPECT_EQ(t.encode("He's", false, false), (Ids{8, 18, 19}));
  EXPECT_EQ(t.encode("12\n", false, false), (Ids{20, 21, 22}));
  EXPECT_EQ(t.encode("Hello<|endoftext|>", false, true), (Ids{11, 17}));
  EXPECT_EQ(t.decode(Ids{11, 16, 22}), "Hello world\n");
  EXPECT_EQ(t.token_piece(4), " ");
  EXPECT_TRUE(t.is_eog(17));
}

TEST(Bpe, InvalidUtf8IsReplaced) {
  VocabData d = bpe_vocab();
  d.tokens.push_back("\xC3\xAF\xC2\xBF\xC2\xBD");  // U+FFFD = EF BF BD in byte-map text
  d.token_types.push_back(1);
  d.merges.push_back("\xC3\xAF \xC2\xBF");
  d.merges.push_back("\xC3\xAF\xC2\xBF \xC2\xBD");
  Tokenizer t = make(std::move(d));
  EXPECT_EQ(t.encode("\xFF", false, false), (Ids{23}));
}

TEST(Load, Errors) {
  auto expect_error = [](VocabData d, const std::string& needle) {
    auto t = Tokenizer::from_data(std::move(d));
    ASSERT_FALSE(t.is_ok()) << needle;
    EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().message();
  };
  VocabData d = spm_vocab();
  d.scores.pop_back();
  expect_error(d, "tokenizer.ggml.scores has 18 entries");
  d = spm_vocab();
  d.token_types.push_back(1);
  expect_error(d, "tokenizer.ggml.token_type has 20 entries");
  d = spm_vocab();
  d.token_types[4] = 9;
  expect_error(d, "token_type[4] = 9");
  d = spm_vocab();
  d.model = "t9";
  expect_error(d, "tokenizer.ggml.model 't9' is not supported");
  d = spm_vocab();
  d.bos = 19;
  expect_error(d, "bos_token_id = 19 is out of range");
  d = spm_vocab();
  d.tokens.clear();
  expect_error(d, "tokenizer.ggml.tokens is missing");
  d = bpe_vocab();
  d.pre = "no-such-pre";
  expect_error(d, "unknown pre-tokenizer 'no-such-pre'");
  d = bpe_vocab();
  d.merges.push_back("nospace");
  expect_error(d, "tokenizer.ggml.merges[9]");
  d = bpe_vocab();
  d.merges.clear();
  expect_error(d, "tokenizer.ggml.merges is missing");
  // 0xFFFFFFFF means "none" (stories260K's separator/padding ids).
  d = spm_vocab();
  d.pad = 0xFFFFFFFF;
  EXPECT_TRUE(Tokenizer::from_data(d).is_ok());
}

}  // namespace
}  // namespace kiln
