// `kiln quantize [options] IN.gguf OUT.gguf TYPE`: converts a model to a file
// type as llama-quantize does (tools/model_quantizer.h): one progress line per
// tensor on stderr, a summary on stdout. Exit 0 on success, 1 on an error
// (input, output, conversion; OUT is left untouched), 2 on a usage error
// (unknown TYPE, bad option).
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "tools/model_quantizer.h"
#include "tools/quantize_policy.h"

namespace kiln::cli {
namespace {

struct QuantizeCliOptions {
  std::string input;
  std::string output;
  std::string type;
  std::string output_type;
  std::string token_embd_type;
  int threads = 0;  // 0: hardware threads
  bool pure = false;
  bool allow_requantize = false;
  bool leave_output = false;
  bool dry_run = false;
  bool quiet = false;
};

int usage_error(const std::string& message) {
  fail(message);
  return 2;
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string type_name(GgmlType type) {
  return std::string(ggml_type_name(static_cast<uint32_t>(type)));
}

std::string shape_text(const tools::TensorReport& t) {
  std::string out;
  for (int d = 0; d < t.n_dims; ++d) {
    if (d > 0) out += " x ";
    out += std::to_string(t.ne[d]);
  }
  return out;
}

void print_progress(size_t index, size_t count, const tools::TensorReport& t) {
  std::string note = t.choice.converted ? "" : "  (copied)";
  if (t.choice.fallback()) {
    note = "  (" + type_name(t.choice.wanted) + " does not fit rows of " + std::to_string(t.ne[0]) +
           ")";
  }
  std::fprintf(stderr, "[%4zu/%4zu] %-36s %-14s %6s -> %-6s %9.3f -> %9.3f MiB%s\n", index + 1,
               count, t.name.c_str(), shape_text(t).c_str(), type_name(t.from).c_str(),
               type_name(t.choice.type).c_str(), mib(t.bytes_in), mib(t.bytes_out), note.c_str());
}

void print_summary(const QuantizeCliOptions& o, const tools::FileTypeInfo& ftype, int threads,
                   const tools::QuantizeReport& r) {
  std::map<std::string, int> counts;
  int converted = 0, fallbacks = 0;
  for (const auto& t : r.tensors) {
    ++counts[type_name(t.choice.type)];
    converted += t.choice.converted ? 1 : 0;
    fallbacks += t.choice.fallback() ? 1 : 0;
  }
  std::string mix;
  for (const auto& [name, n] : counts) {
    mix += (mix.empty() ? " " : ", ") + std::to_string(n) + " x " + name;
  }
  const double n = static_cast<double>(r.n_elements > 0 ? r.n_elements : 1);
  std::printf("%s %s -> %s as %s (general.file_type %u), %d threads, %.2f s\n",
              o.dry_run ? "planned" : "quantized", o.input.c_str(),
              o.dry_run ? "(dry run)" : o.output.c_str(),
              std::string(tools::file_type_name(ftype.ftype)).c_str(),
              static_cast<unsigned>(ftype.ftype), threads, r.seconds);
  std::printf("tensors: %zu (%d converted, %zu copied, %d fell back to another type):%s\n",
              r.tensors.size(), converted, r.tensors.size() - static_cast<size_t>(converted),
              fallbacks, mix.c_str());
  std::printf("weights: %.2f MiB (%.2f bpw) -> %.2f MiB (%.2f bpw), %" PRIu64 " parameters\n",
              mib(r.bytes_in), 8.0 * static_cast<double>(r.bytes_in) / n, mib(r.bytes_out),
              8.0 * static_cast<double>(r.bytes_out) / n, r.n_elements);
  if (!o.dry_run) {
    std::printf("file:    %" PRIu64 " -> %" PRIu64 " bytes (%.2f MiB -> %.2f MiB)\n",
                r.file_bytes_in, r.file_bytes_out, mib(r.file_bytes_in), mib(r.file_bytes_out));
  }
}

int run_quantize(QuantizeCliOptions o) {
  if (o.type.empty() && o.dry_run && !o.output.empty()) std::swap(o.type, o.output);
  if (o.type.empty()) return usage_error("quantize: missing TYPE (see kiln quantize --help)");
  auto ftype = tools::parse_file_type(o.type);
  if (!ftype.is_ok()) return usage_error("quantize: " + ftype.status().message());
  tools::QuantizeOptions q;
  q.input = o.input;
  q.output = o.output;
  q.ftype = ftype->ftype;
  q.pure = o.pure;
  q.allow_requantize = o.allow_requantize;
  q.leave_output = o.leave_output;
  q.dry_run = o.dry_run;
  for (auto [text, slot] : {std::pair{&o.output_type, &q.output_type},
                            std::pair{&o.token_embd_type, &q.token_embd_type}}) {
    if (text->empty()) continue;
    auto type = tools::parse_tensor_type(*text);
    if (!type.is_ok()) return usage_error("quantize: " + type.status().message());
    *slot = *type;
  }
  q.n_threads = o.threads > 0 ? o.threads : default_threads();
  auto report = tools::quantize_model(q, o.quiet ? tools::QuantizeProgress{} : print_progress);
  if (!report.is_ok()) return fail(report.status().message());
  print_summary(o, *ftype, q.n_threads, *report);
  return 0;
}

std::string footer() {
  std::string out = "TYPE (case-insensitive, or the general.file_type number):\n";
  for (const tools::FileTypeInfo& t : tools::file_types()) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %3u  %-7s %s\n", static_cast<unsigned>(t.ftype),
                  std::string(t.name).c_str(), std::string(t.summary).c_str());
    out += line;
  }
  out +=
      "\nThe per-tensor rules are llama-quantize's (llama_tensor_get_type): 1-D tensors,\n"
      "norms and a few special tensors are copied unchanged; output.weight (or token_embd\n"
      "when the embeddings are tied) gets Q6_K in every quantized type but Q8_0; a row\n"
      "length the type's block does not divide falls back (Q4_K -> Q5_0, Q6_K -> Q8_0,\n"
      "Q2_K/Q3_K -> Q4_0, Q5_K -> Q5_1, IQ4_XS -> IQ4_NL, else F16). --pure skips the mix\n"
      "raises (fallbacks still apply). Tensors are written in llama.cpp's order; all\n"
      "metadata is kept, general.file_type set. The output is written to OUT.tmp and\n"
      "renamed when complete. See docs/cli.md.\n"
      "\nExamples:\n"
      "  kiln quantize model-f16.gguf model-Q4_K_M.gguf Q4_K_M\n"
      "  kiln quantize --pure -t 8 model-f32.gguf model-q8_0.gguf q8_0\n"
      "  kiln quantize --dry-run model-f16.gguf Q4_K_M\n";
  return out;
}

}  // namespace

