// Vocabulary loading and validation (tokenizers.md §1, §2, §4).
#include <algorithm>
#include <cstdio>

#include "core/log.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer_state.h"
#include "tokenizer/unicode.h"

namespace kiln {
namespace detail {
namespace {

constexpr int64_t kNullId = 0xFFFFFFFF;  // LLAMA_TOKEN_NULL as stored in u32 keys

uint32_t attr_of_type(TokenType type) {
  switch (type) {
    case TokenType::kNormal:
      return kAttrNormal;
    case TokenType::kUnknown:
      return kAttrUnknown;
    case TokenType::kControl:
      return kAttrControl;
    case TokenType::kUserDefined:
      return kAttrUserDefined;
    case TokenType::kUnused:
      return kAttrUnused;
    case TokenType::kByte:
      return kAttrByte;
    case TokenType::kUndefined:
      return 0;
  }
  return 0;
}

// Special id: nullopt/0xFFFFFFFF keeps `fallback`; out of range is an error
// for the ids generation depends on (`required`), else a warning.
Result<int32_t> resolve_id(const std::optional<int64_t>& id, const char* key, int32_t fallback,
                           int32_t n_tokens, bool required) {
  if (fallback >= n_tokens) fallback = -1;
  if (!id.has_value() || *id == kNullId || *id == -1) return fallback;
  if (*id >= 0 && *id < n_tokens) return static_cast<int32_t>(*id);
  std::string message = std::string("tokenizer.ggml.") + key + " = " + std::to_string(*id) +
                        " is out of range (n_tokens " + std::to_string(n_tokens) + ")";
  if (required) return Status::error(message);
  KILN_LOG_WARN("{}; ignored", message);
  return fallback;
}

Status load_tokens(TokenizerState& st, VocabData& data) {
  const size_t n = data.tokens.size();
  if (n == 0) return Status::error("tokenizer.ggml.tokens is missing or empty");
  if (n > 0x7FFFFFFF) return Status::error("tokenizer.ggml.tokens has too many entries");
  if (!data.scores.empty() && data.scores.size() != n) {
    return Status::error("tokenizer.ggml.scores has " + std::to_string(data.scores.size()) +
                         " entries but tokenizer.ggml.tokens has " + std::to_string(n));
  }
  if (!data.token_types.empty() && data.token_types.size() != n) {
    return Status::error("tokenizer.ggml.token_type has " +
                         std::to_string(data.token_types.size()) +
                         " entries but tokenizer.ggml.tokens has " + std::to_string(n));
  }
  st.text = std::move(data.tokens);
  st.score = data.scores.empty() ? std::vector<float>(n, 0.0f) : std::move(data.scores);
  st.type.resize(n);
  st.attr.resize(n);
  st.eog.assign(n, 0);
  st.token_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int32_t raw = data.token_types.empty() ? 1 : data.token_types[i];
    if (raw < 0 || raw > 6) {
      return Status::error("tokenizer.ggml.token_type[" + std::to_string(i) +
                           "] = " + std::to_string(raw) + " is not a token type (0..6)");
    }
    st.type[i] = static_cast<TokenType>(raw);
    st.attr[i] = attr_of_type(st.type[i]);
    if (st.text[i].empty()) st.text[i] = "[EMPTY_" + std::to_string(i) + "]";
    st.token_to_id[st.text[i]] = static_cast<int32_t>(i);  // last wins, as llama.cpp
  }
  return Status::ok();
}

Status load_merges(TokenizerState& st, const std::vector<std::string>& merges) {
  if (merges.empty()) return Status::error("tokenizer.ggml.merges is missing (required for gpt2)");
  st.merge_rank.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& m = merges[i];
    const size_t pos = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    if (pos == std::string::npos) {
      return Status::error("tokenizer.ggml.merges[" + std::to_string(i) + "] = '" + m +
                           "' is not two parts separated by a space");
    }
    const int32_t left = st.find(std::string_view(m).substr(0, pos));
    const int32_t right = st.find(std::string_view(m).substr(pos + 1));
    if (left >= 0 && right >= 0) {
      const std::string_view joined = std::string_view(m).substr(0, pos);
      const int32_t result = st.find(std::string(joined) + m.substr(pos + 1));
      st.merge_by_ids.try_emplace(merge_key(left, right),
                                  MergeInfo{static_cast<int32_t>(i), result});
    }
    std::string key = m.substr(0, pos);
    key += '\0';
    key.append(m, pos + 1);
    st.merge_rank.emplace(std::move(key), static_cast<int32_t>(i));
  }
  for (int b = 0; b < 256; ++b) {
    st.byte_char_token[b] = st.find(unicode::byte_to_unicode(static_cast<uint8_t>(b)));
  }
  return Status::ok();
}

// EOG set and the CONTROL fix-ups of llama_vocab::impl::load (§2).
void mark_eog(TokenizerState& st) {
  static const char* const kEogTexts[] = {"<|eot_id|>",
                                          "<|im_end|>",
                                          "<|end|>",
                                          "<|return|>",
                                          "<|call|>",
                                          "<|flush|>",
                                          "<|calls|>",
                                          "<end_of_turn>",
                                          "<|endoftext|>",
                                          "</s>",
                                          "<|eom_id|>",
                                          "<EOT>",
                                          "_<EOT>",
                                          "[EOT]",
                                          "[EOS]",
                                          "<|end_of_text|>",
                                          "<end_of_utterance>",
                                          "<eos>",
                                          "<turn|>",
                                          "<|tool_response>",
                                          "<\xEF\xBD\x9C"
                                          "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
  static const char* const kEotTexts[] = {"<|eot_id|>",
                                          "<|im_end|>",
                                          "<|end|>",
                                          "<end_of_turn>",
                                          "<|endoftext|>",
                                          "<EOT>",
                                          "_<EOT>",
                                          "<\xEF\xBD\x9C"
                                          "end\xE2\x96\x81of\xE2\x96\x81sentence"
                                          "\xEF\xBD\x9C>"};
  if (st.eot < 0) {
    for (const char* t : kEotTexts) {
      if (const int32_t id = st.find(t); id >= 0) {
        st.eot = id;
        if (!(st.attr[id] & kAttrControl)) st.attr[id] = kAttrControl;
        break;
      }
    }
  }
  for (const char* t : kEogTexts) {
    const int32_t id = st.find(t);
    if (id < 0) continue;
    st.eog[id] = 1;
    if (!(st.attr[id] & kAttrControl)) st.attr[id] = kAttrControl;
  }
  for (int32_t id : {st.eos, st.eot, st.eom}) {
    if (id >= 0) st.eog[id] = 1;
  }
  auto demote = [&](const char* t, uint32_t attr) {
    if (const int32_t id = st.find(t); id >= 0) {
      st.eog[id] = 0;
      st.attr[id] = attr;
    }
  };
  if ((st.find("<|return|>") >= 0 && st.find("<|call|>") >= 0) ||
      (st.find("<|calls|>") >= 0 && st.find("<|flush|>") >= 0)) {
    demote("<|end|>", kAttrUserDefined);
  }
  if (st.find("<|tool_response>") >= 0) demote("</s>", kAttrNormal);
  for (int32_t id = 0; id < st.n_tokens(); ++id) {
    if ((st.attr[id] & kAttrControl) && st.text[id].find("unused") != std::string::npos) {
      st.attr[id] |= kAttrUnused;
    }
  }
}

void build_special_cache(TokenizerState& st, const std::string& general_name) {
  for (int32_t id = 0; id < st.n_tokens(); ++id) {
    if (st.attr[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) {
      st.special_tokens.push_back(id);
    }
  }
  std::stable_sort(st.special_tokens.begin(), st.special_tokens.end(),
                   [&](int32_t a, int32_t b) { return st.text[a].size() > st.text[b].size(); });
  st.special_trie.build(st.text, st.special_tokens);
  std::string name = general_name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : st.special_tokens) st.attr[id] |= kAttrRstrip;
    if (const int32_t id = st.find("</s>"); id >= 0) st.attr[id] |= kAttrRstrip;
    for (const char* t : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (const int32_t id = st.find(t); id >= 0) st.attr[id] &= ~kAttrRstrip;
    }
  }
}

void build_byte_tokens(TokenizerState& st) {
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
    int32_t id = st.find(hex);
    if (id < 0) id = st.find(std::string(1, static_cast<char>(b)));
    st.byte_token[b] = id;
  }
}

