#include "tools/model_quantizer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <span>

#include "core/thread_pool.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "quant/quant.h"

namespace kiln::tools {

namespace {

namespace fs = std::filesystem;

constexpr uint32_t kQuantizationVersion = 2;  // ggml's GGML_QNT_VERSION

std::string type_name(GgmlType type) {
  return std::string(ggml_type_name(static_cast<uint32_t>(type)));
}

// Fails early (before any work) on output paths that cannot be written.
Status check_output_path(const std::string& input, const std::string& output) {
  if (output.empty()) return Status::error("no output path given");
  std::error_code ec;
  const fs::path out(output);
  if (fs::is_directory(out, ec)) return Status::error("output '" + output + "' is a directory");
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::exists(dir, ec)) {
    return Status::error("output directory '" + dir.string() + "' does not exist");
  }
  if (!fs::is_directory(dir, ec)) {
    return Status::error("output directory '" + dir.string() + "' is not a directory");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return Status::error("output directory '" + dir.string() +
                         "' is not writable: " + std::strerror(errno));
  }
  if (fs::exists(out, ec) && fs::equivalent(fs::path(input), out, ec)) {
    return Status::error("output '" + output + "' is the input file");
  }
  return Status::ok();
}

Status check_not_split(const gguf::GgufFile& file) {
  const gguf::Value* count = file.find("split.count");
  if (count == nullptr) return Status::ok();
  const auto* n = std::get_if<uint16_t>(&count->v);
  if (n != nullptr && *n <= 1) return Status::ok();
  return Status::error(
      "split GGUF files (split.count > 1) are not supported: merge them first "
      "(llama-gguf-split --merge)");
}

bool is_float(GgmlType type) {
  return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
}

Status check_conversion(const TensorReport& t, bool allow_requantize) {
  const std::string where = "tensor '" + t.name + "': ";
  const GgmlType to = t.choice.type;
  if (!is_float(t.from) && !allow_requantize) {
    return Status::error(where + "is already quantized (" + type_name(t.from) +
                         "), converting to " + type_name(to) +
                         " would requantize it and lose quality; pass --allow-requantize to "
                         "do it anyway");
  }
  if (!quant::can_dequantize(t.from)) {
    return Status::error(where + "kiln cannot convert from type " + type_name(t.from));
  }
  if (!quant::can_quantize(to)) {
    return Status::error(where + "kiln cannot convert to type " + type_name(to));
  }
  return Status::ok();
}

// Dequantizes each row of `t` to F32 and quantizes it to `to`, rows split
// over the pool. Fails on a row with a NaN or an infinity (naming the first).
Status convert_tensor(const gguf::TensorInfo& t, std::span<const uint8_t> src, GgmlType to,
                      std::span<uint8_t> dst, ThreadPool& pool) {
  const int64_t n = t.ne[0];
  const int64_t rows = t.n_elements() / n;
  const size_t row_in = quant::row_bytes(t.type, n);
  const size_t row_out = quant::row_bytes(to, n);
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()),
                                          std::vector<float>(static_cast<size_t>(n)));
  std::atomic<int64_t> first_bad{std::numeric_limits<int64_t>::max()};
  pool.parallel_for(static_cast<size_t>(rows), [&](size_t begin, size_t end, int thread) {
    float* row = scratch[static_cast<size_t>(thread)].data();
    for (size_t r = begin; r < end; ++r) {
      quant::dequantize_row(t.type, src.data() + r * row_in, row, n);
      if (!std::all_of(row, row + n, [](float x) { return std::isfinite(x); })) {
        int64_t seen = first_bad.load();
        while (static_cast<int64_t>(r) < seen && !first_bad.compare_exchange_weak(seen, r)) {
        }
        continue;
      }
      quant::quantize_row(to, row, dst.data() + r * row_out, n);
    }
  });
  if (first_bad.load() != std::numeric_limits<int64_t>::max()) {
    return Status::error("tensor '" + t.name + "': row " + std::to_string(first_bad.load()) +
                         " holds a NaN or an infinity; refusing to convert it");
  }
  return Status::ok();
}

