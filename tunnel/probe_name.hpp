// The name of sixrd's throw-away sit probe device: "sxprobe" + the pid of the process that made it
// (sit.hpp's sitAvailable), so a later run can tell one left behind by a killed process.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace sixrd::tunnel {

inline constexpr std::string_view kProbePrefix = "sxprobe";

// The pid a probe device's name carries ("sxprobe" + 1..7 digits, no leading zero: pid_max is at
// most 4194304); nullopt for any other name.
constexpr std::optional<int> probeDevicePid(std::string_view name) {
  constexpr std::size_t kMaxDigits = 7;
  if (!name.starts_with(kProbePrefix)) return std::nullopt;
  const std::string_view digits = name.substr(kProbePrefix.size());
  if (digits.empty() || digits.size() > kMaxDigits || digits.front() == '0') return std::nullopt;
  int pid = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

}  // namespace sixrd::tunnel
