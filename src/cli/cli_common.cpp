#include "cli/cli_common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "core/log.h"
#include "gguf/gguf.h"

namespace kiln::cli {

int fail(const std::string& message) {
  std::fprintf(stderr, "kiln: error: %s\n", message.c_str());
  return 1;
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::error(path + ": read failed");
  return ss.str();
}

namespace {

void draw_progress(const std::string& name, uint64_t done, uint64_t total) {
  constexpr int kWidth = 30;
  const double frac = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '=');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\rloading %s [%s] %3d%% %.0f/%.0f MiB", name.c_str(), bar.c_str(),
               static_cast<int>(frac * 100), static_cast<double>(done) / (1 << 20),
               static_cast<double>(total) / (1 << 20));
  std::fflush(stderr);
}

}  // namespace

void preload_file(const std::string& path) {
  constexpr uint64_t kShowProgressFrom = 64ull << 20;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // Model::load reports the real error
  struct stat st {};
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  const uint64_t phys = pages > 0 && page_size > 0 ? static_cast<uint64_t>(pages) * page_size : 0;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (phys > 0 && static_cast<uint64_t>(st.st_size) > phys / 2)) {
    ::close(fd);
    return;
  }
  const auto total = static_cast<uint64_t>(st.st_size);
  const bool show = total >= kShowProgressFrom && ::isatty(STDERR_FILENO) != 0;
  const std::string name = path.substr(path.find_last_of('/') + 1);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buf(8u << 20);
  uint64_t done = 0;
  int last_percent = -1;
  while (done < total) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<uint64_t>(n);
    const int percent = static_cast<int>(done * 100 / total);
    if (show && percent != last_percent) {
      draw_progress(name, done, total);
      last_percent = percent;
    }
  }
  if (show) std::fprintf(stderr, "\n");
  ::close(fd);
}

Result<LoadedModel> load_model(const std::string& path, const LoadOptions& options) {
  preload_file(path);
  KILN_ASSIGN_OR_RETURN(auto model, Model::load(path, options));
  KILN_ASSIGN_OR_RETURN(auto tokenizer, Tokenizer::from_gguf(model->file()));
  if (tokenizer.n_vocab() != model->config().n_vocab) {
    return Status::error(path + ": the tokenizer has " + std::to_string(tokenizer.n_vocab()) +
                         " tokens but the model's vocabulary is " +
                         std::to_string(model->config().n_vocab));
  }
  KILN_LOG_INFO("{}: {}", path, describe(model->config()));
  return LoadedModel{std::move(model), std::move(tokenizer)};
}

int default_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

Result<GgmlType> parse_kv_type(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "f16") return GgmlType::F16;
  if (lower == "f32") return GgmlType::F32;
  return Status::error("--kv-type must be f16 or f32, got '" + name + "'");
}

void add_sampling_flags(CLI::App* sub, SamplingFlags& flags) {
  SamplingParams& p = flags.params;
  const std::string group = "Sampling";
  sub->add_option("--temp", p.temperature, "temperature; 0 = greedy (argmax)")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--top-k", p.top_k, "keep the k most likely tokens; 0 = off")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--top-p", p.top_p, "nucleus sampling mass in [0, 1]; 1 = off")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--min-p", p.min_p, "drop tokens below min-p x the top probability; 0 = off")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--repeat-penalty", p.repeat_penalty, "penalise repeated tokens; 1 = off")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--repeat-last-n", p.penalty_last_n,
                  "penalty window in tokens; 0 = off, -1 = everything")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--presence-penalty", p.presence_penalty, "subtracted once per present token")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--frequency-penalty", p.frequency_penalty, "subtracted per occurrence")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--seed", flags.seed, "RNG seed for reproducible sampling; -1 = random")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--logit-bias", flags.logit_bias,
                  "ID=BIAS added to a token's logit (ID=-inf bans it); repeatable")
      ->group(group);
}

Result<SamplingParams> resolve_sampling(const SamplingFlags& flags) {
  SamplingParams params = flags.params;
  if (flags.seed < -1)
    return Status::error("--seed must be >= -1, got " + std::to_string(flags.seed));
  params.seed = flags.seed == -1 ? std::random_device{}() : static_cast<uint64_t>(flags.seed);
  KILN_LOG_INFO("sampling seed {}", params.seed);
  for (const std::string& item : flags.logit_bias) {
    const size_t eq = item.find('=');
    const auto bad = [&] {
      return Status::error("--logit-bias expects ID=BIAS (e.g. 15043=-2.5 or 2=-inf), got '" +
                           item + "'");
    };
    if (eq == std::string::npos || eq == 0) return bad();
    int32_t id = 0;
    const char* first = item.data();
    auto [end, ec] = std::from_chars(first, first + eq, id);
    if (ec != std::errc() || end != first + eq) return bad();
    const std::string bias_text = item.substr(eq + 1);
    float bias = 0;
    if (bias_text == "-inf") {
      bias = -INFINITY;
    } else {
      try {
        size_t used = 0;
        bias = std::stof(bias_text, &used);
        if (used != bias_text.size() || !std::isfinite(bias)) return bad();
      } catch (const std::exception&) {
        return bad();
      }
    }
    params.logit_bias.emplace_back(id, bias);
  }
  return params;
}

namespace {

// Process-wide because a signal handler can reach nothing else.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_exit{false};
std::atomic<bool> g_generating{false};

extern "C" void on_sigint(int) {
  if (g_generating.load() && !g_stop.load()) {
    g_stop.store(true);
  } else {
    g_exit.store(true);
    g_stop.store(true);
  }
}

}  // namespace

void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking read of stdin returns EINTR
  ::sigaction(SIGINT, &action, nullptr);
}

void begin_generation() {
  g_stop.store(g_exit.load());
  g_generating.store(true);
}

void end_generation() { g_generating.store(false); }

const std::atomic<bool>* stop_flag() { return &g_stop; }

bool exit_requested() { return g_exit.load(); }

}  // namespace kiln::cli