// Every character that some token has right before a U+2581 (spm.cpp uses
// the complement as safe segment boundaries).
void build_spm_boundaries(TokenizerState& st) {
  constexpr std::string_view kSpace = "\xE2\x96\x81";
  for (const std::string& text : st.text) {
    for (size_t pos = text.find(kSpace, 1); pos != std::string::npos;
         pos = text.find(kSpace, pos + 1)) {
      size_t start = pos - 1;  // back to the start of the previous character
      while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
      st.spm_joins_space.emplace(text, start, pos - start);
    }
  }
}

Status load_specials(TokenizerState& st, const VocabData& data) {
  const int32_t n = st.n_tokens();
  const bool spm = st.kind == VocabKind::kSpm;
  KILN_ASSIGN_OR_RETURN(st.bos, resolve_id(data.bos, "bos_token_id", spm ? 1 : 11, n, true));
  KILN_ASSIGN_OR_RETURN(st.eos, resolve_id(data.eos, "eos_token_id", spm ? 2 : 11, n, true));
  KILN_ASSIGN_OR_RETURN(st.unk, resolve_id(data.unk, "unknown_token_id", spm ? 0 : -1, n, true));
  KILN_ASSIGN_OR_RETURN(st.eot, resolve_id(data.eot, "eot_token_id", -1, n, true));
  KILN_ASSIGN_OR_RETURN(st.eom, resolve_id(data.eom, "eom_token_id", -1, n, false));
  KILN_ASSIGN_OR_RETURN(st.pad, resolve_id(data.pad, "padding_token_id", -1, n, false));
  KILN_ASSIGN_OR_RETURN(st.sep, resolve_id(data.sep, "seperator_token_id", -1, n, false));
  struct Fim {
    const std::optional<int64_t>* id;
    const char* key;
  };
  for (const Fim& f :
       {Fim{&data.fim_pad, "fim_pad_token_id"}, Fim{&data.fim_rep, "fim_rep_token_id"},
        Fim{&data.fim_sep, "fim_sep_token_id"}}) {
    KILN_ASSIGN_OR_RETURN(int32_t id, resolve_id(*f.id, f.key, -1, n, false));
    if (id >= 0) st.eog[id] = 1;
  }
  return Status::ok();
}

}  // namespace

