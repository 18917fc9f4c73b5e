// KILN_CHECK: an always-on invariant check for bugs (never for user input,
// file contents or resource exhaustion: those are Status errors).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace kiln::detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line,
                                      const char* msg) {
  std::fprintf(stderr, "kiln: internal check failed at %s:%d: %s%s%s\n", file, line, expr,
               msg[0] ? " — " : "", msg);
  std::abort();
}
}  // namespace kiln::detail

#define KILN_CHECK(cond) \
  ((cond) ? (void)0 : ::kiln::detail::check_failed(#cond, __FILE__, __LINE__, ""))
#define KILN_CHECK_MSG(cond, msg) \
  ((cond) ? (void)0 : ::kiln::detail::check_failed(#cond, __FILE__, __LINE__, (msg)))
