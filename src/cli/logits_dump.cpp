#include "cli/logits_dump.h"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/sampler.h"

namespace kiln::cli {

Result<std::unique_ptr<LogitsDump>> LogitsDump::open(const std::string& path, int top_k,
                                                     bool all_logits) {
  if (top_k < 1) return Status::error("--dump-top-k must be >= 1, got " + std::to_string(top_k));
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return Status::error(path + ": cannot create: " + std::strerror(errno));
  return std::unique_ptr<LogitsDump>(new LogitsDump(file, path, top_k, all_logits));
}

LogitsDump::~LogitsDump() { std::fclose(file_); }

Status LogitsDump::write(const TokenEvent& event) {
  if (failed_) return Status::ok();  // reported once already
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : event.piece) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  nlohmann::json line = {{"step", event.step},
                         {"id", event.id},
                         {"piece", std::string(event.piece)},
                         {"piece_hex", hex},
                         {"eog", event.eog}};
  nlohmann::json top = nlohmann::json::array();
  for (const auto& [id, logit] : top_logits(event.logits, top_k_)) top.push_back({id, logit});
  line["top"] = std::move(top);
  if (all_logits_) line["logits"] = std::vector<float>(event.logits.begin(), event.logits.end());
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
    failed_ = true;
    return Status::error(path_ + ": write failed: " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace kiln::cli
