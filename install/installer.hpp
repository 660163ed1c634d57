// The node installer: what `sixrd install`, `sixrd uninstall`, `sixrd status` and `sixrd daemon`
// do, apart from argument parsing (install/commands.cpp).
//
// install writes two files under a host root (a DaemonSet mounts the host's directories there):
// the running binary as <cni-bin-dir>/sixrd (0755) and <cni-conf-dir>/<conflist-name> (0644),
// each atomically (install/files.hpp) and only when its content or mode differs. Before writing
// anything it builds the conflist, runs its sixrd element through cni::parseConfig (so the
// installer and the plugin agree on what is valid), finds the node IPv4, and brings the sit/6rd
// tunnel up with the NodeSpec the plugin derives from that same element: a node whose kernel has
// no sit fails the install with nothing written, so the kubelet never sees a network that cannot
// work and the node stays NotReady with a clear reason in the init container's log.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cni/config.hpp"
#include "cni/plugin.hpp"
#include "cni/request.hpp"
#include "ipam/sixrd_math.hpp"
#include "tunnel/datapath.hpp"

namespace sixrd::install {

// A flag or variable the user set to something unusable, or a required one left unset. field() is
// the flag ("--prefix"); what() names the flag, its environment variable and the reason. Derives
// from ipam::InvalidInput so the CLI's catch ladder treats it as bad input (exit status 2).
class UsageError : public ipam::InvalidInput {
 public:
  using ipam::InvalidInput::InvalidInput;
};

// Anything else that stops a command (no sit in the kernel, a file that cannot be written, ...).
class InstallError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One setting: its flag, and the environment variable read when the flag is not given (so a
// DaemonSet can feed it from a ConfigMap or the downward API).
struct Setting {
  std::string_view flag;
  std::string_view env;
};

inline constexpr Setting kHostRoot{"--host-root", "SIXRD_HOST_ROOT"};
inline constexpr Setting kPrefix{"--prefix", "SIXRD_PREFIX"};
inline constexpr Setting kUnderlay{"--underlay", "SIXRD_UNDERLAY"};
inline constexpr Setting kNodeIp{"--node-ip", "SIXRD_NODE_IP"};
inline constexpr Setting kUnderlayInterface{"--underlay-interface", "SIXRD_UNDERLAY_INTERFACE"};
inline constexpr Setting kMtu{"--mtu", "SIXRD_MTU"};
inline constexpr Setting kTunnel{"--tunnel", "SIXRD_TUNNEL"};
inline constexpr Setting kNetworkName{"--network-name", "SIXRD_NETWORK_NAME"};
inline constexpr Setting kCniVersion{"--cni-version", "SIXRD_CNI_VERSION"};
inline constexpr Setting kChain{"--chain", "SIXRD_CHAIN"};
inline constexpr Setting kDataDir{"--data-dir", "SIXRD_DATA_DIR"};
inline constexpr Setting kLogFile{"--log-file", "SIXRD_LOG_FILE"};
inline constexpr Setting kConflistName{"--conflist-name", "SIXRD_CONFLIST_NAME"};
inline constexpr Setting kCniBinDir{"--cni-bin-dir", "SIXRD_CNI_BIN_DIR"};
inline constexpr Setting kCniConfDir{"--cni-conf-dir", "SIXRD_CNI_CONF_DIR"};
inline constexpr Setting kNoTunnel{"--no-tunnel", "SIXRD_NO_TUNNEL"};

// The value of a setting: the flag when it was given, else the environment variable when it is
// set and not empty (a ConfigMap key left empty means "use the default"), else nullopt.
// `flagValue` is nullopt when the flag was not on the command line.
std::optional<std::string> lookup(const Setting& setting,
                                  const std::optional<std::string>& flagValue,
                                  const cni::Environment& env);

// Meta plugins --chain may append, each with the capabilities runtimes pass it.
inline constexpr std::string_view kChainable[] = {"portmap", "bandwidth", "tuning"};

// Where the files go on the node. Directories are absolute paths on the node; the host root is
// where the node's / is mounted in this process ("/" when run on the node itself).
struct Paths {
  std::filesystem::path hostRoot = "/";
  std::string cniBinDir = "/opt/cni/bin";
  std::string cniConfDir = "/etc/cni/net.d";
  std::string conflistName = "10-sixrd.conflist";

  // Throw UsageError for a relative directory or a conflist name that is not a plain
  // "*.conflist" file name.
  [[nodiscard]] std::filesystem::path binary() const;    // hostRoot + cniBinDir + "/sixrd"
  [[nodiscard]] std::filesystem::path conflist() const;  // hostRoot + cniConfDir + conflistName
  void validate() const;
};

// Everything `sixrd install` needs, resolved from flags and environment.
struct InstallSettings {
  Paths paths;
  std::string prefix;                 // required
  std::string underlay;               // required
  std::optional<std::string> nodeIp;  // else found on the node through the datapath
  std::string underlayInterface;      // empty: not written
  std::optional<int> mtu;             // nullopt: not written (the plugin uses underlay MTU - 20)
  std::string tunnel;                 // empty: not written (the plugin's default, sixrd0)
  std::string networkName = "sixrd";
  std::string cniVersion = "1.1.0";
  std::vector<std::string> chain{"portmap"};
  std::string dataDir;  // empty: not written
  std::string logFile;  // empty: not written
  bool noTunnel = false;
};

// How the commands reach the world; tests replace the kernel and the binary.
struct Context {
  std::function<std::unique_ptr<tunnel::Datapath>()> makeDatapath = tunnel::makeKernelDatapath;
  // The binary install copies: the running one.
  std::filesystem::path selfExe = "/proc/self/exe";
  // Check CAP_NET_ADMIN before touching the tunnel, for a clear message (off with a fake datapath).
  bool checkCapabilities = true;
};

// The conflist install writes. nodeIp, when given, is written as the sixrd element's "nodeIP".
// Field order is fixed, so the same settings always give the same bytes. Throws UsageError for an
// unknown or repeated --chain entry. Validates nothing else (validate() does).
nlohmann::ordered_json makeConflist(const InstallSettings& settings,
                                    const std::optional<std::string>& nodeIp);

// The sixrd element of a conflist (or a single-plugin .conf) as the runtime hands it to the
// plugin: the element with the list's "name" and "cniVersion" injected. Throws InstallError when
// there is no element of type "sixrd".
nlohmann::json pluginStdin(const nlohmann::json& conf);

// Runs the conflist's sixrd element through cni::parseConfig, the plugin's own parser. Throws
// UsageError naming the flag and environment variable behind the offending field, with the
// plugin's reason.
cni::PluginConfig validateConflist(const nlohmann::ordered_json& conflist);


// Brings the tunnel to the configured state through Datapath::ensureTunnel (creating the first sit
// device makes the kernel load sit.ko by itself). Returns what was repaired, as verifyTunnel
// reported it before (empty: nothing to do), plus a warning when IPv6 forwarding could not be
// switched on because /proc/sys is read-only in this container (the plugin, which runs on the
// host, switches it on at the first ADD) and nothing else was wrong. Throws InstallError when the
// kernel has no sit (naming the fixes), tunnel::Conflict, tunnel::NetlinkError.
struct TunnelOutcome {
  std::vector<std::string> repaired;
  std::optional<std::string> warning;
};
TunnelOutcome ensureNodeTunnel(const cni::PluginConfig& config, tunnel::Datapath& datapath,
                               const tunnel::Node& node);

struct InstallReport {
  std::string tunnelName;
  std::string nodeIp;
  std::string nodePrefix;  // the node's /64
  bool tunnelEnsured = false;
  TunnelOutcome tunnel;
  std::filesystem::path binary;
  bool binaryWritten = false;  // false: it was already identical
  std::filesystem::path conflist;
  bool conflistWritten = false;
  std::vector<std::string> warnings;
};

// `sixrd install`. Validation, node detection and the tunnel come first; the binary is written
// before the conflist (a runtime that sees the conflist finds the plugin). Throws UsageError
// (nothing written), InstallError, std::system_error (file I/O), tunnel errors.
InstallReport install(const InstallSettings& settings, const Context& context);

struct UninstallReport {
  std::filesystem::path binary;
  bool binaryRemoved = false;
  std::filesystem::path conflist;
  bool conflistRemoved = false;
};

// `sixrd uninstall`: removes the conflist (first: runtimes stop calling the plugin) and the binary.
// Idempotent. Leaves the tunnel (removing it would cut running pods off). Throws InstallError
// without removing anything when the conflist exists but is not a sixrd one (no plugin of type
// "sixrd"): it is someone else's file.
UninstallReport uninstall(const Paths& paths);

// Reads a conflist or .conf file. Throws InstallError naming the file when it is missing or not
// JSON.
nlohmann::json readConf(const std::filesystem::path& file);

// `sixrd status`: the CNI STATUS verb, run in-process through cni::runPlugin on the conf's sixrd
// element (cniVersion set to the latest, as STATUS is a 1.1.0 verb and its checks do not depend on
// the version; the element's log file is replaced by stderr at `logLevel`, "off" for none).
// `line` is one human sentence: what is ready, or why not.
struct StatusReport {
  bool ready = false;
  std::string line;
};
StatusReport status(const nlohmann::json& conf, const cni::PluginOptions& options,
                    std::string_view logLevel);

// `sixrd daemon`: every `interval`, re-reads the conf, and ensures the tunnel (ensureNodeTunnel),
// logging what it repaired; failures are logged and retried next round. Returns 0 when SIGTERM or
// SIGINT arrives (blocked and waited for with sigtimedwait: no handler runs, and a container's
// PID 1 gets them too). `rounds` > 0 stops after that many rounds (tests).
struct DaemonSettings {
  std::filesystem::path conf;
  int intervalSeconds = 60;
  int rounds = 0;
};
int runDaemon(const DaemonSettings& settings, const Context& context);

// One daemon round. Throws what ensureNodeTunnel, readConf and the datapath throw.
TunnelOutcome reconcile(const std::filesystem::path& conf, tunnel::Datapath& datapath);

}  // namespace sixrd::install
