#include "tools/quantize_policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <type_traits>
#include <variant>

#include "quant/quant.h"

namespace kiln::tools {

namespace {

using T = GgmlType;
using F = FileType;

// Sizes are bits per weight of the base type; mixes end a little above it.
constexpr std::array<FileTypeInfo, 22> kFileTypes = {{
    {"Q4_0", F::kQ4_0, T::Q4_0, "4.50 bpw, legacy: one scale per 32 weights"},
    {"Q4_1", F::kQ4_1, T::Q4_1, "5.00 bpw, legacy: scale and minimum per 32 weights"},
    {"Q5_0", F::kQ5_0, T::Q5_0, "5.50 bpw, legacy"},
    {"Q5_1", F::kQ5_1, T::Q5_1, "6.00 bpw, legacy"},
    {"Q8_0", F::kQ8_0, T::Q8_0, "8.50 bpw, nearly lossless"},
    {"Q2_K", F::kQ2_K, T::Q2_K, "mix on Q2_K (2.63 bpw): attn_v, ffn_down, attn_output Q3_K+"},
    {"Q3_K_S", F::kQ3_K_S, T::Q3_K, "Q3_K (3.44 bpw), output Q6_K"},
    {"Q3_K_M", F::kQ3_K_M, T::Q3_K, "mix on Q3_K: attn_v, ffn_down, attn_output Q4_K/Q5_K"},
    {"Q3_K", F::kQ3_K_M, T::Q3_K, "alias for Q3_K_M", true},
    {"Q3_K_L", F::kQ3_K_L, T::Q3_K, "mix on Q3_K: attn_v, ffn_down, attn_output Q5_K"},
    {"IQ4_NL", F::kIQ4_NL, T::IQ4_NL, "4.50 bpw, non-linear grid, blocks of 32, output Q6_K"},
    {"IQ4_XS", F::kIQ4_XS, T::IQ4_XS, "4.25 bpw, non-linear grid, blocks of 256, output Q6_K"},
    {"Q4_K_S", F::kQ4_K_S, T::Q4_K, "mix on Q4_K (4.50 bpw): first attn_v/ffn_down Q5_K"},
    {"Q4_K_M", F::kQ4_K_M, T::Q4_K, "mix on Q4_K: about half of attn_v/ffn_down Q6_K"},
    {"Q4_K", F::kQ4_K_M, T::Q4_K, "alias for Q4_K_M", true},
    {"Q5_K_S", F::kQ5_K_S, T::Q5_K, "Q5_K (5.50 bpw), output Q6_K"},
    {"Q5_K_M", F::kQ5_K_M, T::Q5_K, "mix on Q5_K: about half of attn_v/ffn_down Q6_K"},
    {"Q5_K", F::kQ5_K_M, T::Q5_K, "alias for Q5_K_M", true},
    {"Q6_K", F::kQ6_K, T::Q6_K, "6.56 bpw"},
    {"F16", F::kF16, T::F16, "16 bpw, IEEE half"},
    {"BF16", F::kBF16, T::BF16, "16 bpw, bfloat16"},
    {"F32", F::kAllF32, T::F32, "32 bpw (with --allow-requantize: dequantizes)"},
}};

// llama-quantize types kiln has no quantizer (or no imatrix) for.
constexpr std::array<std::string_view, 17> kUnsupportedNames = {
    "Q1_0",  "Q2_0",  "MXFP4_MOE", "NVFP4",  "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S",
    "IQ1_M", "TQ1_0", "TQ2_0",     "Q2_K_S", "IQ3_XXS", "IQ3_S",  "IQ3_M", "IQ3_XS"};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

std::string accepted_names() {
  std::string out;
  for (const FileTypeInfo& info : file_types()) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

}  // namespace

std::span<const FileTypeInfo> file_types() { return kFileTypes; }

Result<FileTypeInfo> parse_file_type(std::string_view text) {
  for (const FileTypeInfo& info : file_types()) {
    if (iequals(text, info.name)) return info;
  }
  uint32_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
    for (const FileTypeInfo& info : file_types()) {
      if (static_cast<uint32_t>(info.ftype) == number && !info.alias) return info;
    }
  }
  for (std::string_view name : kUnsupportedNames) {
    if (iequals(text, name)) {
      return Status::error("type '" + std::string(text) +
                           "' is a llama-quantize type kiln cannot produce (it needs an "
                           "importance matrix or a quantizer kiln lacks); use one of " +
                           accepted_names());
    }
  }
  return Status::error("unknown type '" + std::string(text) + "'; use one of " + accepted_names() +
                       " (or a general.file_type number)");
}

std::string_view file_type_name(FileType ftype) {
  for (const FileTypeInfo& info : file_types()) {
    if (info.ftype == ftype && !info.alias) return info.name;
  }
  return "?";
}

Result<GgmlType> parse_tensor_type(std::string_view text) {
  for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
    const auto traits = ggml_type_traits(id);
    if (traits && iequals(text, traits->name)) {
      const auto type = static_cast<GgmlType>(id);
      if (quant::can_quantize(type)) return type;
      return Status::error("tensor type '" + std::string(text) + "' cannot be produced by kiln");
    }
  }
  return Status::error("unknown tensor type '" + std::string(text) +
                       "' (f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_K, q3_K, q4_K, q5_K, "
                       "q6_K, iq4_nl, iq4_xs)");
}