Result<std::shared_ptr<const TokenizerState>> build_state(VocabData data) {
  auto st = std::make_shared<TokenizerState>();
  st->model_name = data.model;
  PreTokenizerInfo pre_info;
  if (data.model == "llama") {
    st->kind = VocabKind::kSpm;
    st->pre_name = data.pre.value_or("default");
    st->add_bos = true;
    st->add_space_prefix = true;
    st->clean_spaces = false;
  } else if (data.model == "gpt2") {
    st->kind = VocabKind::kBpe;
    if (!data.pre.has_value()) {
      KILN_LOG_WARN(
          "tokenizer.ggml.pre is missing: using the 'default' pre-tokenizer, which "
          "may tokenize differently from the model's reference tokenizer");
    }
    st->pre_name = data.pre.value_or("default");
    KILN_ASSIGN_OR_RETURN(pre_info, pre_tokenizer_info(st->pre_name));
    st->add_bos = pre_info.add_bos;
    st->ignore_merges = pre_info.ignore_merges;
    st->clean_spaces = pre_info.clean_spaces;
    KILN_ASSIGN_OR_RETURN(st->pre, PreTokenizer::create(pre_info.patterns));
  } else if (data.model.empty()) {
    return Status::error("tokenizer.ggml.model is missing");
  } else {
    return Status::error("tokenizer.ggml.model '" + data.model +
                         "' is not supported (supported: llama = SPM, gpt2 = BPE)");
  }
  KILN_TRY(load_tokens(*st, data));
  if (st->kind == VocabKind::kBpe) KILN_TRY(load_merges(*st, data.merges));
  KILN_TRY(load_specials(*st, data));
  st->add_bos = data.add_bos.value_or(st->add_bos);
  st->add_eos = data.add_eos.value_or(false);
  st->add_space_prefix = data.add_space_prefix.value_or(st->add_space_prefix);
  if (st->add_bos && st->bos < 0) return Status::error("add_bos_token is set but there is no BOS");
  if (st->add_eos && st->eos < 0) return Status::error("add_eos_token is set but there is no EOS");
  mark_eog(*st);
  build_special_cache(*st, data.general_name);
  build_byte_tokens(*st);
  if (st->kind == VocabKind::kSpm) build_spm_boundaries(*st);
  st->chat_template = data.chat_template.value_or("");
  return std::shared_ptr<const TokenizerState>(std::move(st));
}

