// Per-tensor type choice of `kiln quantize` (tools/quantize_policy.h) on
// synthetic llama shapes. The expected types are written out by hand from
// llama.cpp's llama_tensor_get_type rules (not computed with the same code).
#include "tools/quantize_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "quant/quant.h"

namespace kiln::tools {
namespace {

using T = GgmlType;

TEST(FileTypes, ParseNamesAliasesAndNumbers) {
  EXPECT_EQ(parse_file_type("Q4_K_M")->ftype, FileType::kQ4_K_M);
  EXPECT_EQ(parse_file_type("q4_k_m")->ftype, FileType::kQ4_K_M);
  EXPECT_EQ(parse_file_type("Q4_K")->ftype, FileType::kQ4_K_M);
  EXPECT_EQ(parse_file_type("q3_k")->ftype, FileType::kQ3_K_M);
  EXPECT_EQ(parse_file_type("Q5_K")->ftype, FileType::kQ5_K_M);
  EXPECT_EQ(parse_file_type("15")->ftype, FileType::kQ4_K_M);
  EXPECT_EQ(parse_file_type("15")->name, "Q4_K_M");
  EXPECT_EQ(parse_file_type("0")->ftype, FileType::kAllF32);
  EXPECT_EQ(parse_file_type("bf16")->base, T::BF16);
  EXPECT_EQ(parse_file_type("iq4_xs")->ftype, FileType::kIQ4_XS);
  EXPECT_EQ(file_type_name(FileType::kQ4_K_M), "Q4_K_M");
  EXPECT_EQ(file_type_name(FileType::kQ3_K_M), "Q3_K_M");
  for (const FileTypeInfo& t : file_types()) {
    SCOPED_TRACE(std::string(t.name));
    EXPECT_TRUE(quant::can_quantize(t.base));
    EXPECT_EQ(parse_file_type(t.name)->ftype, t.ftype);
  }
}

TEST(FileTypes, ErrorsNameTheInputAndTheChoices) {
  auto bad = parse_file_type("Q4_K_X");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("unknown type 'Q4_K_X'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("Q4_K_M"), std::string::npos);
  auto iq2 = parse_file_type("iq2_xxs");
  ASSERT_FALSE(iq2.is_ok());
  EXPECT_NE(iq2.status().message().find("cannot produce"), std::string::npos);
  EXPECT_FALSE(parse_file_type("").is_ok());
  EXPECT_FALSE(parse_file_type("15x").is_ok());
  EXPECT_FALSE(parse_file_type("19").is_ok());  // IQ2_XXS's number
  EXPECT_FALSE(parse_file_type("99999999999").is_ok());
}

TEST(FileTypes, TensorTypeNames) {
  EXPECT_EQ(parse_tensor_type("q8_0").value(), T::Q8_0);
  EXPECT_EQ(parse_tensor_type("Q6_K").value(), T::Q6_K);
  EXPECT_EQ(parse_tensor_type("F16").value(), T::F16);
  EXPECT_FALSE(parse_tensor_type("iq2_xxs").is_ok());
  EXPECT_FALSE(parse_tensor_type("q9_0").is_ok());
}

TEST(TensorOrder, LayersNumericallyThenNames) {
  std::vector<std::string> names = {"blk.10.attn_q.weight", "token_embd.weight",
                                    "blk.2.ffn_up.weight",  "blk.2.attn_k.weight",
                                    "output.weight",        "output_norm.weight"};
  std::sort(names.begin(), names.end(), llama_tensor_less);
  EXPECT_EQ(names, (std::vector<std::string>{"output.weight", "output_norm.weight",
                                             "token_embd.weight", "blk.2.attn_k.weight",
                                             "blk.2.ffn_up.weight", "blk.10.attn_q.weight"}));
}

// A llama model's tensors in llama order: [n_embd] norms, [n_embd, *] weights.
struct Model {
  ModelInfo info;
  std::vector<gguf::TensorInfo> tensors;
  std::vector<const gguf::TensorInfo*> order() const {
    std::vector<const gguf::TensorInfo*> out;
    for (const auto& t : tensors) out.push_back(&t);
    std::stable_sort(out.begin(), out.end(),
                     [](auto* a, auto* b) { return llama_tensor_less(a->name, b->name); });
    return out;
  }
};

gguf::TensorInfo tensor(const std::string& name, int64_t ne0, int64_t ne1, T type = T::F16) {
  gguf::TensorInfo t;
  t.name = name;
  t.n_dims = ne1 > 1 ? 2 : 1;
  t.ne = {ne0, ne1, 1, 1};
  t.type = ne1 > 1 ? type : T::F32;
  return t;
}

Model llama(int n_embd, int n_layer, int n_head, int n_head_kv, int n_ff, bool tied) {
  Model m;
  m.info = {"llama", n_layer, n_head, n_head_kv, 0};
  const int64_t kv = n_embd / n_head * n_head_kv;
  m.tensors.push_back(tensor("token_embd.weight", n_embd, 32000));
  m.tensors.push_back(tensor("output_norm.weight", n_embd, 1));
  if (!tied) m.tensors.push_back(tensor("output.weight", n_embd, 32000));
  for (int i = 0; i < n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    m.tensors.push_back(tensor(p + "attn_norm.weight", n_embd, 1));
    m.tensors.push_back(tensor(p + "attn_q.weight", n_embd, n_embd));
    m.tensors.push_back(tensor(p + "attn_k.weight", n_embd, kv));
    m.tensors.push_back(tensor(p + "attn_v.weight", n_embd, kv));
    m.tensors.push_back(tensor(p + "attn_output.weight", n_embd, n_embd));
    m.tensors.push_back(tensor(p + "ffn_norm.weight", n_embd, 1));
    m.tensors.push_back(tensor(p + "ffn_gate.weight", n_embd, n_ff));
    m.tensors.push_back(tensor(p + "ffn_up.weight", n_embd, n_ff));
    m.tensors.push_back(tensor(p + "ffn_down.weight", n_ff, n_embd));
  }
  return m;
}

// name -> chosen type (and the choice for fallback checks).
std::map<std::string, TensorChoice> choose(const Model& m, QuantizeRules rules) {
  const auto order = m.order();
  auto choices = choose_tensor_types(m.info, order, rules);
  EXPECT_TRUE(choices.is_ok()) << choices.status().message();
  std::map<std::string, TensorChoice> out;
  if (!choices.is_ok()) return out;
  for (size_t i = 0; i < order.size(); ++i) out[order[i]->name] = (*choices)[i];
  return out;
}

QuantizeRules rules(FileType f, bool pure = false) {
  QuantizeRules r;
  r.ftype = f;
  r.pure = pure;
  return r;
}

std::string layer(int i, const char* what) { return "blk." + std::to_string(i) + "." + what; }

TEST(TensorTypes, Q4_K_M_Smol135mShape) {
  // 576-wide rows: no K-quant fits (576 % 256 = 64): Q4_K -> Q5_0, Q6_K -> Q8_0.
  // Tied embeddings: token_embd gets the output rule (Q8_0 when the base's
  // block does not divide its rows).
  const Model m = llama(576, 30, 9, 3, 1536, /*tied=*/true);
  auto c = choose(m, rules(FileType::kQ4_K_M));
  const std::set<int> more = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29};
  EXPECT_EQ(c["token_embd.weight"].type, T::Q8_0);
  EXPECT_FALSE(c["token_embd.weight"].fallback());
  EXPECT_EQ(c["output_norm.weight"].type, T::F32);
  EXPECT_FALSE(c["output_norm.weight"].converted);
  for (int i = 0; i < 30; ++i) {
    SCOPED_TRACE(i);
    const bool m6 = more.count(i) > 0;
    EXPECT_EQ(c[layer(i, "attn_v.weight")].wanted, m6 ? T::Q6_K : T::Q4_K);
    EXPECT_EQ(c[layer(i, "attn_v.weight")].type, m6 ? T::Q8_0 : T::Q5_0);
    EXPECT_EQ(c[layer(i, "ffn_down.weight")].type, m6 ? T::Q6_K : T::Q4_K);  // 1536 = 6 * 256
    EXPECT_FALSE(c[layer(i, "ffn_down.weight")].fallback());
    for (const char* w : {"attn_q.weight", "attn_k.weight", "attn_output.weight", "ffn_gate.weight",
                          "ffn_up.weight"}) {
      EXPECT_EQ(c[layer(i, w)].wanted, T::Q4_K) << w;
      EXPECT_EQ(c[layer(i, w)].type, T::Q5_0) << w;
    }
    EXPECT_EQ(c[layer(i, "attn_norm.weight")].type, T::F32);
  }
}

TEST(TensorTypes, Q4_K_M_Llama7bShape) {
  const Model m = llama(4096, 32, 32, 32, 11008 / 256 * 256, /*tied=*/false);
  auto c = choose(m, rules(FileType::kQ4_K_M));
  const std::set<int> more = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};
  EXPECT_EQ(c["output.weight"].type, T::Q6_K);
  EXPECT_EQ(c["token_embd.weight"].type, T::Q4_K);
  for (int i = 0; i < 32; ++i) {
    SCOPED_TRACE(i);
    const T want = more.count(i) > 0 ? T::Q6_K : T::Q4_K;
    EXPECT_EQ(c[layer(i, "attn_v.weight")].type, want);
    EXPECT_EQ(c[layer(i, "ffn_down.weight")].type, want);
    EXPECT_EQ(c[layer(i, "attn_q.weight")].type, T::Q4_K);
    EXPECT_EQ(c[layer(i, "ffn_up.weight")].type, T::Q4_K);
  }
}

TEST(TensorTypes, PureAndLegacyTypes) {
  const Model m = llama(4096, 4, 32, 8, 4096, /*tied=*/false);
  auto q40 = choose(m, rules(FileType::kQ4_0));
  EXPECT_EQ(q40["output.weight"].type, T::Q6_K);
  EXPECT_EQ(q40["token_embd.weight"].type, T::Q4_0);
  EXPECT_EQ(q40[layer(0, "attn_v.weight")].type, T::Q4_0);
  EXPECT_EQ(q40[layer(0, "ffn_down.weight")].type, T::Q4_0);
  auto pure = choose(m, rules(FileType::kQ4_0, /*pure=*/true));
  EXPECT_EQ(pure["output.weight"].type, T::Q4_0);
  auto q80 = choose(m, rules(FileType::kQ8_0));
  EXPECT_EQ(q80["output.weight"].type, T::Q8_0);
  auto f16 = choose(m, rules(FileType::kF16));
  EXPECT_EQ(f16["output.weight"].type, T::F16);
  EXPECT_FALSE(f16[layer(0, "attn_q.weight")].converted);  // already F16
  EXPECT_EQ(f16[layer(0, "ffn_norm.weight")].type, T::F32);
  auto f32 = choose(m, rules(FileType::kAllF32));
  EXPECT_EQ(f32[layer(3, "ffn_up.weight")].type, T::F32);
  EXPECT_TRUE(f32[layer(3, "ffn_up.weight")].converted);
}

TEST(TensorTypes, KMixes) {
  const Model m = llama(4096, 32, 32, 32, 4096, /*tied=*/false);
  auto q2 = choose(m, rules(FileType::kQ2_K));
  EXPECT_EQ(q2[layer(5, "attn_v.weight")].type, T::Q3_K);  // GQA 1: Q3_K (GQA >= 4: Q4_K)
  EXPECT_EQ(q2[layer(5, "ffn_down.weight")].type, T::Q3_K);
  EXPECT_EQ(q2[layer(5, "attn_output.weight")].type, T::Q3_K);
  EXPECT_EQ(q2[layer(5, "attn_q.weight")].type, T::Q2_K);
  EXPECT_EQ(q2["output.weight"].type, T::Q6_K);
  auto q3m = choose(m, rules(FileType::kQ3_K_M));
  EXPECT_EQ(q3m[layer(1, "attn_v.weight")].type, T::Q5_K);  // the first two
  EXPECT_EQ(q3m[layer(2, "attn_v.weight")].type, T::Q4_K);
  EXPECT_EQ(q3m[layer(1, "ffn_down.weight")].type, T::Q5_K);  // i < 32/16
  EXPECT_EQ(q3m[layer(2, "ffn_down.weight")].type, T::Q4_K);
  EXPECT_EQ(q3m[layer(2, "attn_output.weight")].type, T::Q4_K);
  EXPECT_EQ(q3m[layer(2, "ffn_gate.weight")].type, T::Q3_K);
  auto q3l = choose(m, rules(FileType::kQ3_K_L));
  EXPECT_EQ(q3l[layer(9, "attn_v.weight")].type, T::Q5_K);
  EXPECT_EQ(q3l[layer(9, "ffn_down.weight")].type, T::Q5_K);
  EXPECT_EQ(q3l[layer(9, "attn_output.weight")].type, T::Q5_K);
  auto q3s = choose(m, rules(FileType::kQ3_K_S));
  EXPECT_EQ(q3s[layer(0, "attn_v.weight")].type, T::Q3_K);
  auto q4s = choose(m, rules(FileType::kQ4_K_S));
  EXPECT_EQ(q4s[layer(3, "attn_v.weight")].type, T::Q5_K);
  EXPECT_EQ(q4s[layer(4, "attn_v.weight")].type, T::Q4_K);
  EXPECT_EQ(q4s[layer(3, "ffn_down.weight")].type, T::Q5_K);  // i < 32/8
  EXPECT_EQ(q4s[layer(4, "ffn_down.weight")].type, T::Q4_K);
  auto q5m = choose(m, rules(FileType::kQ5_K_M));
  EXPECT_EQ(q5m[layer(0, "attn_v.weight")].type, T::Q6_K);
  EXPECT_EQ(q5m[layer(4, "ffn_down.weight")].type, T::Q5_K);
  EXPECT_EQ(q5m[layer(6, "ffn_down.weight")].type, T::Q6_K);
  auto q6 = choose(m, rules(FileType::kQ6_K));
  EXPECT_EQ(q6[layer(6, "attn_q.weight")].type, T::Q6_K);
  EXPECT_EQ(q6["output.weight"].type, T::Q6_K);
}

TEST(TensorTypes, Iq4AndGqa) {
  const Model gqa4 = llama(4096, 16, 32, 8, 4096, /*tied=*/false);
  auto xs = choose(gqa4, rules(FileType::kIQ4_XS));
  EXPECT_EQ(xs[layer(7, "attn_v.weight")].type, T::Q5_K);    // GQA >= 4
  EXPECT_EQ(xs[layer(1, "ffn_down.weight")].type, T::Q5_K);  // i < 16/8
  EXPECT_EQ(xs[layer(2, "ffn_down.weight")].type, T::IQ4_XS);
  EXPECT_EQ(xs["output.weight"].type, T::Q6_K);
  EXPECT_EQ(xs["token_embd.weight"].type, T::IQ4_XS);
  auto q2 = choose(gqa4, rules(FileType::kQ2_K));
  EXPECT_EQ(q2[layer(7, "attn_v.weight")].type, T::Q4_K);
  const Model narrow = llama(576, 2, 9, 3, 1536, /*tied=*/false);
  auto nl = choose(narrow, rules(FileType::kIQ4_XS));
  EXPECT_EQ(nl[layer(1, "attn_q.weight")].type, T::IQ4_NL);  // 576 % 256: IQ4_XS -> IQ4_NL
  EXPECT_EQ(nl["output.weight"].type, T::Q8_0);              // 576 % 256: Q8_0 directly
}

TEST(TensorTypes, Llama70bRaisesAttnV) {
  const Model m = llama(8192, 80, 64, 8, 4096, /*tied=*/false);
  auto c = choose(m, rules(FileType::kQ4_K_M));
  EXPECT_EQ(c[layer(12, "attn_v.weight")].type, T::Q6_K);  // (12 - 80/8) % 3 == 2
  EXPECT_EQ(c[layer(11, "attn_v.weight")].type, T::Q5_K);  // Q4_K raised (70B)
  EXPECT_EQ(c[layer(11, "ffn_down.weight")].type, T::Q4_K);
}

TEST(TensorTypes, FallbacksSpecialTensorsAndOverrides) {
  Model m = llama(4096, 2, 32, 32, 4096, /*tied=*/false);
  m.tensors.push_back(tensor("blk.0.ffn_gate_inp.weight", 4096, 8));
  m.tensors.push_back(tensor("blk.0.attn_q.bias", 4096, 2));
  m.tensors.push_back(tensor("blk.1.ffn_down_odd.weight", 172, 64));  // 172 % 32 != 0
  m.tensors.push_back(tensor("blk.1.row.weight", 4096, 1, T::F16));   // 1-D
  auto c = choose(m, rules(FileType::kQ4_0));
  EXPECT_FALSE(c["blk.0.ffn_gate_inp.weight"].converted);
  EXPECT_FALSE(c["blk.0.attn_q.bias"].converted);
  EXPECT_EQ(c["blk.1.ffn_down_odd.weight"].type, T::F16);  // llama.cpp refuses; kiln: F16
  EXPECT_FALSE(c["blk.1.row.weight"].converted);
  auto q5k = choose(m, rules(FileType::kQ5_K_S));
  EXPECT_EQ(q5k["blk.1.ffn_down_odd.weight"].type, T::F16);  // Q5_K -> Q5_1 -> F16
  QuantizeRules leave = rules(FileType::kQ4_0);
  leave.quantize_output = false;
  EXPECT_FALSE(choose(m, leave)["output.weight"].converted);
  QuantizeRules over = rules(FileType::kQ4_K_M, /*pure=*/true);
  over.output_type = T::Q8_0;
  over.token_embd_type = T::Q4_1;
  auto o = choose(m, over);
  EXPECT_EQ(o["output.weight"].type, T::Q8_0);
  EXPECT_EQ(o["token_embd.weight"].type, T::Q4_1);
  // A tied token_embd takes --output-tensor-type in a mix.
  const Model tied = llama(4096, 2, 32, 32, 4096, /*tied=*/true);
  QuantizeRules tied_over = rules(FileType::kQ4_K_M);
  tied_over.output_type = T::Q5_K;
  EXPECT_EQ(choose(tied, tied_over)["token_embd.weight"].type, T::Q5_K);
  // An override that does not fit the rows is an error naming the tensor.
  const Model narrow = llama(576, 2, 9, 3, 1536, /*tied=*/true);
  QuantizeRules bad = rules(FileType::kQ8_0);
  bad.token_embd_type = T::Q4_K;
  const auto order = narrow.order();
  auto err = choose_tensor_types(narrow.info, order, bad);
  ASSERT_FALSE(err.is_ok());
  EXPECT_NE(err.status().message().find("token_embd.weight"), std::string::npos);
}

TEST(TensorTypes, QuantizedInputKeptWhenTheTypeMatches) {
  Model m = llama(4096, 2, 32, 32, 4096, /*tied=*/false);
  for (auto& t : m.tensors) {
    if (t.n_dims == 2) t.type = T::Q8_0;
  }
  auto c = choose(m, rules(FileType::kQ8_0));
  EXPECT_FALSE(c[layer(0, "attn_q.weight")].converted);
  EXPECT_EQ(c[layer(0, "attn_q.weight")].type, T::Q8_0);
  auto q4 = choose(m, rules(FileType::kQ4_0));
  EXPECT_TRUE(q4[layer(0, "attn_q.weight")].converted);
}

// Real llama-quantize outputs in models/ (scripts/fetch-models.sh): the rules
// choose exactly the types these files hold. gemma-3-270m Q4_K_M: 640-wide
// rows (Q4_K -> Q5_0, Q6_K -> Q8_0), tied embeddings, GQA 4, 18 layers;
// SmolLM2-135M Q4_1: 576-wide rows, tied embeddings (Q6_K -> Q8_0).
TEST(TensorTypes, RealLlamaQuantizeFilesAgree) {
  const std::vector<std::pair<std::string, FileType>> files = {
      {"gemma-3-270m-q4_k_m.gguf", FileType::kQ4_K_M},
      {"SmolLM2-135M-Instruct.Q4_1.gguf", FileType::kQ4_1}};
  int checked = 0;
  for (const auto& [name, ftype] : files) {
    SCOPED_TRACE(name);
    auto file = gguf::GgufFile::open(std::string(KILN_MODELS_DIR) + "/" + name);
    if (!file.is_ok()) continue;
    ASSERT_EQ(file->get_u32("general.file_type").value(), static_cast<uint32_t>(ftype));
    std::vector<const gguf::TensorInfo*> order;
    for (const auto& t : file->tensors()) order.push_back(&t);
    std::stable_sort(order.begin(), order.end(),
                     [](auto* a, auto* b) { return llama_tensor_less(a->name, b->name); });
    auto choices = choose_tensor_types(model_info(*file), order, rules(ftype));
    ASSERT_TRUE(choices.is_ok()) << choices.status().message();
    std::map<std::string, int> seen;
    for (size_t i = 0; i < order.size(); ++i) {
      EXPECT_EQ((*choices)[i].type, order[i]->type) << order[i]->name;
      ++seen[std::string(ggml_type_name(static_cast<uint32_t>(order[i]->type)))];
    }
    EXPECT_GT(seen.size(), 2u);  // a real mix, not one type
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "models/ not fetched (scripts/fetch-models.sh)";
}

}  // namespace
}  // namespace kiln::tools