namespace {

// An integer metadata value (any integer type; an array gives its first item).
std::optional<int64_t> int_value(const gguf::Value* value) {
  if (value == nullptr) return std::nullopt;
  if (const auto* array = std::get_if<gguf::ArrayValue>(&value->v)) {
    if (array->items.empty()) return std::nullopt;
    return int_value(&array->items.front());
  }
  return std::visit(
      [](const auto& x) -> std::optional<int64_t> {
        using V = std::decay_t<decltype(x)>;
        if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
          return static_cast<int64_t>(x);
        } else {
          return std::nullopt;
        }
      },
      value->v);
}

int clamp_int(std::optional<int64_t> v, int fallback) {
  if (!v || *v < 0 || *v > (1 << 20)) return fallback;
  return static_cast<int>(*v);
}

// The N of "blk.N." or -1 (llama.cpp's sscanf("blk.%d.")).
int layer_of(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

}  // namespace

ModelInfo model_info(const gguf::GgufFile& file) {
  ModelInfo info;
  if (auto arch = file.get_string("general.architecture")) info.arch = *arch;
  const std::string prefix = info.arch + ".";
  int max_layer = -1;
  for (const gguf::TensorInfo& t : file.tensors())
    max_layer = std::max(max_layer, layer_of(t.name));
  info.n_layer = clamp_int(int_value(file.find(prefix + "block_count")), max_layer + 1);
  info.n_head = clamp_int(int_value(file.find(prefix + "attention.head_count")), 0);
  info.n_head_kv = clamp_int(int_value(file.find(prefix + "attention.head_count_kv")), info.n_head);
  info.n_expert = clamp_int(int_value(file.find(prefix + "expert_count")), 0);
  return info;
}

bool llama_tensor_less(const std::string& a, const std::string& b) {
  const int la = layer_of(a);
  const int lb = layer_of(b);
  if (la != lb) return la < lb;
  return a < b;
}

