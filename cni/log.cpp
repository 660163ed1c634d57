#include "cni/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace sixrd::cni {
namespace {

constexpr const char* kLoggerName = "sixrd";

spdlog::level::level_enum toSpdlogLevel(std::string_view level) noexcept {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "off") return spdlog::level::off;
  return spdlog::level::info;
}

// The log file, opened by hand rather than by spdlog's fopen("ab"): O_NOFOLLOW (a symlink planted
// at the log path does not redirect root's writes elsewhere), O_CLOEXEC (nothing sixrd runs
// inherits it), mode 0640 when created (pod names and addresses are not for every local user),
// O_APPEND (concurrent plugin processes do not clobber each other's lines).
class AppendFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit AppendFileSink(const std::string& path) {
    constexpr int kFlags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
    fd_ = ::open(path.c_str(), kFlags, 0640);
    if (fd_ < 0 && errno == ENOENT) {
      // Its directory is missing: create it (only then, not on every run) and try again.
      std::error_code ec;
      const std::filesystem::path parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      fd_ = ::open(path.c_str(), kFlags, 0640);
    }
    if (fd_ < 0) {
      const int err = errno;
      throw std::runtime_error(path + ": " +
                               (err == ELOOP ? std::string("it is a symlink, which sixrd does not "
                                                           "follow for its log")
                                             : std::string(std::strerror(err))));
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error(path + ": not a regular file");
    }
  }
  ~AppendFileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  AppendFileSink(const AppendFileSink&) = delete;
  AppendFileSink& operator=(const AppendFileSink&) = delete;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    // One write per line: O_APPEND keeps each whole even with other writers.
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // a full disk must not fail the CNI call
      done += static_cast<std::size_t>(n);
    }
  }
  void flush_() override {}

 private:
  int fd_ = -1;
};

void appendDigits(spdlog::memory_buf_t& out, long value, int width) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < static_cast<int>(sizeof digits));
  for (int pad = n; pad < width; ++pad) out.push_back('0');
  while (n > 0) out.push_back(digits[--n]);
}

// The plugin's line: "2026-12-03T23:28:00.017+00:00 info [223] <container>/<ifname>: message".
// Written by hand rather than by spdlog's pattern formatter, whose time fields call gmtime_r: its
// first call in a process makes glibc read and parse /etc/localtime (seven system calls), and %P
// asks the kernel for the pid on every line. The date is computed from the clock in UTC, the pid
// read once.
class PluginLineFormatter final : public spdlog::formatter {
 public:
  PluginLineFormatter(std::string tag, long pid) : tag_(std::move(tag)), pid_(pid) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto day = floor<days>(msg.time);
    const year_month_day date{day};
    const hh_mm_ss<milliseconds> time{floor<milliseconds>(msg.time - day)};
    appendDigits(dest, static_cast<int>(date.year()), 4);
    dest.push_back('-');
    appendDigits(dest, static_cast<unsigned>(date.month()), 2);
    dest.push_back('-');
    appendDigits(dest, static_cast<unsigned>(date.day()), 2);
    dest.push_back('T');
    appendDigits(dest, time.hours().count(), 2);
    dest.push_back(':');
    appendDigits(dest, time.minutes().count(), 2);
    dest.push_back(':');
    appendDigits(dest, time.seconds().count(), 2);
    dest.push_back('.');
    appendDigits(dest, time.subseconds().count(), 3);
    append(dest, "+00:00 ");
    append(dest, spdlog::level::to_string_view(msg.level));
    append(dest, " [");
    appendDigits(dest, pid_, 1);
    append(dest, "] ");
    append(dest, tag_);
    append(dest, ": ");
    append(dest, msg.payload);
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<PluginLineFormatter>(tag_, pid_);
  }

 private:
  static void append(spdlog::memory_buf_t& dest, spdlog::string_view_t text) {
    dest.append(text.data(), text.data() + text.size());
  }

  std::string tag_;
  long pid_;
};

void install(std::vector<spdlog::sink_ptr> sinks, std::unique_ptr<spdlog::formatter> formatter,
             spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>(kLoggerName, sinks.begin(), sinks.end());
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void install(std::vector<spdlog::sink_ptr> sinks, const std::string& pattern,
             spdlog::level::level_enum level) {
  install(std::move(sinks), std::make_unique<spdlog::pattern_formatter>(pattern), level);
}

}  // namespace

bool isLogLevel(std::string_view level) noexcept {
  return std::find(kLogLevels.begin(), kLogLevels.end(), level) != kLogLevels.end();
}

void initLogging(const LogConfig& cfg, std::string_view containerId, std::string_view ifname,
                 bool toStderr) noexcept {
  // The container id and ifname are in every line, so that each names its attachment without
  // each call site having to repeat them.
  std::string tag = std::string(containerId) + "/" + std::string(ifname);
  const spdlog::level::level_enum level = toSpdlogLevel(cfg.level);

  try {
    std::vector<spdlog::sink_ptr> sinks;
    std::string fileFailure;
    if (!cfg.file.empty() && level != spdlog::level::off) {
      try {
        sinks.push_back(std::make_shared<AppendFileSink>(cfg.file));
      } catch (const std::exception& e) {
        fileFailure = e.what();
      }
    }
    if ((toStderr && level != spdlog::level::off) || !fileFailure.empty()) {
      sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    }
    // UTC, with its offset written out: local time would make every plugin run read and parse
    // /etc/localtime (glibc's tzset) before its first line, an ADD's cost for nothing a reader
    // needs.
    install(std::move(sinks), std::make_unique<PluginLineFormatter>(std::move(tag), ::getpid()),
            level);
    if (!fileFailure.empty()) {
      spdlog::warn("cannot open log file {}: {}; logging to stderr instead", cfg.file, fileFailure);
    }
  } catch (...) {
    // Logging is a diagnostic aid; an ADD must not fail because of it. Keep whatever logger
    // spdlog has (its own default writes to stdout, so silence it).
    spdlog::set_level(spdlog::level::off);
  }
}

void silenceLogging() noexcept {
  try {
    install({}, "%v", spdlog::level::off);
  } catch (...) {
    spdlog::set_level(spdlog::level::off);
  }
}

void initCliLogging(std::string_view level) noexcept {
  try {
    std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_color_sink_mt>()};
    install(std::move(sinks), "%^%l%$: %v", toSpdlogLevel(level));
  } catch (...) {
    spdlog::set_level(spdlog::level::off);
  }
}

}  // namespace sixrd::cni
