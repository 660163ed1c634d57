// Logging setup. Everything logs through spdlog's default logger (spdlog::info(...), ...); these
// functions only decide where it goes. Logs never go to stdout: stdout carries the CNI result.
// spdlog's built-in default logger writes to stdout, so one of these must run before the first
// log line (the plugin logs nothing until its config is read and initLogging has run).
#pragma once

#include <array>
#include <string_view>

#include "cni/config.hpp"

namespace sixrd::cni {

// The accepted values of "log.level" (and of the CLI's --log-level), most verbose first.
inline constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info",
                                                               "warn",  "error", "off"};

bool isLogLevel(std::string_view level) noexcept;

// For a CNI invocation. Installs a default logger that writes to cfg.file (appended; its parent
// directory is created when missing) and, when toStderr, to stderr, at cfg.level. Every line
// carries the time, the level, the pid, and containerId/ifname. Level "off" opens no file. A log
// file that cannot be opened does not fail the call: the logger falls back to stderr and warns
// there naming the file and the reason. An empty cfg.file with toStderr false logs nothing. Every
// line is flushed as it is written: plugin processes are short-lived and many may append to the
// same file at once. Never throws (an unknown level is treated as "info"; parseConfig rejects it
// earlier).
void initLogging(const LogConfig& cfg, std::string_view containerId, std::string_view ifname,
                 bool toStderr) noexcept;

// Until the config is parsed: drops every line (no sink at all, in particular not stdout).
void silenceLogging() noexcept;

// For the human CLI: stderr only (coloured when stderr is a terminal), no pid/container prefix.
// Never throws (an unknown level is treated as "info").
void initCliLogging(std::string_view level) noexcept;

}  // namespace sixrd::cni
