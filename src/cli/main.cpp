// kiln: one binary, subcommands. See `kiln --help`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "core/log.h"

int main(int argc, char** argv) {
  using namespace kiln::cli;
  CLI::App app{"kiln: an LLM inference engine and server for GGUF models"};
  app.require_subcommand(1);
  app.fallthrough();  // --log-level may follow the subcommand
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str();

  std::vector<std::pair<CLI::App*, Runner>> commands;
  auto add = [&](CLI::App* (*register_fn)(CLI::App&, Runner&)) {
    Runner run;
    CLI::App* sub = register_fn(app, run);
    commands.emplace_back(sub, std::move(run));
  };
  // One line per subcommand.
  add(add_run_command);
  add(add_bench_command);
  add(add_inspect_command);
  add(add_tokenize_command);
  add(add_quantize_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  kiln::init_logging(log_level);
  try {
    for (auto& [sub, run] : commands) {
      if (sub->parsed()) return run();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln: error: %s\n", e.what());
    return 1;
  }
  return 2;
}
