// Helpers the `kiln` subcommands share: error printing, loading a model with
// a progress bar, the sampling flags, and Ctrl+C handling.
//
// Thread-safety: the Ctrl+C state is process-wide (a signal handler needs a
// global); everything else is per call.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/sampler.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace kiln::cli {

// Prints "kiln: error: <message>" to stderr and returns 1 (the runner's error code).
int fail(const std::string& message);

// The whole file as bytes; the error names the path.
Result<std::string> read_text_file(const std::string& path);

// Reads `path` once through the page cache so the first forward pass does not
// stall on page faults of the memory-mapped weights. Draws a progress bar on
// stderr when it is a terminal and the file is larger than 64 MiB. Skipped for
// files larger than half the physical memory (they could not stay cached).
void preload_file(const std::string& path);

struct LoadedModel {
  std::unique_ptr<Model> model;
  Tokenizer tokenizer;
};

// Preloads, then Model::load and Tokenizer::from_gguf. Errors name the file.
Result<LoadedModel> load_model(const std::string& path, const LoadOptions& options);

// Number of threads to use by default: the hardware's, at least 1.
int default_threads();

// Parses "f16" / "f32" (any case) for --kv-type.
Result<GgmlType> parse_kv_type(const std::string& name);

// Sampling flags as strings where CLI11 cannot validate them itself.
struct SamplingFlags {
  SamplingParams params;
  int64_t seed = -1;                    // -1: a random seed (printed at info level)
  std::vector<std::string> logit_bias;  // "ID=BIAS" or "ID=-inf"
};

// Registers --temp, --top-k, --top-p, --min-p, --repeat-penalty,
// --repeat-last-n, --presence-penalty, --frequency-penalty, --seed,
// --logit-bias on `sub` (the "Sampling" group).
void add_sampling_flags(CLI::App* sub, SamplingFlags& flags);

// Resolves the seed and parses the logit biases; the result still needs
// validate_sampling_params against the vocabulary (Sampler::create does it).
Result<SamplingParams> resolve_sampling(const SamplingFlags& flags);

// Ctrl+C. After install_interrupt_handler(), a press during a generation
// (between begin_generation() and end_generation()) sets stop_flag(), which the
// Generator reads at step boundaries; a press while idle (e.g. at the chat
// prompt) or a second press before the generation has stopped requests exit.
// SIGINT interrupts a blocking read of stdin (no SA_RESTART).
void install_interrupt_handler();
void begin_generation();  // clears the stop flag
void end_generation();
const std::atomic<bool>* stop_flag();  // "stop the current answer"
bool exit_requested();

}  // namespace kiln::cli