namespace {

// llama.cpp's tensor categories (substring matches on the name).
enum class Category {
  kTokenEmbd,
  kAttnQ,
  kAttnK,
  kAttnV,  // attn_v, attn_qkv and attn_kv_b: the rules treat them alike
  kAttnOutput,
  kFfnUp,
  kFfnGate,
  kFfnDown,
  kOutput,
  kOther,
};

bool has(const std::string& name, std::string_view part) {
  return name.find(part) != std::string::npos;
}

Category category_of(const std::string& name) {
  if (name == "output.weight") return Category::kOutput;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") {
    return Category::kTokenEmbd;
  }
  if (has(name, "attn_qkv.weight") || has(name, "attn_kv_b.weight") || has(name, "attn_v.weight")) {
    return Category::kAttnV;
  }
  if (has(name, "attn_k.weight")) return Category::kAttnK;
  if (has(name, "attn_q.weight")) return Category::kAttnQ;
  if (has(name, "attn_output.weight")) return Category::kAttnOutput;
  if (has(name, "ffn_up")) return Category::kFfnUp;
  if (has(name, "ffn_gate")) return Category::kFfnGate;
  if (has(name, "ffn_down")) return Category::kFfnDown;
  return Category::kOther;
}

// Name parts of tensors llama-quantize never converts (small or special).
constexpr std::array<std::string_view, 35> kKeptParts = {"_norm.weight",
                                                         "ffn_gate_inp.weight",
                                                         "ffn_gate_tid2eid.weight",
                                                         "altup",
                                                         "laurel",
                                                         "per_layer_model_proj",
                                                         "ssm_conv1d",
                                                         "shortconv.conv.weight",
                                                         "indexer.k_proj.weight",
                                                         "indexer.q_proj.weight",
                                                         "time_mix_first.weight",
                                                         "time_mix_w0.weight",
                                                         "time_mix_w1.weight",
                                                         "time_mix_w2.weight",
                                                         "time_mix_v0.weight",
                                                         "time_mix_v1.weight",
                                                         "time_mix_v2.weight",
                                                         "time_mix_a0.weight",
                                                         "time_mix_a1.weight",
                                                         "time_mix_a2.weight",
                                                         "time_mix_g1.weight",
                                                         "time_mix_g2.weight",
                                                         "time_mix_decay_w1.weight",
                                                         "time_mix_decay_w2.weight",
                                                         "time_mix_lerp_fused.weight",
                                                         "attn_rel_b.weight",
                                                         ".position_embd",
                                                         "sam.pos_embd",
                                                         "sam.neck.",
                                                         "sam.net_",
                                                         ".rel_pos",
                                                         ".patch_embd",
                                                         ".patch_merger",
                                                         "a.rvq.codebook",
                                                         "mm.a.code_embd"};

int n_dims(const gguf::TensorInfo& t) {
  int n = 1;
  for (int d = 0; d < gguf::kMaxDims; ++d) {
    if (t.ne[d] > 1) n = d + 1;
  }
  return n;
}

bool is_converted(const gguf::TensorInfo& t, const QuantizeRules& rules) {
  const std::string& name = t.name;
  if (n_dims(t) < 2) return false;
  if (name.size() < 6 || name.compare(name.size() - 6, 6, "weight") != 0) return false;
  if (!rules.quantize_output && name == "output.weight") return false;
  if (name == "position_embd.weight" || name == "token_types.weight") return false;
  return std::none_of(kKeptParts.begin(), kKeptParts.end(),
                      [&](std::string_view part) { return has(name, part); });
}

bool is_quantized(GgmlType type) {
  return type != GgmlType::F32 && type != GgmlType::F16 && type != GgmlType::BF16;
}

uint32_t block_size(GgmlType type) {
  return ggml_type_traits(static_cast<uint32_t>(type))->block_size;
}

