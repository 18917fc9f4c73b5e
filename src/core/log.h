// Logging: spdlog to stderr (stdout is reserved for program output such as
// generated text or `--json`). Call init_logging once from main.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace kiln {

// level: "trace", "debug", "info", "warn", "error", "off". Unknown -> "info".
void init_logging(std::string_view level);

}  // namespace kiln

#define KILN_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define KILN_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define KILN_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define KILN_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