namespace {

Result<std::optional<int64_t>> read_id(const gguf::GgufFile& file, const std::string& key) {
  const gguf::Value* v = file.find(key);
  if (v == nullptr) return std::optional<int64_t>();
  if (const auto* u = std::get_if<uint32_t>(&v->v)) return std::optional<int64_t>(*u);
  if (const auto* i = std::get_if<int32_t>(&v->v)) return std::optional<int64_t>(*i);
  if (const auto* u64 = std::get_if<uint64_t>(&v->v)) {
    return std::optional<int64_t>(*u64 > 0xFFFFFFFFull ? int64_t{1} << 40 : int64_t(*u64));
  }
  return Status::error("key '" + key + "' has type " +
                       std::string(gguf::value_type_name(v->type())) + ", expected u32");
}

Result<std::optional<bool>> read_flag(const gguf::GgufFile& file, const std::string& key) {
  if (!file.has(key)) return std::optional<bool>();
  KILN_ASSIGN_OR_RETURN(bool value, file.get_bool(key));
  return std::optional<bool>(value);
}

Result<std::optional<std::string>> read_opt_string(const gguf::GgufFile& file,
                                                   const std::string& key) {
  if (!file.has(key)) return std::optional<std::string>();
  KILN_ASSIGN_OR_RETURN(std::string value, file.get_string(key));
  return std::optional<std::string>(std::move(value));
}

Result<VocabData> read_vocab(const gguf::GgufFile& file) {
  VocabData d;
  const std::string p = "tokenizer.ggml.";
  KILN_ASSIGN_OR_RETURN(d.model, file.get_string(p + "model"));
  KILN_ASSIGN_OR_RETURN(d.pre, read_opt_string(file, p + "pre"));
  if (file.has("general.name")) {
    KILN_ASSIGN_OR_RETURN(d.general_name, file.get_string("general.name"));
  }
  KILN_ASSIGN_OR_RETURN(d.tokens, file.get_string_array(p + "tokens"));
  if (file.has(p + "scores")) {
    KILN_ASSIGN_OR_RETURN(d.scores, file.get_f32_array(p + "scores"));
  }
  if (file.has(p + "token_type")) {
    KILN_ASSIGN_OR_RETURN(d.token_types, file.get_i32_array(p + "token_type"));
  }
  if (file.has(p + "merges")) {
    KILN_ASSIGN_OR_RETURN(d.merges, file.get_string_array(p + "merges"));
  }
  struct IdKey {
    std::optional<int64_t>* field;
    const char* key;
  };
  for (const IdKey& k :
       {IdKey{&d.bos, "bos_token_id"}, IdKey{&d.eos, "eos_token_id"}, IdKey{&d.eot, "eot_token_id"},
        IdKey{&d.eom, "eom_token_id"}, IdKey{&d.unk, "unknown_token_id"},
        IdKey{&d.sep, "seperator_token_id"}, IdKey{&d.pad, "padding_token_id"},
        IdKey{&d.cls, "cls_token_id"}, IdKey{&d.mask, "mask_token_id"},
        IdKey{&d.fim_pre, "fim_pre_token_id"}, IdKey{&d.fim_suf, "fim_suf_token_id"},
        IdKey{&d.fim_mid, "fim_mid_token_id"}, IdKey{&d.fim_pad, "fim_pad_token_id"},
        IdKey{&d.fim_rep, "fim_rep_token_id"}, IdKey{&d.fim_sep, "fim_sep_token_id"}}) {
    KILN_ASSIGN_OR_RETURN(*k.field, read_id(file, p + k.key));
  }
  KILN_ASSIGN_OR_RETURN(d.add_bos, read_flag(file, p + "add_bos_token"));
  KILN_ASSIGN_OR_RETURN(d.add_eos, read_flag(file, p + "add_eos_token"));
  KILN_ASSIGN_OR_RETURN(d.add_space_prefix, read_flag(file, p + "add_space_prefix"));
  KILN_ASSIGN_OR_RETURN(d.chat_template, read_opt_string(file, "tokenizer.chat_template"));
  return d;
}

}  // namespace

