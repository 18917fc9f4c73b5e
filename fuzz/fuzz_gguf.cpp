// libFuzzer target for the GGUF reader: GgufFile::parse on arbitrary bytes
// must never crash, hang or read out of bounds (ASan/UBSan). On what parses it
// calls every getter, touches every tensor's bytes, and checks a round trip:
// the writer re-emits the file and the reader must accept it unchanged.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <span>

#include "gguf/gguf.h"
#include "gguf/writer.h"

namespace {

using kiln::gguf::GgufFile;
using kiln::gguf::GgufWriter;
using kiln::gguf::ValueType;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_gguf: round trip failed: %s\n", what);
    __builtin_trap();
  }
}

void exercise_getters(const GgufFile& file) {
  for (const auto& kv : file.metadata()) {
    const std::string& k = kv.key;
    (void)file.get_string(k);
    (void)file.get_u32(k);
    (void)file.get_i32(k);
    (void)file.get_u64(k);
    (void)file.get_f32(k);
    (void)file.get_bool(k);
    (void)file.get_string_array(k);
    (void)file.get_f32_array(k);
    (void)file.get_i32_array(k);
    (void)file.get_array(k, ValueType::ARRAY);
    require(file.find(k) == &kv.value, "find");
  }
  (void)file.get_u32("general.alignment");
}

uint64_t touch_tensors(const GgufFile& file) {
  uint64_t sum = 0;
  for (const auto& t : file.tensors()) {
    auto data = file.tensor_data(t);
    require(data.size() == t.n_bytes, "tensor_data size");
    sum += data.front() + data.back();
    require(file.find_tensor(t.name) == &t, "find_tensor");
  }
  return sum;
}

void round_trip(const GgufFile& file) {
  GgufWriter w;
  for (const auto& kv : file.metadata()) w.set(kv.key, kv.value);
  w.set_alignment(file.alignment());
  for (const auto& t : file.tensors()) {
    std::span<const int64_t> ne(t.ne.data(), static_cast<size_t>(t.n_dims));
    require(w.add_tensor_view(t.name, t.type, ne, file.tensor_data(t)).is_ok(), "add_tensor");
  }
  auto bytes = w.to_bytes();
  require(bytes.is_ok(), "to_bytes");
  auto again = GgufFile::parse(*bytes);
  require(again.is_ok(), "re-parse");
  require(again->alignment() == file.alignment(), "alignment");
  require(again->tensors().size() == file.tensors().size(), "tensor count");
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const auto& a = file.tensors()[i];
    const auto& b = again->tensors()[i];
    require(a.name == b.name && a.type == b.type && a.ne == b.ne && a.n_bytes == b.n_bytes,
            "tensor info");
    auto da = file.tensor_data(a);
    auto db = again->tensor_data(b);
    require(std::equal(da.begin(), da.end(), db.begin(), db.end()), "tensor data");
  }
  for (const auto& kv : file.metadata()) {
    if (kv.key == "general.alignment") continue;
    require(again->find(kv.key) != nullptr, "key");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = GgufFile::parse(std::span<const uint8_t>(data, size));
  if (!file.is_ok()) return 0;
  exercise_getters(*file);
  volatile uint64_t sink = touch_tensors(*file);
  (void)sink;
  round_trip(*file);
  return 0;
}
