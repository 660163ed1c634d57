#include "install/liveness.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace sixrd::install {

namespace fs = std::filesystem;
using nlohmann::json;

double bootSeconds() {
  timespec now{};
  if (clock_gettime(CLOCK_BOOTTIME, &now) != 0) {
    throw std::system_error(errno, std::generic_category(), "clock_gettime(CLOCK_BOOTTIME)");
  }
  constexpr double kNanos = 1e9;
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / kNanos;
}

fs::path defaultHeartbeatPath(const fs::path& hostRoot, const fs::path& conf) {
  return hostRoot / "run/sixrd" / fmt::format(".daemon-{}.heartbeat", conf.filename().string());
}

void writeHeartbeat(const fs::path& path, const Heartbeat& beat) {
  fs::create_directories(path.parent_path());
  const json doc = {{"pid", beat.pid},
                    {"round", beat.round},
                    {"intervalSeconds", beat.intervalSeconds},
                    {"bootSeconds", beat.bootSeconds}};
  const fs::path tmp = fs::path(path).concat(fmt::format(".tmp-{}", getpid()));
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << doc.dump() << '\n';
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw std::system_error(EIO, std::generic_category(), "write " + tmp.string());
    }
  }
  fs::rename(tmp, path);
}

Heartbeat readHeartbeat(const fs::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error(fmt::format("no heartbeat file {}", path.string()));
  }
  std::stringstream text;
  text << in.rdbuf();
  const json doc = json::parse(text.str(), nullptr, false);
  const auto bad = [&](const std::string& why) {
    return std::runtime_error(fmt::format("heartbeat file {} {}", path.string(), why));
  };
  if (!doc.is_object()) throw bad("is not a JSON object");
  const auto number = [&](const char* key) -> const json& {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_number()) throw bad(fmt::format("has no number \"{}\"", key));
    return *it;
  };
  Heartbeat beat;
  beat.pid = number("pid").get<int>();
  beat.round = number("round").get<std::int64_t>();
  beat.intervalSeconds = number("intervalSeconds").get<int>();
  beat.bootSeconds = number("bootSeconds").get<double>();
  if (beat.intervalSeconds < 1) throw bad("has an interval below 1 s");
  return beat;
}

Liveness judgeHeartbeat(const Heartbeat& beat, double nowBootSeconds) {
  const double age = nowBootSeconds - beat.bootSeconds;
  const int limit = kMissedRounds * beat.intervalSeconds;
  const std::string who = fmt::format("daemon (pid {}, round {})", beat.pid, beat.round);
  if (age < 0) {
    return {false, fmt::format("stuck or gone: the heartbeat of the {} is from {:.0f} s in the "
                               "future (another boot's?)",
                               who, -age)};
  }
  if (age > limit) {
    return {false, fmt::format("stuck: the {} last began a round {:.0f} s ago, more than {} "
                               "rounds of {} s ({} s)",
                               who, std::floor(age), kMissedRounds, beat.intervalSeconds, limit)};
  }
  return {true, fmt::format("alive: the {} began a round {:.0f} s ago (limit {} s: {} rounds of "
                            "{} s)",
                            who, std::floor(age), limit, kMissedRounds, beat.intervalSeconds)};
}

Liveness checkLiveness(const fs::path& path) {
  try {
    return judgeHeartbeat(readHeartbeat(path), bootSeconds());
  } catch (const std::exception& e) {
    return {false, fmt::format("stuck or not started: {} (the daemon writes it at the start of "
                               "every round)",
                               e.what())};
  }
}

}  // namespace sixrd::install
