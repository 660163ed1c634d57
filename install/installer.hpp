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
// The same holds for the chained meta plugins: each must be in the CNI bin dir and answer VERSION,
// and the list's cniVersion is one that sixrd and every one of them speak (negotiateVersions).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cni/cli.hpp"
#include "cni/config.hpp"
#include "cni/plugin.hpp"
#include "cni/request.hpp"
#include "ipam/lease_store.hpp"
#include "ipam/sixrd_math.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/probe.hpp"

namespace sixrd::install {

// A flag or variable the user set to something unusable, or a required one left unset. field() is
// the flag ("--prefix"); what() names the flag, its environment variable and the reason. A usage
// error of the CLI (exit status 2).
class UsageError : public cni::UsageError {
 public:
  using cni::UsageError::UsageError;
};

// Anything else that stops a command (no sit in the kernel, a file that cannot be written, ...).
class InstallError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A chained plugin that is there but cannot be started from this process: ENOENT from exec on an
// existing file means its ELF or #! interpreter is missing here (a dynamically linked host plugin
// run from the FROM-scratch image), which says nothing about the node.
class PluginNotRunnableHere : public InstallError {
 public:
  using InstallError::InstallError;
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
inline constexpr Setting kReclaimGrace{"--reclaim-grace", "SIXRD_RECLAIM_GRACE"};
inline constexpr Setting kServiceCidr{"--service-cidr", "SIXRD_SERVICE_CIDR"};

// The kubernetes Service's ClusterIP, which the kubelet puts in every container's environment:
// the first address of the cluster's (first) service CIDR.
inline constexpr std::string_view kKubernetesServiceHost = "KUBERNETES_SERVICE_HOST";

// The cniVersion install writes when the operator pins none and every chained plugin speaks it:
// the highest version whose results libcni < 1.2 (containerd 1.6 and 1.7, CRI-O before 1.30,
// podman 4) parses. Newer runtimes pick from the list's "cniVersions" instead.
inline constexpr std::string_view kDefaultCniVersion = "1.0.0";

// "--prefix (SIXRD_PREFIX)": how messages name a setting, so the user finds both ways to set it.
inline std::string named(const Setting& s) {
  return std::string(s.flag) + " (" + std::string(s.env) + ")";
}

// "a, b, c" for messages, `none` when there is nothing.
inline std::string joined(const std::vector<std::string>& items, std::string_view none = "none") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out.empty() ? std::string(none) : out;
}

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
  std::string prefix;    // required
  std::string underlay;  // required
  // --node-ip typed by hand: an order, written into the conflist as "nodeIP" (the node keeps it).
  std::optional<std::string> nodeIp;
  // SIXRD_NODE_IP from the environment (the DaemonSet passes status.hostIP, the kubelet's address):
  // a hint, never written. The node IPv4 is found on the node inside the underlay; the hint only
  // decides when that finds several candidates (its interface is then written as
  // underlayInterface), and is ignored with a warning when it is IPv6, outside the underlay or not
  // an address of this node.
  std::optional<std::string> nodeIpHint;
  std::string underlayInterface;  // empty: not written
  std::optional<int> mtu;         // nullopt: not written (the plugin uses underlay MTU - 20)
  std::string tunnel;             // empty: not written (the plugin's default, sixrd0)
  std::string networkName = "sixrd";
  std::string cniVersion;  // empty: negotiated with the chained plugins (negotiateVersions)
  std::vector<std::string> chain{"portmap"};
  std::string dataDir;  // empty: not written
  std::string logFile;  // empty: not written
  bool noTunnel = false;
  // Service CIDRs of the cluster, as the operator gave them (--service-cidr, comma list; IPv4
  // ones are accepted and ignored). Only for the overlap warning: nothing of them is written.
  std::vector<std::string> serviceCidrs;
  // KUBERNETES_SERVICE_HOST of this process's environment (set in a pod): also checked for overlap.
  std::optional<std::string> kubernetesServiceHost;
};

// --- Chained plugins (defined in install/chain.cpp) ---------------------------------------------

// The list's versions. cniVersion is what runtimes before CNI 1.1 (libcni < 1.2) read;
// cniVersions (empty: not written) is the CNI 1.1 list a newer runtime picks the highest version
// it speaks from. libcni 1.1.2's ConfListFromBytes unmarshals the list into a
// map[string]interface{} and reads only name, cniVersion, disableCheck and plugins: the extra key
// is ignored there, and runtimes never pass list-level keys to the plugins.
struct ListVersions {
  std::string cniVersion;
  std::vector<std::string> cniVersions;
};