// The output's metadata: the input's, in order, with the quantization keys
// moved to the end (as llama-quantize does) and split keys dropped.
void copy_metadata(const gguf::GgufFile& file, FileType ftype, gguf::GgufWriter& writer) {
  for (const gguf::KeyValue& kv : file.metadata()) writer.set(kv.key, kv.value);
  if (file.alignment() != gguf::kDefaultAlignment) writer.set_alignment(file.alignment());
  for (const char* key : {"split.no", "split.count", "split.tensors.count",
                          "general.quantization_version", "general.file_type"}) {
    writer.remove(key);
  }
  writer.set_u32("general.quantization_version", kQuantizationVersion);
  writer.set_u32("general.file_type", static_cast<uint32_t>(ftype));
}

QuantizeRules rules_of(const QuantizeOptions& o) {
  QuantizeRules rules;
  rules.ftype = o.ftype;
  rules.pure = o.pure;
  rules.quantize_output = !o.leave_output;
  rules.output_type = o.output_type;
  rules.token_embd_type = o.token_embd_type;
  return rules;
}

// The plan: every tensor in llama order with its choice and sizes.
Result<std::vector<const gguf::TensorInfo*>> plan(const gguf::GgufFile& file,
                                                  const QuantizeOptions& o,
                                                  QuantizeReport& report) {
  std::vector<const gguf::TensorInfo*> order;
  for (const gguf::TensorInfo& t : file.tensors()) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return llama_tensor_less(a->name, b->name);
  });
  KILN_ASSIGN_OR_RETURN(std::vector<TensorChoice> choices,
                        choose_tensor_types(model_info(file), order, rules_of(o)));
  for (size_t i = 0; i < order.size(); ++i) {
    const gguf::TensorInfo& t = *order[i];
    TensorReport r{t.name, t.ne, t.n_dims, t.type, choices[i], t.n_bytes, 0};
    r.bytes_out =
        quant::row_bytes(r.choice.type, t.ne[0]) * static_cast<uint64_t>(t.n_elements() / t.ne[0]);
    if (r.choice.converted) KILN_TRY(check_conversion(r, o.allow_requantize));
    report.n_elements += static_cast<uint64_t>(t.n_elements());
    report.bytes_in += r.bytes_in;
    report.bytes_out += r.bytes_out;
    report.tensors.push_back(std::move(r));
  }
  return order;
}

Status write_output(const gguf::GgufFile& file, const std::vector<const gguf::TensorInfo*>& order,
                    const QuantizeOptions& o, const QuantizeReport& report,
                    const QuantizeProgress& progress) {
  gguf::GgufWriter writer;
  copy_metadata(file, o.ftype, writer);
  for (size_t i = 0; i < order.size(); ++i) {
    const gguf::TensorInfo& t = *order[i];
    KILN_TRY(writer.add_tensor_deferred(t.name, report.tensors[i].choice.type,
                                        std::span<const int64_t>(t.ne.data(), t.n_dims)));
  }
  ThreadPool pool(std::max(1, o.n_threads));
  return writer.write_file(o.output, [&](size_t i, std::span<uint8_t> out) -> Status {
    const gguf::TensorInfo& t = *order[i];
    const TensorReport& r = report.tensors[i];
    const std::span<const uint8_t> src = file.tensor_data(t);
    if (r.choice.converted) {
      KILN_TRY(convert_tensor(t, src, r.choice.type, out, pool).with_context(o.input));
    } else {
      std::memcpy(out.data(), src.data(), src.size());
    }
    if (progress) progress(i, order.size(), r);
    return Status::ok();
  });
}

}  // namespace

Result<QuantizeReport> quantize_model(const QuantizeOptions& o, const QuantizeProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (!o.dry_run) KILN_TRY(check_output_path(o.input, o.output));
  KILN_ASSIGN_OR_RETURN(gguf::GgufFile file, gguf::GgufFile::open(o.input));
  KILN_TRY(check_not_split(file).with_context(o.input));
  QuantizeReport report;
  report.file_bytes_in = file.file_size();
  auto order = plan(file, o, report);
  if (!order.is_ok()) return order.status().with_context(o.input);
  if (o.dry_run) {
    for (size_t i = 0; i < report.tensors.size(); ++i) {
      if (progress) progress(i, report.tensors.size(), report.tensors[i]);
    }
  } else {
    KILN_TRY(write_output(file, *order, o, report, progress));
    std::error_code ec;
    report.file_bytes_out = std::filesystem::file_size(o.output, ec);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace kiln::tools
