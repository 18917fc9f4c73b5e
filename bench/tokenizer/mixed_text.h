// Deterministic mixed text for the tokenizer benchmark: English prose (~50%),
// code (~20%), CJK and other scripts (~15%), numbers, emoji and whitespace
// runs. Same bytes for the same (size, seed) on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::bench {

// At most `bytes` bytes of valid UTF-8 (cut at a character boundary).
std::string make_mixed_text(size_t bytes, uint32_t seed = 1);

// CJK only, no spaces: the worst case for SPM, whose merge queue then spans
// the whole text (no U+2581 segment boundaries).
std::string make_cjk_text(size_t bytes, uint32_t seed = 1);

}  // namespace kiln::bench