// What one chained plugin answered to VERSION.
struct ChainedPlugin {
  std::string type;
  std::filesystem::path path;  // where it was run from (under the host root)
  // Its supportedVersions; nullopt when it could not be run from here (a symlink leading outside
  // the host root as mounted in this process): then nothing is known about it.
  std::optional<std::vector<std::string>> supportedVersions;
  std::string why;  // when supportedVersions is nullopt
};

// Runs `plugin` the way libcni's GetVersionInfo does (CNI_COMMAND=VERSION, dummy CNI_NETNS and
// CNI_IFNAME, {"cniVersion": cniVersion} on stdin) and returns its supportedVersions, killing it
// after `timeoutMs`. Throws PluginNotRunnableHere when exec says ENOENT; InstallError naming the
// plugin when it cannot be started otherwise, times out, exits non-zero (with its error message),
// or prints no JSON object with a list of strings "supportedVersions".
std::vector<std::string> queryPluginVersions(const std::filesystem::path& plugin,
                                             std::string_view cniVersion,
                                             const std::filesystem::path& cniPath,
                                             int timeoutMs = 10000);

// Finds every --chain plugin in the CNI bin dir under the host root (following symlinks inside the
// host root) and asks it for its versions. Throws InstallError naming the plugin and the directory
// when it is not there or not executable, and what queryPluginVersions throws. A symlink whose
// target is not visible under the host root, or a plugin that cannot be started from here
// (PluginNotRunnableHere), is not an error (the node may run it): its supportedVersions stays
// nullopt and `why` says what happened.
std::vector<ChainedPlugin> probeChain(const InstallSettings& settings);

// The list's versions for sixrd (cni::kSupportedVersions) chained with `chain`.
// Pinned (`pinned` not empty): every plugin must speak it, else UsageError on --cni-version naming
// the plugin and what it speaks; cniVersions is not written (a pin is a pin).
// Negotiated: cniVersions = every version sixrd and all plugins speak, cniVersion = the highest of
// them up to kDefaultCniVersion (the lowest when all are newer). UsageError on --chain when they
// share none. A plugin whose versions are unknown: cniVersion kDefaultCniVersion, no cniVersions.
ListVersions negotiateVersions(const std::string& pinned, const std::vector<ChainedPlugin>& chain);

// How the commands reach the world; tests replace the kernel and the binary.
struct Context {
  std::function<std::unique_ptr<tunnel::Datapath>()> makeDatapath = tunnel::makeKernelDatapath;
  // The binary install copies: the running one.
  std::filesystem::path selfExe = "/proc/self/exe";
  // Check CAP_NET_ADMIN before touching the tunnel, for a clear message (off with a fake datapath).
  bool checkCapabilities = true;
  // Probes through the tunnel (the daemon's and status's relay checks).
  std::function<std::unique_ptr<tunnel::Prober>()> makeProber = tunnel::makeSocketProber;
};

// The conflist install writes. nodeIp, when given, is written as the sixrd element's "nodeIP".
// Field order is fixed, so the same settings always give the same bytes. Throws UsageError for an
// unknown or repeated --chain entry. Validates nothing else (validate() does).
nlohmann::ordered_json makeConflist(const InstallSettings& settings,
                                    const std::optional<std::string>& nodeIp,
                                    const ListVersions& versions);

// Warnings about the cluster's service CIDRs (settings.serviceCidrs, KUBERNETES_SERVICE_HOST) that
// overlap `prefix`: a pod address that is also a ClusterIP is unreachable (kube-proxy takes the
// traffic). Throws UsageError naming --service-cidr for an entry that is not a CIDR.
std::vector<std::string> serviceCidrWarnings(const InstallSettings& settings,
                                             const ipam::Ipv6Prefix& prefix);

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
  std::optional<tunnel::Node> node;  // the node as resolved (reconcile() sets it)
};
TunnelOutcome ensureNodeTunnel(const cni::PluginConfig& config, tunnel::Datapath& datapath,
                               const tunnel::Node& node);