// llama.cpp: more bits for the first and last eighth of the layers and every
// third layer in between.
bool use_more_bits(int i_layer, int n_layer) {
  return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

// The counters of llama.cpp's quantize state: the mixes look at the index of
// each attn_v / ffn_down among its kind.
struct MixState {
  const ModelInfo& model;
  FileType ftype;
  std::optional<GgmlType> output_override;  // --output-tensor-type (also a tied token_embd)
  bool tied = true;                         // no output.weight: token_embd doubles as the output
  int n_attn_v = 0;
  int i_attn_v = 0;
  int i_ffn_down = 0;
  int i_ffn_gate = 0;
  int i_ffn_up = 0;
  bool falcon() const { return model.arch == "falcon"; }
  // (layer, n_layer) of an FFN tensor: the counter, or the name for MoE models
  // (whose expert tensors are not one per layer in order).
  int ffn_layer(int counter, const std::string& name) const {
    const int parsed = layer_of(name);
    return model.n_expert > 1 && parsed >= 0 ? parsed : counter;
  }
};

GgmlType output_type(const MixState& s, const gguf::TensorInfo& t, GgmlType type) {
  if (s.output_override) return *s.output_override;
  if (s.falcon() || t.ne[0] % block_size(type) != 0) return GgmlType::Q8_0;
  return type == GgmlType::Q8_0 ? type : GgmlType::Q6_K;
}

GgmlType attn_v_type(MixState& s, GgmlType type) {
  const int gqa = s.model.n_gqa();
  switch (s.ftype) {
    case F::kQ2_K:
      type = gqa >= 4 ? T::Q4_K : T::Q3_K;
      break;
    case F::kQ3_K_M:
      type = s.i_attn_v < 2 ? T::Q5_K : T::Q4_K;
      break;
    case F::kQ3_K_L:
      type = T::Q5_K;
      break;
    case F::kIQ4_NL:
    case F::kIQ4_XS:
      if (gqa >= 4) type = T::Q5_K;
      break;
    case F::kQ4_K_M:
    case F::kQ5_K_M:
      if (use_more_bits(s.i_attn_v, s.n_attn_v)) type = T::Q6_K;
      break;
    case F::kQ4_K_S:
      if (s.i_attn_v < 4) type = T::Q5_K;
      break;
    default:
      break;
  }
  // 70B: 8 heads share each attn_v row, so more bits cost little.
  if (s.model.is_70b() && (type == T::Q3_K || type == T::Q4_K)) type = T::Q5_K;
  if (s.model.n_expert == 8) type = T::Q8_0;
  ++s.i_attn_v;
  return type;
}

GgmlType ffn_down_type(MixState& s, const std::string& name, GgmlType type) {
  const int i = s.ffn_layer(s.i_ffn_down, name);
  const int n = s.model.n_layer;
  ++s.i_ffn_down;
  switch (s.ftype) {
    case F::kQ2_K:
      return T::Q3_K;
    case F::kQ3_K_M:
      if (i < n / 16) return T::Q5_K;
      return !s.falcon() || use_more_bits(i, n) ? T::Q4_K : T::Q3_K;
    case F::kQ3_K_L:
      return s.falcon() ? T::Q4_K : T::Q5_K;
    case F::kQ4_K_M:
      if (s.falcon()) return i < n / 16 ? T::Q6_K : use_more_bits(i, n) ? T::Q5_K : T::Q4_K;
      return use_more_bits(i, n) ? T::Q6_K : type;
    case F::kIQ4_NL:
    case F::kIQ4_XS:
      return i < n / 8 ? T::Q5_K : type;  // (without an importance matrix)
    case F::kQ5_K_M:
      return use_more_bits(i, n) ? T::Q6_K : type;
    case F::kQ4_K_S:
      return !s.falcon() && i < n / 8 ? T::Q5_K : type;
    default:
      return type;
  }
}

GgmlType attn_output_type(const MixState& s, GgmlType type) {
  const F f = s.ftype;
  if (s.falcon()) return f == F::kQ3_K_L ? T::Q4_K : type;
  if (s.model.n_expert == 8) {
    const bool raise = f == F::kQ2_K || f == F::kQ3_K_S || f == F::kQ3_K_M || f == F::kIQ4_NL ||
                       f == F::kQ4_K_S || f == F::kQ4_K_M || f == F::kIQ4_XS;
    return raise ? T::Q5_K : type;
  }
  if (f == F::kQ2_K) return T::Q3_K;
  if (f == F::kQ3_K_M) return T::Q4_K;
  if (f == F::kQ3_K_L) return T::Q5_K;
  return type;
}

// llama_tensor_get_type_impl: the mix's raise of one tensor over `type`.
GgmlType mix_type(MixState& s, const gguf::TensorInfo& t, Category c, GgmlType type) {
  if (c == Category::kOutput || (s.tied && c == Category::kTokenEmbd))
    return output_type(s, t, type);
  switch (c) {
    case Category::kAttnV:
      return attn_v_type(s, type);
    case Category::kAttnK:
      return s.model.n_expert == 8 ? T::Q8_0 : type;
    case Category::kFfnDown:
      return ffn_down_type(s, t.name, type);
    case Category::kAttnOutput:
      return attn_output_type(s, type);
    case Category::kFfnGate:
      ++s.i_ffn_gate;  // counted, no rule for kiln's file types
      return type;
    case Category::kFfnUp:
      ++s.i_ffn_up;
      return type;
    default:
      return type;
  }
}

// A type whose block fits the row length (llama.cpp's tensor_type_fallback;
// for the 32-blocks, where llama.cpp gives up, F16).
GgmlType fit_row(GgmlType type, int64_t row) {
  if (row % block_size(type) == 0) return type;
  GgmlType next = GgmlType::F16;
  switch (type) {
    case T::Q2_K:
    case T::Q3_K:
      next = T::Q4_0;
      break;
    case T::Q4_K:
      next = T::Q5_0;
      break;
    case T::Q5_K:
      next = T::Q5_1;
      break;
    case T::Q6_K:
      next = T::Q8_0;
      break;
    case T::IQ4_XS:
      next = T::IQ4_NL;
      break;
    default:
      break;
  }
  return row % block_size(next) == 0 ? next : GgmlType::F16;
}

GgmlType base_type(FileType ftype) {
  for (const FileTypeInfo& info : file_types()) {
    if (info.ftype == ftype) return info.base;
  }
  return GgmlType::Q8_0;
}

}  // namespace

