// The daemon's heartbeat and the liveness check on it. `sixrd daemon` writes the heartbeat file at
// the start of every round; `sixrd status --liveness` (the DaemonSet's livenessProbe) fails when
// the last one is older than kMissedRounds rounds: the daemon loop is stuck (a hung netlink call, a
// deadlock), and restarting the container is what helps. Readiness (`sixrd status`) is another
// question: whether the plugin can serve ADD, which a restart does not change.
// The age is measured on CLOCK_BOOTTIME, recorded in the file: a wall-clock step (NTP) neither
// kills a healthy daemon nor hides a stuck one. No kernel state, no sit involved.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace sixrd::install {

// Rounds the daemon may miss before it counts as stuck: a round may take up to twice the
// interval (slow netlink dumps, relay probes timing out) without a restart.
inline constexpr int kMissedRounds = 3;

struct Heartbeat {
  int pid = 0;
  std::int64_t round = 0;
  int intervalSeconds = 0;
  double bootSeconds = 0;  // CLOCK_BOOTTIME when written
};

// Seconds on CLOCK_BOOTTIME (monotonic, counting suspend, the same for every process on the host).
double bootSeconds();

// `<hostRoot>/run/sixrd/.daemon-<file name of conf>.heartbeat`: under the lease store's host
// directory the DaemonSet mounts writable (a dot name: never a network's lease directory), one per
// configuration, so two sixrd networks on a node have a heartbeat each.
std::filesystem::path defaultHeartbeatPath(const std::filesystem::path& hostRoot,
                                           const std::filesystem::path& conf);

// Writes `beat` to `path` whole (a temporary file renamed over it: a reader never sees half of
// one), creating the directory. Throws std::system_error.
void writeHeartbeat(const std::filesystem::path& path, const Heartbeat& beat);

// Reads a heartbeat file. Throws std::runtime_error naming the path and what is wrong (missing,
// not JSON, a member missing or of the wrong type, a non-positive interval).
Heartbeat readHeartbeat(const std::filesystem::path& path);

struct Liveness {
  bool alive = false;
  std::string line;  // one sentence: how old the heartbeat is against its limit, or what is wrong
};

// The age logic: alive when 0 <= now - beat.bootSeconds <= kMissedRounds * beat.intervalSeconds
// (a heartbeat from the future is from another boot: not alive).
Liveness judgeHeartbeat(const Heartbeat& beat, double nowBootSeconds);

// readHeartbeat + judgeHeartbeat against bootSeconds(); a file that cannot be read is not alive
// (the daemon never started its first round, or writes elsewhere), the line saying why.
Liveness checkLiveness(const std::filesystem::path& path);

}  // namespace sixrd::install
