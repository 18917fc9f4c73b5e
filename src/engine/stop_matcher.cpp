#include "engine/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace kiln {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

std::string StopMatcher::push(std::string_view text) {
  if (stopped_) return {};
  held_.append(text);

  // The earliest complete match wins (ties: the longer stop string).
  size_t best_pos = std::string::npos;
  for (const auto& stop : stops_) {
    const size_t pos = held_.find(stop);
    if (pos == std::string::npos) continue;
    if (pos < best_pos || (pos == best_pos && stop.size() > matched_.size())) {
      best_pos = pos;
      matched_ = stop;
    }
  }
  if (best_pos != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, best_pos);
    held_.clear();
    return out;
  }

  // Hold back the longest suffix of held_ that is a proper prefix of a stop.
  size_t hold = 0;
  for (const auto& stop : stops_) {
    const size_t max_len = std::min(stop.size() - 1, held_.size());
    for (size_t len = max_len; len > hold; --len) {
      if (std::string_view(held_).substr(held_.size() - len) ==
          std::string_view(stop).substr(0, len)) {
        hold = len;
        break;
      }
    }
  }
  std::string out = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return out;
}

std::string StopMatcher::flush() {
  std::string out = std::move(held_);
  held_.clear();
  return out;
}

}  // namespace kiln