void SpecialTrie::build(const std::vector<std::string>& texts,
                        const std::vector<int32_t>& special_tokens) {
  root.fill(-1);
  edges.clear();
  rank.clear();
  for (size_t r = 0; r < special_tokens.size(); ++r) {
    const std::string& text = texts[special_tokens[r]];
    if (text.empty()) continue;
    int32_t& first = root[static_cast<uint8_t>(text[0])];
    if (first < 0) {
      first = static_cast<int32_t>(rank.size());
      rank.push_back(-1);
    }
    int32_t node = first;
    for (size_t i = 1; i < text.size(); ++i) {
      const uint64_t key = static_cast<uint64_t>(node) << 8 | static_cast<uint8_t>(text[i]);
      auto [it, inserted] = edges.try_emplace(key, static_cast<int32_t>(rank.size()));
      if (inserted) rank.push_back(-1);
      node = it->second;
    }
    if (rank[node] < 0) rank[node] = static_cast<int32_t>(r);
  }
}

void SpecialTrie::find_all(std::string_view text, std::vector<int32_t>& ranks) const {
  for (size_t i = 0; i < text.size(); ++i) {
    int32_t node = root[static_cast<uint8_t>(text[i])];
    for (size_t j = i + 1; node >= 0; ++j) {
      if (rank[node] >= 0) ranks.push_back(rank[node]);
      if (j == text.size()) break;
      auto it = edges.find(static_cast<uint64_t>(node) << 8 | static_cast<uint8_t>(text[j]));
      node = it == edges.end() ? -1 : it->second;
    }
  }
}

}  // namespace detail

Result<Tokenizer> Tokenizer::from_data(VocabData data) {
  auto state = detail::build_state(std::move(data));
  if (!state.is_ok()) return state.status().with_context("tokenizer");
  return Tokenizer(std::move(state).value());
}

Result<Tokenizer> Tokenizer::from_gguf(const gguf::GgufFile& file) {
  auto data = detail::read_vocab(file);
  if (!data.is_ok()) return data.status().with_context("tokenizer");
  return from_data(std::move(data).value());
}

}  // namespace kiln
