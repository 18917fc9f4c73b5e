#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pre_tokenizer.h"

#include <pcre2.h>

#include <array>
#include <initializer_list>

namespace kiln {
namespace {

// Regexes verbatim from ../shared/docs/tokenizers.md §6.3 (raw strings: the
// backslashes are PCRE2 escapes).
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen35 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kDeepseekLlmLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";
constexpr const char* kCjk = R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
constexpr const char* kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

enum class Set {
  kDefault,
  kGpt2,
  kStarcoder,
  kFalcon,
  kLlama3,
  kQwen2,
  kQwen35,
  kDeepseekLlm,
  kDeepseekCoder,
  kDeepseekV3,
  kGpt4o
};

std::vector<std::string> patterns_of(Set set) {
  switch (set) {
    case Set::kDefault:
      return {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"};
    case Set::kGpt2:
      return {kGpt2};
    case Set::kStarcoder:
      return {R"(\p{N})", kGpt2};
    case Set::kFalcon:
      return {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"};
    case Set::kLlama3:
      return {kLlama3};
    case Set::kQwen2:
      return {kQwen2};
    case Set::kQwen35:
      return {kQwen35};
    case Set::kDeepseekLlm:
      return {R"([\r\n])",
              kDeepseekLlmLetters,
              R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)",
              R"(\s+$)",
              kCjk,
              R"(\p{N}+)"};
    case Set::kDeepseekCoder:
      return {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjk, R"(\p{N})"};
    case Set::kDeepseekV3:
      return {
          R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
          R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
    case Set::kGpt4o:
      return {kGpt4o};
  }
  return {};
}

struct Entry {
  std::initializer_list<const char*> names;
  Set set;
  bool ignore_merges = false;
  bool clean_spaces = true;
  bool add_bos = false;
};

// The name -> type table of llama_vocab::impl::load, for the supported sets.
const std::array<Entry, 12>& table() {
  static const std::array<Entry, 12> kTable = {{
      {{"default"}, Set::kDefault},
      {{"gpt-2", "mpt", "olmo", "jais", "phi-2", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de",
        "gigachat", "a.x-4.0", "mellum", "modern-bert", "exaone4", "trillion", "granite-docling",
        "roberta-bpe", "jina-v1-en", "jina-v2-code"},
       Set::kGpt2},
      {{"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"}, Set::kStarcoder},
      {{"command-r", "smollm"}, Set::kStarcoder, false, false},
      {{"falcon"}, Set::kFalcon},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
        "jina-v5-nano", "dbrx", "smaug-bpe", "glm4", "chatglm-bpe"},
       Set::kLlama3,
       true,
       true,
       true},
      {{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "hunyuan", "solar-open"},
       Set::kQwen2,
       false,
       false},
      {{"megrez"}, Set::kQwen2},
      {{"qwen35"}, Set::kQwen35, false, false},
      {{"deepseek-llm"}, Set::kDeepseekLlm, false, false},
      {{"deepseek-coder"}, Set::kDeepseekCoder, false, false},
      {{"deepseek-v3"}, Set::kDeepseekV3, false, false},
  }};
  return kTable;
}

}  // namespace

Result<PreTokenizerInfo> pre_tokenizer_info(std::string_view pre_name) {
  static const std::initializer_list<const char*> kGpt4oNames = {"gpt-4o", "llama4", "kanana2",
                                                                 "talkie"};
  for (const char* name : kGpt4oNames) {
    if (pre_name == name) return PreTokenizerInfo{patterns_of(Set::kGpt4o), false, false, false};
  }
  for (const Entry& entry : table()) {
    for (const char* name : entry.names) {
      if (pre_name != name) continue;
      return PreTokenizerInfo{patterns_of(entry.set), entry.ignore_merges, entry.clean_spaces,
                              entry.add_bos};
    }
  }
  return Status::error("tokenizer.ggml.pre: unknown pre-tokenizer '" + std::string(pre_name) + "'");
}

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

Result<PreTokenizer> PreTokenizer::create(const std::vector<std::string>& patterns) {
  PreTokenizer pre;
  for (const std::string& pattern : patterns) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    auto regex = std::make_shared<Regex>();
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK,
                                &error, &offset, nullptr);
    if (regex->code == nullptr) {
      std::array<PCRE2_UCHAR, 256> message{};
      pcre2_get_error_message(error, message.data(), message.size());
      return Status::error("pre-tokenizer regex '" + pattern + "' at offset " +
                           std::to_string(offset) + ": " +
                           reinterpret_cast<const char*>(message.data()));
    }
    pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter
    pre.regexes_.push_back(std::move(regex));
  }
  return pre;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  out.clear();
  if (text.empty()) return;
  out.push_back(text);
  std::vector<std::string_view> next;
  for (const auto& regex : regexes_) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(regex->code, nullptr);
    next.clear();
    for (std::string_view piece : out) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t gap_start = 0, search = 0;
      while (search < piece.size()) {
        // The subject is the piece alone, so lookaheads and `$` see only it.
        const int rc = pcre2_match(regex->code, subject, piece.size(), search, PCRE2_NO_UTF_CHECK,
                                   md, nullptr);
        if (rc < 0) break;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t start = ov[0], end = ov[1];
        if (end == start) {  // empty match: no piece; step one character
          search = start + 1;
          while (search < piece.size() && (static_cast<uint8_t>(piece[search]) & 0xC0) == 0x80) {
            ++search;
          }
          continue;
        }
        if (start > gap_start) next.push_back(piece.substr(gap_start, start - gap_start));
        next.push_back(piece.substr(start, end - start));
        gap_start = search = end;
      }
      if (gap_start < piece.size()) next.push_back(piece.substr(gap_start));
    }
    pcre2_match_data_free(md);
    out.swap(next);
  }
}

}  // namespace kiln