struct InstallReport {
  ListVersions versions;
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

// `sixrd install`. Validation, the chained plugins, node detection and the tunnel come first; the
// binary is written before the conflist (a runtime that sees the conflist finds the plugin). An
// --mtu is checked against the underlay MTU - 20 as ADD checks it whenever the underlay is known
// (always, except with --no-tunnel and --node-ip: then only with --underlay-interface, else a
// warning). Throws UsageError (nothing written), InstallError, std::system_error (file I/O),
// tunnel errors.
InstallReport install(const InstallSettings& settings, const Context& context);

struct UninstallReport {
  std::filesystem::path binary;
  bool binaryRemoved = false;
  std::filesystem::path conflist;
  bool conflistRemoved = false;
  std::string tunnelName;     // removeTunnel only
  std::string tunnelNetwork;  // the conflist's network name (empty: any sixrd network's)
  std::optional<ipam::Ipv6Prefix> tunnelPrefix;  // the conflist's prefix, when it parses
  std::vector<std::string> removed;  // what Datapath::removeTunnel removed (empty: no tunnel)
};

// `sixrd uninstall`: removes the conflist (first: runtimes stop calling the plugin) and the binary.
// Idempotent. Throws InstallError without removing anything when the conflist exists but is not a
// sixrd one (no plugin of type "sixrd"): it is someone else's file.
// Without removeTunnel the tunnel stays (running pods keep their network). With it, the tunnel
// named in the conflist (else sixrd0) goes too, through Datapath::removeTunnel, but only when no
// pod holds it: no sixrd host veth on the node and no lease in the conflist's data dir (under the
// host root; every network there when the conflist is gone). Otherwise throws InstallError naming
// the veths (with their owners) and leases, and removes nothing. Only the conflist's network's
// tunnel goes (its owner mark, or unmarked with the conflist's 6rd prefix); another's throws
// InstallError naming the owner, after the conflist and binary are gone. IPv6 forwarding stays on.
UninstallReport uninstall(const Paths& paths);
UninstallReport uninstall(const Paths& paths, bool removeTunnel, const Context& context);

// Blocks SIGTERM and SIGINT and waits for one (`sixrd uninstall --wait`: the uninstall
// DaemonSet's container stays up once its node is clean). Returns the signal.
int waitForStopSignal();

// Reads a conflist or .conf file. Throws InstallError naming the file when it is missing or not
// JSON.
nlohmann::json readConf(const std::filesystem::path& file);

// `sixrd status`: the CNI STATUS verb, run in-process through cni::runPlugin on the conf's sixrd
// element (cniVersion set to the latest, as STATUS is a 1.1.0 verb and its checks do not depend on
// the version; the element's log file is replaced by stderr at `logLevel`, "off" for none).
// `line` is one human sentence: what is ready, or why not.
// When ready, also the pods that still hold an address of an old /64 of this node (its IPv4
// changed since their ADD: they need a restart), read from the conf's lease store under hostRoot.
struct StatusReport {
  bool ready = false;
  std::string line;
  std::vector<std::string> stalePods;  // "<address> (container <id>, <ifname>)"
};
StatusReport status(const nlohmann::json& conf, const cni::PluginOptions& options,
                    std::string_view logLevel,
                    const std::filesystem::path& hostRoot = std::filesystem::path("/"));

// Leases of `config`'s network (its dataDir under hostRoot) whose address is outside `node64`:
// pods that got their address before the node's IPv4 changed. Empty when the store does not exist.
std::vector<ipam::Lease> staleLeases(const cni::PluginConfig& config,
                                     const ipam::Ipv6Prefix& node64,
                                     const std::filesystem::path& hostRoot);
// "<address> (container <id>, <ifname>)" for each.
std::vector<std::string> describeLeases(const std::vector<ipam::Lease>& leases);

// `sixrd daemon`: every `interval`, re-reads the conf, and ensures the tunnel (ensureNodeTunnel),
// logging what it repaired; failures are logged and retried next round. Returns 0 when SIGTERM or
// SIGINT arrives (blocked and waited for with sigtimedwait: no handler runs, and a container's
// PID 1 gets them too). `rounds` > 0 stops after that many rounds (tests).
// Every round also runs the reclaim pass (install/reclaim.hpp) over the conf's lease store (its
// dataDir under hostRoot) unless reclaimGraceSeconds is 0; a failing pass is logged and retried.
struct DaemonSettings {
  std::filesystem::path conf;
  int intervalSeconds = 60;
  int rounds = 0;
  std::filesystem::path hostRoot = "/";
  int reclaimGraceSeconds = 60;  // lease age before reclaim may release it; 0: no reclaim
  // Written at the start of every round (install/liveness.hpp); empty: none. A failed write is
  // logged (once per new problem) and retried next round.
  std::filesystem::path heartbeat;
};
int runDaemon(const DaemonSettings& settings, const Context& context);

// One daemon round. Throws what ensureNodeTunnel, readConf and the datapath throw.
TunnelOutcome reconcile(const std::filesystem::path& conf, tunnel::Datapath& datapath);

}  // namespace sixrd::install
