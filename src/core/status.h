// Status and Result<T>: errors as values, with a message that says what was
// wrong and where. Converted once at each boundary (CLI prints, server answers).
//
// Thread-safety: value types; no shared state.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kiln {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message), 0); }

  bool is_ok() const { return !failed_; }
  explicit operator bool() const { return is_ok(); }
  const std::string& message() const { return message_; }

  // Prefixes context: Status::error("bad x").with_context("loading f.gguf")
  // gives "loading f.gguf: bad x". No-op on OK.
  Status with_context(std::string_view context) const {
    if (is_ok()) return *this;
    return Status(std::string(context) + ": " + message_, 0);
  }

 private:
  Status(std::string message, int) : message_(std::move(message)), failed_(true) {}
  std::string message_;
  bool failed_ = false;
};

// Result<T>: a T or a failed Status. Accessing value() of a failed Result is a
// bug and aborts via KILN_CHECK semantics.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(implicit)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(implicit)
    if (std::get<Status>(data_).is_ok()) {
      std::fprintf(stderr, "kiln: Result constructed from OK Status\n");
      std::abort();
    }
  }

  bool is_ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & {
    check();
    return std::get<T>(data_);
  }
  const T& value() const& {
    check();
    return std::get<T>(data_);
  }
  T&& value() && {
    check();
    return std::get<T>(std::move(data_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  void check() const {
    if (!is_ok()) {
      std::fprintf(stderr, "kiln: value() on failed Result: %s\n",
                   std::get<Status>(data_).message().c_str());
      std::abort();
    }
  }
  std::variant<T, Status> data_;
};

}  // namespace kiln

#define KILN_CONCAT_INNER_(a, b) a##b
#define KILN_CONCAT_(a, b) KILN_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` (a Status) failed.
#define KILN_TRY(expr)                                      \
  do {                                                      \
    ::kiln::Status kiln_try_status_ = (expr);               \
    if (!kiln_try_status_.is_ok()) return kiln_try_status_; \
  } while (0)

// `KILN_ASSIGN_OR_RETURN(auto x, make_x())`: unwraps a Result or returns its Status.
#define KILN_ASSIGN_OR_RETURN(lhs, expr) \
  KILN_ASSIGN_OR_RETURN_IMPL_(KILN_CONCAT_(kiln_result_, __LINE__), lhs, expr)
#define KILN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.is_ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
