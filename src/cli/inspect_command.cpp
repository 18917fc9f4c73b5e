// `kiln inspect FILE.gguf [--json]`: the container's version, alignment, data
// offset, every metadata key (long arrays and strings abbreviated), every
// tensor, the parameter count and the tensor bytes. A malformed file prints
// one line `kiln: error: <path>: <message>` to stderr and exits 1.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <variant>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "gguf/gguf.h"

namespace kiln::cli {

namespace {

using gguf::ArrayValue;
using gguf::GgufFile;
using gguf::Value;
using gguf::ValueType;

constexpr size_t kShownItems = 8;         // array items shown before "..."
constexpr size_t kShownStringBytes = 96;  // string bytes shown before "..."

std::string type_label(const Value& v) {
  if (const auto* a = std::get_if<ArrayValue>(&v.v)) {
    return "array[" + std::string(gguf::value_type_name(a->elem_type)) + "]";
  }
  return std::string(gguf::value_type_name(v.type()));
}

// "..." with printable ASCII kept, \n \t \" \\ escaped, other bytes as \xNN.
// UTF-8 is shown as escapes: the text stays one line and terminal-safe.
std::string quote_text(const std::string& s) {
  std::string out = "\"";
  size_t n = std::min(s.size(), kShownStringBytes);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
  out += '"';
  if (s.size() > n) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string format_float(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", x);
  return buf;
}

std::string format_value(const Value& value) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return quote_text(x);
        } else if constexpr (std::is_same_v<T, ArrayValue>) {
          std::string out = "[";
          for (size_t i = 0; i < x.items.size() && i < kShownItems; ++i) {
            if (i > 0) out += ", ";
            out += format_value(x.items[i]);
          }
          if (x.items.size() > kShownItems) out += ", ...";
          out += "]";
          if (x.items.size() > kShownItems) {
            out += " (" + std::to_string(x.items.size()) + " items)";
          }
          return out;
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_floating_point_v<T>) {
          return format_float(static_cast<double>(x));
        } else {
          return std::to_string(x);
        }
      },
      value.v);
}

nlohmann::json value_json(const Value& value) {
  return std::visit(
      [](const auto& x) -> nlohmann::json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, ArrayValue>) {
          nlohmann::json items = nlohmann::json::array();
          for (size_t i = 0; i < x.items.size() && i < kShownItems; ++i) {
            items.push_back(value_json(x.items[i]));
          }
          return {{"type", "array"},
                  {"elem_type", gguf::value_type_name(x.elem_type)},
                  {"count", x.items.size()},
                  {"items", std::move(items)},
                  {"truncated", x.items.size() > kShownItems}};
        } else {
          return x;  // strings in full; invalid UTF-8 is replaced when dumped
        }
      },
      value.v);
}

std::string shape_text(const gguf::TensorInfo& t) {
  std::string out = "[";
  for (int d = 0; d < t.n_dims; ++d) {
    if (d > 0) out += ", ";
    out += std::to_string(t.ne[d]);
  }
  return out + "]";
}

struct Totals {
  uint64_t parameters = 0;
  uint64_t bytes = 0;
};

Totals totals(const GgufFile& file) {
  Totals t;
  for (const auto& info : file.tensors()) {
    t.parameters += static_cast<uint64_t>(info.n_elements());
    t.bytes += info.n_bytes;
  }
  return t;
}

void print_text(const std::string& path, const GgufFile& file) {
  std::printf("file: %s\nversion: %u\nalignment: %u\ndata offset: %" PRIu64 "\nfile size: %" PRIu64
              "\n",
              path.c_str(), file.version(), file.alignment(), file.data_offset(), file.file_size());
  std::printf("metadata: %zu keys\n", file.metadata().size());
  for (const auto& kv : file.metadata()) {
    std::printf("  %s: %s = %s\n", kv.key.c_str(), type_label(kv.value).c_str(),
                format_value(kv.value).c_str());
  }
  std::printf("tensors: %zu\n", file.tensors().size());
  for (const auto& t : file.tensors()) {
    std::printf("  %-40s %-8s %-22s offset %-12" PRIu64 " size %" PRIu64 "\n",
                quote_text(t.name).c_str(),
                std::string(ggml_type_name(static_cast<uint32_t>(t.type))).c_str(),
                shape_text(t).c_str(), t.offset, t.n_bytes);
  }
  Totals sum = totals(file);
  std::printf("parameters: %" PRIu64 " (%.2f M)\ntensor bytes: %" PRIu64 " (%.2f MiB)\n",
              sum.parameters, static_cast<double>(sum.parameters) / 1e6, sum.bytes,
              static_cast<double>(sum.bytes) / (1024.0 * 1024.0));
}

void print_json(const std::string& path, const GgufFile& file) {
  nlohmann::json metadata = nlohmann::json::array();
  for (const auto& kv : file.metadata()) {
    metadata.push_back(
        {{"key", kv.key}, {"type", type_label(kv.value)}, {"value", value_json(kv.value)}});
  }
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : file.tensors()) {
    nlohmann::json shape = nlohmann::json::array();
    for (int d = 0; d < t.n_dims; ++d) shape.push_back(t.ne[d]);
    tensors.push_back({{"name", t.name},
                       {"type", ggml_type_name(static_cast<uint32_t>(t.type))},
                       {"shape", std::move(shape)},
                       {"offset", t.offset},
                       {"size", t.n_bytes}});
  }
  Totals sum = totals(file);
  nlohmann::json out = {{"file", path},
                        {"version", file.version()},
                        {"alignment", file.alignment()},
                        {"data_offset", file.data_offset()},
                        {"file_size", file.file_size()},
                        {"metadata", std::move(metadata)},
                        {"tensors", std::move(tensors)},
                        {"parameter_count", sum.parameters},
                        {"tensor_bytes", sum.bytes}};
  std::string text = out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  std::printf("%s\n", text.c_str());
}

struct InspectOptions {
  std::string path;
  bool json = false;
};

int run_inspect(const InspectOptions& opts) {
  Result<GgufFile> file = GgufFile::open(opts.path);
  if (!file) return fail(file.status().message());
  if (opts.json) {
    print_json(opts.path, *file);
  } else {
    print_text(opts.path, *file);
  }
  return 0;
}

}  // namespace

CLI::App* add_inspect_command(CLI::App& app, Runner& run) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand("inspect", "Show a GGUF file's metadata and tensors");
  sub->add_option("file", opts->path, "GGUF file")->required();
  sub->add_flag("--json", opts->json, "Print JSON instead of text");
  run = [opts] { return run_inspect(*opts); };
  return sub;
}

}  // namespace kiln::cli
