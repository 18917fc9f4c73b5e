// LogitsDump: `kiln run --dump-logits FILE.jsonl`, one JSON object per
// generated token, for parity checks against other engines:
//
//   {"step": 0, "id": 432, "piece": ", ", "eog": false,
//    "top": [[432, 17.797937], [383, 14.282414], ...]}
//
// `top` holds the top_k largest raw logits (before sampling adjustments),
// descending, ties to the lower id, as [id, logit] pairs (the layout of
// ../shared/golden/manifest.json). With all_logits, "logits" holds the whole
// [n_vocab] row as well. Pieces that are not valid UTF-8 (byte tokens) are
// written with U+FFFD; "piece_hex" always has the exact bytes.
//
// Ownership: owns the file; each line is flushed as it is written so a run
// that is interrupted leaves complete lines. Thread-safety: none.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "core/status.h"
#include "engine/generator.h"

namespace kiln::cli {

class LogitsDump {
 public:
  // Creates or truncates `path`. top_k >= 1.
  static Result<std::unique_ptr<LogitsDump>> open(const std::string& path, int top_k,
                                                  bool all_logits);
  ~LogitsDump();
  LogitsDump(const LogitsDump&) = delete;
  LogitsDump& operator=(const LogitsDump&) = delete;

  // Appends one line; an I/O error is returned once and then sticks.
  Status write(const TokenEvent& event);

 private:
  LogitsDump(std::FILE* file, std::string path, int top_k, bool all_logits)
      : file_(file), path_(std::move(path)), top_k_(top_k), all_logits_(all_logits) {}

  std::FILE* file_;
  std::string path_;
  int top_k_;
  bool all_logits_;
  bool failed_ = false;
};

}  // namespace kiln::cli