CLI::App* add_quantize_command(CLI::App& app, Runner& run) {
  auto opts = std::make_shared<QuantizeCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "quantize", "Convert a GGUF model (F32/F16/BF16) to a quantized type or mix");
  sub->add_option("IN", opts->input, "Input GGUF (F32/F16/BF16 weights)")->required();
  sub->add_option("OUT", opts->output, "Output GGUF (omit with --dry-run)");
  sub->add_option("TYPE", opts->type, "Target type or mix, e.g. Q4_K_M (list below)");
  sub->add_option("-t,--threads", opts->threads, "Threads (default: hardware threads)")
      ->check(CLI::Range(1, 1024));
  sub->add_flag("--pure", opts->pure, "Every converted tensor in TYPE: no mix, no Q6_K output");
  sub->add_flag("--allow-requantize", opts->allow_requantize,
                "Convert tensors that are already quantized (dequantized first; loses quality)");
  sub->add_flag("--leave-output-tensor", opts->leave_output, "Copy output.weight unchanged");
  sub->add_option("--output-tensor-type", opts->output_type, "Type of output.weight (e.g. q8_0)");
  sub->add_option("--token-embedding-type", opts->token_embd_type,
                  "Type of token_embd.weight (e.g. q8_0)");
  sub->add_flag("--dry-run", opts->dry_run, "Show the per-tensor plan and sizes; write nothing");
  sub->add_flag("-q,--quiet", opts->quiet, "No per-tensor progress lines");
  sub->footer(footer());
  run = [opts] { return run_quantize(*opts); };
  return sub;
}

}  // namespace kiln::cli