Result<std::vector<TensorChoice>> choose_tensor_types(
    const ModelInfo& model, std::span<const gguf::TensorInfo* const> tensors,
    const QuantizeRules& rules) {
  MixState state{model, rules.ftype, rules.output_type};
  for (const gguf::TensorInfo* t : tensors) {
    const Category c = category_of(t->name);
    if (c == Category::kAttnV) ++state.n_attn_v;
    if (c == Category::kOutput) state.tied = false;
  }
  const GgmlType base = base_type(rules.ftype);
  std::vector<TensorChoice> out;
  out.reserve(tensors.size());
  for (const gguf::TensorInfo* t : tensors) {
    TensorChoice choice{t->type, t->type, false};
    if (is_converted(*t, rules)) {
      const Category c = category_of(t->name);
      std::optional<GgmlType> forced;
      if (c == Category::kTokenEmbd) forced = rules.token_embd_type;
      if (c == Category::kOutput) forced = rules.output_type;
      if (forced) {
        if (t->ne[0] % block_size(*forced) != 0) {
          return Status::error("tensor '" + t->name + "': rows of " + std::to_string(t->ne[0]) +
                               " are not a multiple of " +
                               std::string(ggml_type_name(static_cast<uint32_t>(*forced))) +
                               "'s block size " + std::to_string(block_size(*forced)));
        }
        choice.wanted = choice.type = *forced;
      } else if (is_quantized(base)) {
        choice.wanted = rules.pure ? base : mix_type(state, *t, c, base);
        choice.type = fit_row(choice.wanted, t->ne[0]);
      } else {
        choice.wanted = choice.type = base;
      }
      choice.converted = choice.type != t->type;
    }
    out.push_back(choice);
  }
  return out;
}

}  // namespace kiln::tools
