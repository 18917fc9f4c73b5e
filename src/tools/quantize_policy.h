// Which type each tensor gets when a model is quantized: the file types
// (llama.cpp's LLAMA_FTYPE_*, as `llama-quantize` names them) and the
// per-tensor rules of llama.cpp's llama_tensor_get_type (src/llama-quant.cpp),
// restated for the types kiln can produce. Pure functions of names, shapes and
// hyperparameters: no file is read here.
//
// The rules, in short (llama.cpp's, see docs/cli.md for the table):
//  - only tensors of >= 2 dims whose name ends in "weight" are converted, and
//    not norms, MoE router weights (ffn_gate_inp) and a few small special
//    tensors; everything else is copied unchanged;
//  - F32/F16/BF16 file types give every converted tensor that type;
//  - a mix (e.g. Q4_K_M) starts from its base type (Q4_K) and raises some
//    tensors: output.weight (or token_embd.weight when there is no output, the
//    tied case) to Q6_K, attn_v / ffn_down of the "use_more_bits" layers to
//    Q6_K, ...; `pure` skips these raises;
//  - a row length that is not a multiple of the chosen type's block size falls
//    back: Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0,
//    IQ4_XS -> IQ4_NL, then F16 if the row is not a multiple of 32 either.
//    llama.cpp refuses a 32-block type (Q4_0, ...) on such rows; kiln falls
//    back to F16 there too (what the stories260K golden files hold).
//
// Thread-safety: stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ggml_type.h"
#include "core/status.h"
#include "gguf/gguf.h"

namespace kiln::tools {

// llama.cpp's llama_ftype: the value of general.file_type.
enum class FileType : uint32_t {
  kAllF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kIQ4_NL = 25,
  kIQ4_XS = 30,
  kBF16 = 32,
};

struct FileTypeInfo {
  std::string_view name;     // as llama-quantize spells it: "Q4_K_M"; aliases: "Q4_K"
  FileType ftype;            // aliases map to their mix: "Q4_K" -> kQ4_K_M
  GgmlType base;             // the type of most converted tensors
  std::string_view summary;  // one line for --help
  bool alias = false;        // another name of a mix listed under its own name
};

// Every name `kiln quantize` accepts, in --help order (aliases included).
std::span<const FileTypeInfo> file_types();

// A name (case-insensitive: "q4_k_m") or a general.file_type number ("15").
// The error names the input and lists the accepted names; llama-quantize
// types kiln cannot produce (IQ2_XXS, Q2_K_S, ...) say so.
Result<FileTypeInfo> parse_file_type(std::string_view text);

// The canonical name of a file type: "Q4_K_M" for kQ4_K_M.
std::string_view file_type_name(FileType ftype);

// A ggml tensor type name, case-insensitive ("q8_0", "Q6_K", "f16"), for
// --output-tensor-type and --token-embedding-type: only types kiln can produce.
Result<GgmlType> parse_tensor_type(std::string_view text);

// The hyperparameters the rules look at (llama.cpp's model hparams).
struct ModelInfo {
  std::string arch;   // general.architecture ("" if absent)
  int n_layer = 0;    // {arch}.block_count, else 1 + the largest blk.N in tensor names
  int n_head = 0;     // {arch}.attention.head_count (first layer's when per layer)
  int n_head_kv = 0;  // {arch}.attention.head_count_kv, default n_head
  int n_expert = 0;   // {arch}.expert_count, default 0
  int n_gqa() const { return n_head > 0 && n_head_kv > 0 ? n_head / n_head_kv : 1; }
  // llama.cpp's LLM_TYPE_70B: a llama with 80 layers and grouped-query attention.
  bool is_70b() const { return arch == "llama" && n_layer == 80 && n_head != n_head_kv; }
};
ModelInfo model_info(const gguf::GgufFile& file);

struct QuantizeRules {
  FileType ftype = FileType::kQ8_0;
  bool pure = false;                        // one type for every converted tensor (no mix raises)
  bool quantize_output = true;              // false: output.weight copied (--leave-output-tensor)
  std::optional<GgmlType> output_type;      // --output-tensor-type
  std::optional<GgmlType> token_embd_type;  // --token-embedding-type
};

struct TensorChoice {
  GgmlType type = GgmlType::F32;    // the output type
  GgmlType wanted = GgmlType::F32;  // before the row-length fallback (== type if none)
  bool converted = false;           // false: copied unchanged (type == input type)
  bool fallback() const { return type != wanted; }
};

// llama.cpp's tensor order (the order llama-quantize writes and counts in):
// tensors outside blk.N first, by name; then blk.0.*, blk.1.*, ... by name.
bool llama_tensor_less(const std::string& a, const std::string& b);

// The type of every tensor, `tensors` in llama order (the layer counters of
// the mixes count in that order). Errors: an --output-tensor-type or
// --token-embedding-type whose block size does not divide the row length.
Result<std::vector<TensorChoice>> choose_tensor_types(
    const ModelInfo& model, std::span<const gguf::TensorInfo* const> tensors,
    const QuantizeRules& rules);

}  // namespace kiln::tools
