#include "mixed_text.h"

#include <algorithm>
#include <array>
#include <random>
#include <string_view>

namespace kiln::bench {
namespace {

constexpr std::array<std::string_view, 64> kWords = {"the",
                                                     "of",
                                                     "and",
                                                     "to",
                                                     "in",
                                                     "is",
                                                     "that",
                                                     "it",
                                                     "was",
                                                     "for",
                                                     "on",
                                                     "are",
                                                     "with",
                                                     "as",
                                                     "kiln",
                                                     "model",
                                                     "token",
                                                     "server",
                                                     "inference",
                                                     "weights",
                                                     "quantized",
                                                     "memory",
                                                     "bandwidth",
                                                     "request",
                                                     "stream",
                                                     "latency",
                                                     "between",
                                                     "however",
                                                     "although",
                                                     "because",
                                                     "people",
                                                     "water",
                                                     "history",
                                                     "morning",
                                                     "quickly",
                                                     "beautiful",
                                                     "important",
                                                     "system",
                                                     "network",
                                                     "function",
                                                     "variable",
                                                     "language",
                                                     "don't",
                                                     "it's",
                                                     "we've",
                                                     "they'll",
                                                     "Internationalization",
                                                     "naïve",
                                                     "café",
                                                     "résumé",
                                                     "über",
                                                     "Straße",
                                                     "year",
                                                     "little",
                                                     "world",
                                                     "because",
                                                     "question",
                                                     "answer",
                                                     "example",
                                                     "different",
                                                     "number",
                                                     "together",
                                                     "mountain"};

constexpr std::array<std::string_view, 12> kCode = {
    "def {}(x, y):\n    return x * {} + y\n\n",
    "for (int i = 0; i < {}; ++i) {\n\tsum += v[i] * {};\n}\n",
    "if ({} >= {} && !done) {\n  return std::make_unique<Node>({});\n}\n",
    "const {} = await fetch(`/api/v1/items/${id}?limit={}`);\n",
    "{\"id\": {}, \"name\": \"{}\", \"tags\": [\"a\", \"b\"], \"ok\": true}\n",
    "SELECT {} FROM users WHERE age > {} ORDER BY id DESC;\n",
    "<div class=\"{}\"><span>{}</span></div>\n",
    "    # TODO({}): handle the {} case\n",
    "fn {}(&mut self) -> Result<u32, Error> { Ok({}) }\n",
    "x_{} = np.zeros(({}, 64), dtype=np.float32)\n",
    "$ ./build/kiln run -m models/{}.gguf -n {} --temp 0\n",
    "#include <{}>\n#define MAX_{} 1024\n",
};

constexpr std::array<std::string_view, 48> kCjk = {
    "的", "一", "是", "不", "了", "人", "我", "在", "有", "他", "这", "中", "大", "来", "上", "国",
    "个", "到", "说", "们", "为", "子", "和", "你", "の", "に", "は", "を", "た", "が", "で", "て",
    "と", "し", "れ", "さ", "한", "국", "어", "문", "장", "입", "니", "다", "。", "，", "、", "！"};

constexpr std::array<std::string_view, 12> kScripts = {"Привет",  "мир",  "библиотека", "مرحبا",
                                                       "بالعالم", "كتاب", "नमस्ते",       "दुनिया",
                                                       "भाषा",    "Γειά", "κόσμε",      "สวัสดี"};

constexpr std::array<std::string_view, 16> kEmoji = {
    "😀",  "😂", "❤️", "👍",        "🔥", "✨", "🎉", "🤖", "👨‍👩‍👧",
    "🇯🇵", "☕", "🚀",      "👍🏽", "🙏", "💡", "🌍"};

constexpr std::array<std::string_view, 10> kSpace = {" ",    "  ",   "\n",   "\n\n", "\t",
                                                     "\t\t", "    ", "\r\n", " \n",  "   "};

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }

  template <size_t N>
  std::string_view pick(const std::array<std::string_view, N>& a) {
    return a[below(N)];
  }

  std::string number() {
    switch (below(4)) {
      case 0:
        return std::to_string(below(1000));
      case 1:
        return std::to_string(rng_()) + std::to_string(below(100000));
      case 2:
        return std::to_string(below(100)) + "." + std::to_string(below(100000));
      default:
        return "20" + std::to_string(10 + below(20)) + "-0" + std::to_string(1 + below(9)) + "-" +
               std::to_string(10 + below(18));
    }
  }

  void prose(std::string& out) {
    const uint32_t n = 6 + below(14);
    for (uint32_t i = 0; i < n; ++i) {
      std::string word(pick(kWords));
      if (i == 0 && word[0] >= 'a' && word[0] <= 'z') word[0] = static_cast<char>(word[0] - 32);
      out += word;
      if (below(10) == 0) out += ",";
      out += i + 1 < n ? " " : "";
    }
    out += below(5) == 0 ? "? " : ". ";
    if (below(4) == 0) out += "\n\n";
  }

  void code(std::string& out) {
    std::string_view t = pick(kCode);
    for (size_t i = 0; i < t.size(); ++i) {
      if (t.compare(i, 2, "{}") == 0) {
        out += below(2) ? std::string(pick(kWords)) : number();
        ++i;
      } else {
        out += t[i];
      }
    }
  }

  void cjk(std::string& out) {
    const uint32_t n = 8 + below(30);
    for (uint32_t i = 0; i < n; ++i) out += pick(kCjk);
  }

  void scripts(std::string& out) {
    const uint32_t n = 3 + below(8);
    for (uint32_t i = 0; i < n; ++i) {
      out += pick(kScripts);
      out += ' ';
    }
  }

 private:
  std::mt19937 rng_;
};

// `s` cut to at most `bytes` bytes at a UTF-8 character boundary.
std::string cut_at_character(std::string& s, size_t bytes) {
  size_t cut = std::min(bytes, s.size());
  while (cut > 0 && cut < s.size() && (static_cast<uint8_t>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return std::move(s);
}

}  // namespace

std::string make_mixed_text(size_t bytes, uint32_t seed) {
  Generator g(seed);
  std::string out;
  out.reserve(bytes + 256);
  while (out.size() < bytes) {
    const uint32_t r = g.below(100);
    if (r < 50) {
      g.prose(out);
    } else if (r < 70) {
      g.code(out);
    } else if (r < 80) {
      g.cjk(out);
    } else if (r < 85) {
      g.scripts(out);
    } else if (r < 90) {
      out += g.number();
      out += ' ';
    } else if (r < 95) {
      out += g.pick(kEmoji);
      out += ' ';
    } else {
      out += g.pick(kSpace);
    }
  }
  return cut_at_character(out, bytes);
}

std::string make_cjk_text(size_t bytes, uint32_t seed) {
  Generator g(seed);
  std::string out;
  out.reserve(bytes + 256);
  while (out.size() < bytes) g.cjk(out);
  return cut_at_character(out, bytes);
}

}  // namespace kiln::bench
