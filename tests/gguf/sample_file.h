// A small valid GGUF built with GgufWriter: metadata of every value type
// (empty and nested arrays included) and a few tensors of different types.
// Shared by the writer, truncation and mutation tests and gguf_write_corpus.
#pragma once

#include <cstdint>
#include <vector>

#include "gguf/writer.h"

namespace kiln::gguf::testing {

// Deterministic tensor bytes: byte i of tensor `seed` is (i * 31 + seed) & 0xff.
std::vector<uint8_t> pattern_bytes(size_t n, uint8_t seed);

// Every value type, arrays of every type, an empty array, 3-level nested
// arrays; tensors: f32 [8, 2], q4_0 [64], f16 [16, 1, 2] (its byte size is a
// multiple of 32 so the file ends exactly at the last tensor's data).
GgufWriter sample_writer();

}  // namespace kiln::gguf::testing
