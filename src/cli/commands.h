// Each `kiln` subcommand registers its options on the CLI11 app and returns a
// runner; main() parses, sets up logging, then calls the chosen runner.
// A runner returns the process exit code: 0 ok, 1 error (message on stderr),
// 2 usage. Results go to stdout; logs and errors to stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace kiln::cli {

using Runner = std::function<int()>;

// Each returns the subcommand and sets `run`.
CLI::App* add_inspect_command(CLI::App& app, Runner& run);
CLI::App* add_tokenize_command(CLI::App& app, Runner& run);
CLI::App* add_run_command(CLI::App& app, Runner& run);
CLI::App* add_bench_command(CLI::App& app, Runner& run);
CLI::App* add_quantize_command(CLI::App& app, Runner& run);

}  // namespace kiln::cli
