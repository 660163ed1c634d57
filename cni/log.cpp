#include "cni/log.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
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

void install(std::vector<spdlog::sink_ptr> sinks, const std::string& pattern,
             spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>(kLoggerName, sinks.begin(), sinks.end());
  logger->set_pattern(pattern);
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace

bool isLogLevel(std::string_view level) noexcept {
  return std::find(kLogLevels.begin(), kLogLevels.end(), level) != kLogLevels.end();
}

void initLogging(const LogConfig& cfg, std::string_view containerId, std::string_view ifname,
                 bool toStderr) noexcept {
  // The container id and ifname go into the pattern itself (as literal text, '%' escaped) so that
  // every line names its attachment without each call site having to repeat them.
  std::string tag;
  for (const char c : std::string(containerId) + "/" + std::string(ifname)) {
    tag += c;
    if (c == '%') {
      tag += '%';
    }
  }
  const std::string pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l [%P] " + tag + ": %v";
  const spdlog::level::level_enum level = toSpdlogLevel(cfg.level);

  try {
    std::vector<spdlog::sink_ptr> sinks;
    std::string fileFailure;
    if (!cfg.file.empty() && level != spdlog::level::off) {
      try {
        // basic_file_sink opens with "ab" (O_APPEND: concurrent plugin processes do not clobber
        // each other's lines) and creates missing parent directories.
        sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(cfg.file, false));
      } catch (const std::exception& e) {
        fileFailure = e.what();
      }
    }
    if ((toStderr && level != spdlog::level::off) || !fileFailure.empty()) {
      sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    }
    install(std::move(sinks), pattern, level);
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
