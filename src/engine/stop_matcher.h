// StopMatcher: finds stop strings in streamed text without ever emitting text
// that belongs to a stop string.
//
// push() takes the next decoded bytes and returns the bytes that are safe to
// emit now: everything except a held-back tail that is a proper prefix of some
// stop string (it may still complete into one). When a stop string appears,
// push() returns the text before it, sets stopped(), and everything after the
// match is dropped. flush() returns the held-back tail at the end of
// generation (no stop string completed). Matching is on bytes.
//
// Thread-safety: none (one per request).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln {

class StopMatcher {
 public:
  StopMatcher() = default;
  // Empty strings in `stops` are ignored.
  explicit StopMatcher(std::vector<std::string> stops);

  std::string push(std::string_view text);
  std::string flush();

  bool stopped() const { return stopped_; }
  // The stop string that matched (empty if none).
  const std::string& matched() const { return matched_; }
  size_t held_back() const { return held_.size(); }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  std::string matched_;
  bool stopped_ = false;
};

}  // namespace kiln
