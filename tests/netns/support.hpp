// Shared machinery of the host-kernel network-namespace tests.
//
// Every test makes its own namespaces (`ip netns add sxt-<pid>-<n>-<role>`), enters the node one
// for its whole duration, and deletes what it made when it ends, pass or fail (RAII members).
// Kernel state is read independently of sixrd: `ip -n NS -j ...` parsed with nlohmann::json, and
// `ip netns exec NS cat /proc/sys/...` for sysctls. Traffic is a raw ICMPv6 echo sent from inside
// a namespace (no ping binary needed).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipam/sixrd_math.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/netns.hpp"

namespace sixrd::netns_test {

using nlohmann::json;

// The underlay every test node gets: ul0 (a veth whose peer ul0p stays in the node namespace).
inline constexpr char kUnderlay[] = "198.18.0.0/16";
inline constexpr char kNodeIp[] = "198.18.0.11";
inline constexpr char kPrefix[] = "fd00:10::/48";
inline constexpr char kNode64[] = "fd00:10:0:b::/64";  // 198.18.0.11 in /16 -> host bits 0x000b
inline constexpr int kUnderlayMtu = 1500;
inline constexpr int kPodMtu = 1480;

struct CommandResult {
  int status = -1;  // exit status, or -1 when it did not exit normally
  std::string out;  // stdout (and stderr when asked)
};

// Runs `command` through /bin/sh, capturing stdout (stderr too when mergeStderr).
CommandResult run(const std::string& command, bool mergeStderr = false);
// Same, throwing std::runtime_error (with the output) unless it exits 0. Returns stdout+stderr.
std::string must(const std::string& command);
// `ip -n NS -j ARGS` parsed; [] for an empty answer. Throws when ip fails.
json ipJson(const std::string& ns, const std::string& args);

// `sxt-<pid>-<n>-<role>`, unique per process and call.
std::string uniqueName(std::string_view role);

// A namespace made with `ip netns add`, deleted (`ip netns del`) on destruction.
class NamedNetns {
 public:
  explicit NamedNetns(std::string_view role);
  NamedNetns(const NamedNetns&) = delete;
  NamedNetns& operator=(const NamedNetns&) = delete;
  ~NamedNetns();

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::string path() const { return "/var/run/netns/" + name_; }
  // Deletes it now (a vanished pod); the destructor then does nothing.
  void remove();

 private:
  std::string name_;
  bool alive_ = false;
};

// mkdtemp under /tmp, removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// --- Independent views of kernel state -------------------------------------------------------

// `ip -d link show dev NAME` (one object), or nullopt when there is no such link.
std::optional<json> link(const std::string& ns, const std::string& name);
std::vector<std::string> linkNames(const std::string& ns);
std::string linkKind(const json& link);  // linkinfo.info_kind, "" when none
bool isUp(const json& link);             // IFF_UP among the flags
// What identifies a link and its configuration (ifindex, name, MAC, MTU, alias, kind, admin up),
// without the state the kernel updates on its own (operstate, carrier), for "left alone" checks.
json identity(const json& link);
// The IPv6 addr_info entries of one link ([] when the link has none or does not exist).
json addresses6(const std::string& ns, const std::string& dev);
// The one addr_info entry local/prefixlen on dev, if present.
std::optional<json> address6(const std::string& ns, const std::string& dev,
                             const std::string& local, int prefixLen);
// The IPv4 addr_info entries of one link.
json addresses4(const std::string& ns, const std::string& dev);
// `ip -6 route show table main`.
json routes6(const std::string& ns);
// The main-table IPv6 route whose "dst" is `dst` ("default", "fd00::1", "fe80::/64"), if any.
std::optional<json> route6(const std::string& ns, const std::string& dst);
// `ip netns exec NS cat /proc/sys/KEY` without the newline (KEY with '/' separators).
std::string sysctl(const std::string& ns, const std::string& key);
// Files in dir (recursively), as paths relative to it; [] when dir does not exist. The lease
// store's owner lock files (".lock-XX": at most 256, kept for good) are left out.
std::vector<std::string> filesUnder(const std::filesystem::path& dir);

// Sends ICMPv6 echo requests to `dst` from inside namespace `ns` (through `dev` for a link-local
// destination) every 100 ms until a reply arrives or `timeout` passes. Returns the time from the
// first request to the reply.
std::optional<std::chrono::milliseconds> ping6(const std::string& ns, const std::string& dst,
                                               const std::string& dev,
                                               std::chrono::milliseconds timeout);

// --- Executing the plugin binary ---------------------------------------------------------------

struct ProcessResult {
  int exitCode = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

// fork + execve(path, {path, args...}, env) with `stdinBytes` piped in (a reader that stops early
// is fine), in the caller's current network namespace. Killed after `timeout`.
ProcessResult runProcess(const std::string& path, const std::vector<std::string>& args,
                         const std::vector<std::string>& env, const std::string& stdinBytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));

// --- The fixture --------------------------------------------------------------------------------

// Per test: a node namespace with lo up, ul0 (198.18.0.11/16, MTU 1500, up) and IPv6 forwarding on
// (what ensureTunnel would do), one pod namespace, the process inside the node namespace, and a
// kernel Datapath whose netlink socket was opened there. More pods on demand.
class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  [[nodiscard]] const std::string& node() const { return node_->name(); }
  [[nodiscard]] NamedNetns& pod() { return *pods_.front(); }
  NamedNetns& addPodNamespace();
  [[nodiscard]] tunnel::Datapath& datapath() { return *datapath_; }

  [[nodiscard]] static ipam::SixrdPlan plan();
  [[nodiscard]] static tunnel::NodeSpec nodeSpec();
  // A pod spec as the CNI layer would build it: hostVeth = ipam::hostVethName(cid, ifname),
  // alias "sixrd/net/<ifname>/<cid>", MTU 1480.
  [[nodiscard]] static tunnel::PodSpec podSpec(const NamedNetns& pod,
                                               const std::string& containerId,
                                               const std::string& address,
                                               const std::string& ifname = "eth0");

 private:
  // Destroyed bottom-up: datapath (its socket), then back to the original namespace, then the
  // namespaces themselves.
  std::unique_ptr<NamedNetns> node_;
  std::vector<std::unique_ptr<NamedNetns>> pods_;
  std::unique_ptr<tunnel::NetnsGuard> inNode_;
  std::unique_ptr<tunnel::Datapath> datapath_;
};

}  // namespace sixrd::netns_test
