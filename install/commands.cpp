#include "install/commands.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <map>
#include <string>
#include <vector>

#include "install/doctor.hpp"
#include "install/egress.hpp"
#include "install/liveness.hpp"
#include "tunnel/probe.hpp"
#include "util/cli11.hpp"

namespace sixrd::install {

namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

int parseInt(const Setting& s, const std::string& text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw UsageError(std::string(s.flag),
                     fmt::format("{} \"{}\" is not an integer", named(s), text));
  }
  return value;
}

bool parseBool(const Setting& s, const std::string& text) {
  if (text == "1" || text == "true" || text == "yes") return true;
  if (text == "0" || text == "false" || text == "no") return false;
  throw UsageError(std::string(s.flag),
                   fmt::format("{} \"{}\" is not a boolean: use true or false", named(s), text));
}

// A comma list; blanks around items and empty items are dropped.
std::vector<std::string> parseList(const std::string& text) {
  std::vector<std::string> chain;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    if (std::string item = trim(std::string_view(text).substr(start, comma - start));
        !item.empty()) {
      chain.push_back(std::move(item));
    }
    start = comma + 1;
  }
  return chain;
}

std::vector<std::string> parseChain(const std::string& text) {
  if (trim(text) == "none") return {};
  return parseList(text);
}

// The string options of one subcommand, by flag, with their CLI11 handles (count() tells whether a
// flag was given at all: an explicitly empty value still overrides the environment).
class Flags {
 public:
  void add(CLI::App* cmd, const Setting& s, const std::string& help,
           std::string_view fallback = {}) {
    std::string text = fmt::format("{} [env {}]", help, s.env);
    if (!fallback.empty()) text += fmt::format(" (default: {})", fallback);
    options_[std::string(s.flag)] =
        cmd->add_option(std::string(s.flag), values_[std::string(s.flag)], text);
  }
  [[nodiscard]] std::optional<std::string> get(const Setting& s,
                                               const cni::Environment& env) const {
    const std::string flag(s.flag);
    std::optional<std::string> given;
    if (const auto it = options_.find(flag); it != options_.end() && it->second->count() > 0) {
      given = values_.at(flag);
    }
    return lookup(s, given, env);
  }
  [[nodiscard]] bool given(const Setting& s) const {
    const auto it = options_.find(std::string(s.flag));
    return it != options_.end() && it->second->count() > 0;
  }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, CLI::Option*> options_;
};

void addPathFlags(Flags& flags, CLI::App* cmd, bool binDir) {
  flags.add(cmd, kHostRoot,
            "where the node's / is mounted (a DaemonSet mounts host paths under it)", "/");
  if (binDir) flags.add(cmd, kCniBinDir, "CNI plugin directory on the node", "/opt/cni/bin");
  flags.add(cmd, kCniConfDir, "CNI configuration directory on the node", "/etc/cni/net.d");
  flags.add(cmd, kConflistName, "file name of sixrd's network configuration list",
            "10-sixrd.conflist");
}

}  // namespace

struct Commands::Impl {
  Impl(Context c, cni::Environment e, std::ostream& o)
      : context(std::move(c)), env(std::move(e)), out(o) {}

  Context context;
  cni::Environment env;
  std::ostream& out;

  CLI::App* installCmd = nullptr;
  CLI::App* uninstallCmd = nullptr;
  CLI::App* statusCmd = nullptr;
  CLI::App* daemonCmd = nullptr;
  CLI::App* doctorCmd = nullptr;
  CLI::App* relayCmd = nullptr;
  Flags installFlags;
  bool noTunnelFlag = false;
  CLI::Option* noTunnelOption = nullptr;
  Flags uninstallFlags;
  bool removeTunnel = false;
  bool wait = false;
  Flags statusFlags;
  std::string statusConf;
  bool statusLiveness = false;
  std::string statusHeartbeat;
  Flags daemonFlags;
  std::string daemonConf;
  std::string daemonHeartbeat;
  int interval = 60;
  Flags doctorFlags;
  std::string doctorConf;
  std::vector<std::string> doctorPeers;
  int doctorTcpPort = 0;
  int doctorTimeoutMs = 1000;
  bool doctorJson = false;
  Flags relayFlags;
  std::string relayConf;
  std::string nat64Device;
  std::string nat64Prefix = std::string(kNat64WellKnownPrefix);
  bool relayWait = false;

  Paths paths(const Flags& flags, bool binDir) const {
    Paths p;
    if (auto v = flags.get(kHostRoot, env)) p.hostRoot = *v;
    if (binDir) {
      if (auto v = flags.get(kCniBinDir, env)) p.cniBinDir = *v;
    }
    if (auto v = flags.get(kCniConfDir, env)) p.cniConfDir = *v;
    if (auto v = flags.get(kConflistName, env)) p.conflistName = *v;
    p.validate();
    return p;
  }

  std::filesystem::path confPath(const Flags& flags, const std::string& conf) const {
    return conf.empty() ? paths(flags, false).conflist() : std::filesystem::path(conf);
  }

  InstallSettings installSettings() const {
    const Flags& f = installFlags;
    InstallSettings s;
    s.paths = paths(f, true);
    s.prefix = f.get(kPrefix, env).value_or("");
    s.underlay = f.get(kUnderlay, env).value_or("");
    // A --node-ip typed by hand is taken as meant and validated; SIXRD_NODE_IP (the DaemonSet's
    // status.hostIP) is a hint: install() decides what it is worth on this node.
    if (f.given(kNodeIp)) {
      s.nodeIp = f.get(kNodeIp, env);
    } else {
      s.nodeIpHint = f.get(kNodeIp, env);
    }
    s.underlayInterface = f.get(kUnderlayInterface, env).value_or("");
    if (auto v = f.get(kMtu, env); v && !v->empty()) s.mtu = parseInt(kMtu, *v);
    s.tunnel = f.get(kTunnel, env).value_or("");
    if (auto v = f.get(kNetworkName, env)) s.networkName = *v;
    if (auto v = f.get(kCniVersion, env)) s.cniVersion = *v;
    if (auto v = f.get(kChain, env)) s.chain = parseChain(*v);
    if (auto v = f.get(kServiceCidr, env)) s.serviceCidrs = parseList(*v);
    if (auto v = env(std::string(kKubernetesServiceHost)); v && !v->empty()) {
      s.kubernetesServiceHost = *v;
    }
    s.dataDir = f.get(kDataDir, env).value_or("");
    s.logFile = f.get(kLogFile, env).value_or("");
    if (noTunnelOption->count() > 0) {
      s.noTunnel = noTunnelFlag;
    } else if (auto v = lookup(kNoTunnel, std::nullopt, env)) {
      s.noTunnel = parseBool(kNoTunnel, *v);
    }
    return s;
  }

  int runInstall() {
    // First, so that even a refused install says which release refused it (the DaemonSet pins
    // its image to one; this shows it is the one that runs).
    out << "sixrd install: version " SIXRD_VERSION "\n" << std::flush;
    const InstallReport r = install(installSettings(), context);
    out << fmt::format("sixrd install: node {} has {}\n", r.nodeIp, r.nodePrefix);
    if (r.versions.cniVersions.empty()) {
      out << fmt::format("sixrd install: cniVersion {}\n", r.versions.cniVersion);
    } else {
      std::string all;
      for (const auto& v : r.versions.cniVersions) all += (all.empty() ? "" : ", ") + v;
      out << fmt::format(
          "sixrd install: cniVersion {} (for runtimes before CNI 1.1), cniVersions {} (spoken by "
          "sixrd and every chained plugin)\n",
          r.versions.cniVersion, all);
    }
    if (!r.tunnelEnsured) {
      out << fmt::format("sixrd install: tunnel {} not touched ({})\n", r.tunnelName,
                         kNoTunnel.flag);
    } else if (r.tunnel.repaired.empty()) {
      out << fmt::format("sixrd install: tunnel {} was already up as configured\n", r.tunnelName);
    } else {
      std::string what;
      for (const auto& p : r.tunnel.repaired) what += (what.empty() ? "" : "; ") + p;
      out << fmt::format("sixrd install: tunnel {} brought up (was: {})\n", r.tunnelName, what);
    }
    out << fmt::format("sixrd install: {} {}\n", r.binary.string(),
                       r.binaryWritten ? "written" : "already up to date");
    out << fmt::format("sixrd install: {} {}\n", r.conflist.string(),
                       r.conflistWritten ? "written" : "already up to date");
    if (r.tunnel.warning) out << "sixrd install: warning: " << *r.tunnel.warning << '\n';
    for (const auto& w : r.warnings) out << "sixrd install: warning: " << w << '\n';
    return 0;
  }

  int runUninstall() {
    const UninstallReport r = uninstall(paths(uninstallFlags, true), removeTunnel, context);
    out << fmt::format("sixrd uninstall: {} {}\n", r.conflist.string(),
                       r.conflistRemoved ? "removed" : "was not there");
    out << fmt::format("sixrd uninstall: {} {}\n", r.binary.string(),
                       r.binaryRemoved ? "removed" : "was not there");
    if (!removeTunnel) {
      out << "sixrd uninstall: the tunnel is left as it is (running pods keep their network); "
             "`sixrd uninstall --remove-tunnel` removes it once no pod uses it\n";
    } else {
      if (r.removed.empty()) {
        out << fmt::format("sixrd uninstall: tunnel {} was not there\n", r.tunnelName);
      }
      for (const auto& what : r.removed) out << "sixrd uninstall: removed " << what << '\n';
      out << "sixrd uninstall: IPv6 forwarding (net.ipv6.conf.all.forwarding) and the sit "
             "module are left as they are: other software on the node may rely on them; switch "
             "forwarding off yourself if nothing does\n";
    }
    out.flush();
    if (wait) {
      out << "sixrd uninstall: done; waiting for SIGTERM\n";
      out.flush();
      waitForStopSignal();
    }
    return 0;
  }

  std::filesystem::path heartbeatPath(const Flags& flags, const std::string& conf,
                                      const std::string& given) const {
    if (!given.empty()) return given;
    return defaultHeartbeatPath(paths(flags, false).hostRoot, confPath(flags, conf));
  }

  int runStatus(std::string_view logLevel) {
    if (statusLiveness) {
      const Liveness live = checkLiveness(heartbeatPath(statusFlags, statusConf, statusHeartbeat));
      out << "sixrd status: " << live.line << '\n';
      return live.alive ? 0 : 1;
    }
    const std::string level = logLevel == "trace" || logLevel == "debug" || logLevel == "info"
                                  ? std::string(logLevel)
                                  : "off";
    StatusReport r;
    try {
      const nlohmann::json conf = readConf(confPath(statusFlags, statusConf));
      cni::PluginOptions options;
      options.makeDatapath = context.makeDatapath;
      // The preflight check is about the process the runtime starts (with the runtime's
      // capabilities), not about this one; what this one cannot probe shows up as an error.
      options.checkCapabilities = false;
      r = status(conf, options, level, paths(statusFlags, false).hostRoot);
    } catch (const InstallError& e) {
      r.line = fmt::format("not ready: {}", e.what());
    }
    out << "sixrd status: " << r.line << '\n';
    if (r.ready) {
      // Egress relays: reported, never a reason for NotReady (pods still reach each other).
      try {
        const cni::PluginConfig config =
            cni::parseConfig(pluginStdin(readConf(confPath(statusFlags, statusConf))).dump());
        const auto datapath = context.makeDatapath();
        const auto prober = context.makeProber();
        for (const auto& line : relayStatusLines(config, *datapath, *prober)) {
          out << "sixrd status: " << line << '\n';
        }
      } catch (const std::exception& e) {
        out << "sixrd status: relays not checked: " << e.what() << '\n';
      }
    }
    return r.ready ? 0 : 1;
  }

  int runDoctor() {
    if (doctorTimeoutMs < 1) throw UsageError("--timeout", "--timeout must be at least 1 ms");
    if (doctorTcpPort < 0 || doctorTcpPort > 65535) {
      throw UsageError("--tcp-port", "--tcp-port must be a TCP port (1..65535)");
    }
    DoctorSettings settings;
    settings.peers = doctorPeers;
    if (doctorTcpPort > 0) settings.tcpPort = doctorTcpPort;
    settings.timeout = std::chrono::milliseconds(doctorTimeoutMs);
    settings.hostRoot = paths(doctorFlags, false).hostRoot;
    const cni::PluginConfig config =
        cni::parseConfig(pluginStdin(readConf(confPath(doctorFlags, doctorConf))).dump());
    const auto datapath = context.makeDatapath();
    const auto prober = tunnel::makeSocketProber();
    DoctorReport report;
    try {
      report = doctor(config, settings, *datapath, *prober);
    } catch (const ipam::InvalidInput& e) {
      throw UsageError(e.field(), e.what());
    }
    if (doctorJson) {
      out << report.toJson().dump(2) << '\n';
    } else {
      out << report.text();
    }
    return report.ok() ? 0 : 1;
  }

  int runRelayCmd() {
    RelaySettings s;
    s.conf = confPath(relayFlags, relayConf);
    s.nat64Device = nat64Device;
    s.nat64Prefix = nat64Prefix;
    for (const auto& line : runRelay(s, context)) out << "sixrd relay: " << line << '\n';
    out.flush();
    if (relayWait) {
      out << "sixrd relay: done; waiting for SIGTERM\n";
      out.flush();
      waitForStopSignal();
    }
    return 0;
  }

  int runDaemonCmd() {
    DaemonSettings s;
    s.conf = confPath(daemonFlags, daemonConf);
    s.intervalSeconds = interval;
    s.hostRoot = paths(daemonFlags, false).hostRoot;
    s.heartbeat = heartbeatPath(daemonFlags, daemonConf, daemonHeartbeat);
    if (auto v = daemonFlags.get(kReclaimGrace, env); v && !v->empty()) {
      s.reclaimGraceSeconds = parseInt(kReclaimGrace, *v);
    }
    return runDaemon(s, context);
  }
};

Commands::Commands(CLI::App& app, Context context, cni::Environment env, std::ostream& out)
    : impl_(std::make_unique<Impl>(std::move(context), std::move(env), out)) {
  Impl& m = *impl_;

  m.installCmd = app.add_subcommand(
      "install",
      "Install sixrd on this node: bring up the sit/6rd tunnel, copy this binary to the CNI plugin "
      "directory and write the network configuration list, each file atomically and only when it "
      "changed.\nThe configuration is checked with the plugin's own parser first; nothing is "
      "written when it would be refused or the kernel has no sit.\nEvery flag falls back to the "
      "environment variable named in its help.");
  Flags& f = m.installFlags;
  addPathFlags(f, m.installCmd, true);
  f.add(m.installCmd, kPrefix,
        "cluster IPv6 6rd prefix, the same on every node (required), e.g. fdcd:6a70::/48");
  f.add(m.installCmd, kUnderlay,
        "IPv4 subnet every node's address is in (required), e.g. 10.20.0.0/16");
  f.add(
      m.installCmd, kNodeIp,
      "this node's IPv4 inside the underlay, pinned in the conflist; when unset it is found on "
      "the node at every ADD (neither a /32 nor a secondary address; the underlay's prefix length "
      "first). From the environment (the DaemonSet passes status.hostIP) it is only a hint: "
      "ignored when outside the underlay, and deciding only between several candidates");
  f.add(m.installCmd, kUnderlayInterface, "interface holding the node IPv4");
  f.add(m.installCmd, kMtu, "pod MTU", "underlay MTU - 20");
  f.add(m.installCmd, kTunnel, "sit device name", "sixrd0");
  f.add(m.installCmd, kNetworkName, "network name", "sixrd");
  f.add(m.installCmd, kCniVersion,
        "cniVersion of the list, pinned (every chained plugin must speak it; no cniVersions "
        "list is written)",
        "negotiated: the highest version up to 1.0.0 that sixrd and every chained plugin speak, "
        "plus a cniVersions list of all they share for CNI 1.1 runtimes");
  f.add(m.installCmd, kChain,
        "comma list of meta plugins to chain after sixrd: portmap, bandwidth, "
        "tuning; none for none",
        "portmap");
  f.add(m.installCmd, kDataDir, "lease store directory on the node", "/run/sixrd");
  f.add(m.installCmd, kLogFile, "plugin log file on the node", "none");
  f.add(m.installCmd, kServiceCidr,
        "the cluster's service CIDRs, comma list: only to warn when one overlaps the prefix (the "
        "kubernetes Service's address in KUBERNETES_SERVICE_HOST is checked too)",
        "none");
  m.noTunnelOption = m.installCmd->add_flag(
      std::string(kNoTunnel.flag), m.noTunnelFlag,
      fmt::format("only write the files; leave the tunnel to the first pod ADD (for a kernel "
                  "without sit, e.g. in tests) [env {}=true]",
                  kNoTunnel.env));

  m.uninstallCmd = app.add_subcommand(
      "uninstall",
      "Remove what install wrote: the network configuration list (first) and the binary. "
      "Idempotent. The tunnel stays unless --remove-tunnel is given: running pods still use it.");
  addPathFlags(m.uninstallFlags, m.uninstallCmd, true);
  m.uninstallCmd->add_flag(
      "--remove-tunnel", m.removeTunnel,
      "also remove the sit tunnel named in the configuration (with its overlay address and the "
      "node's unreachable /64 route), refusing without removing anything while a pod holds it "
      "(a sixrd host veth on the node, or a lease in the data dir under --host-root), and "
      "leaving a sit device of another network or not made by sixrd alone. IPv6 forwarding "
      "stays on");
  m.uninstallCmd->add_flag("--wait", m.wait,
                           "afterwards, stay running until SIGTERM (the container of the "
                           "uninstall DaemonSet)");

  m.statusCmd = app.add_subcommand(
      "status",
      "Run the CNI STATUS checks (node IPv4 found, MTU usable, sit available) on this node's "
      "sixrd configuration and print one line. Exit 0 when the plugin can serve ADD, 1 when not "
      "(the DaemonSet's readinessProbe: a restart would not change it).\nWith --liveness, "
      "instead: whether `sixrd daemon` is still going round its loop (the DaemonSet's "
      "livenessProbe). The daemon writes a heartbeat file at the start of every round; exit 1 "
      "when it is missing or older than 3 rounds of the daemon's --interval (which the file "
      "records), i.e. the daemon is stuck and a restart helps. Neither the tunnel nor the kernel "
      "is looked at.");
  m.statusCmd->add_option("--conf", m.statusConf,
                          "network configuration (list) file (default: the one install writes)");
  addPathFlags(m.statusFlags, m.statusCmd, false);
  m.statusCmd->add_flag("--liveness", m.statusLiveness,
                        "check the daemon's heartbeat instead of the plugin (see above)");
  m.statusCmd->add_option("--heartbeat", m.statusHeartbeat,
                          "the daemon's heartbeat file, for --liveness (default: "
                          "<host-root>/run/sixrd/.daemon-<conflist file name>.heartbeat, where "
                          "`sixrd daemon` with the same flags writes it)");

  m.daemonCmd = app.add_subcommand(
      "daemon",
      "Keep the tunnel up: every --interval seconds, re-read the configuration and repair the "
      "tunnel if it drifted, and reclaim the leases and host veths of pods whose DEL never "
      "reached sixrd (a chained plugin failed first). Each round first writes a heartbeat file "
      "(`sixrd status --liveness` checks it). Exits 0 on SIGTERM or SIGINT. The DaemonSet's "
      "long-running container.");
  m.daemonCmd->add_option("--conf", m.daemonConf,
                          "network configuration (list) file (default: the one install writes)");
  addPathFlags(m.daemonFlags, m.daemonCmd, false);
  m.daemonCmd->add_option("--interval", m.interval, "seconds between checks")
      ->capture_default_str();
  m.daemonCmd->add_option("--heartbeat", m.daemonHeartbeat,
                          "file written at the start of every round, for `sixrd status "
                          "--liveness` (default: <host-root>/run/sixrd/.daemon-<conflist file "
                          "name>.heartbeat)");
  m.daemonFlags.add(m.daemonCmd, kReclaimGrace,
                    "seconds a lease without host veth must be old before it is released (DEL "
                    "never reached sixrd: a chained plugin failed first); 0: no reclaim",
                    "60");

  m.doctorCmd = app.add_subcommand(
      "doctor",
      "Check this node and the paths to other nodes for the two silent ways a 6rd overlay fails:\n"
      "  - IP protocol 41 filtered (a firewall or cloud security group between nodes): the nodes "
      "answer over IPv4, their pods cannot reach each other;\n"
      "  - an MTU black hole: a path carrying less than the tunnel assumes while ICMP is "
      "filtered, so small packets pass and large ones vanish (TCP transfers hang).\n"
      "Local checks (sit, node IPv4, tunnel, forwarding, pod MTU, leftovers for GC), then per "
      "--peer an echo through the tunnel, an IPv4 echo (or --tcp-port) to tell filtering from an "
      "unreachable node, the largest packet that gets through with DF set (never relying on ICMP "
      "errors), with the mtu to set, and round trips through the tunnel and over IPv4.\n"
      "Needs CAP_NET_RAW (root) and the node's network namespace. Exit 0 when every check "
      "passes, 1 when one fails.\n"
      "Example: sixrd doctor --peer 10.20.3.8 --peer fdcd:6a70:0:40e::5a1c (a pod IP from `kubectl "
      "get pods -o wide`: doctor probes the node it lives on)");
  m.doctorCmd->add_option("--conf", m.doctorConf,
                          "network configuration (list) file (default: the one install writes)");
  addPathFlags(m.doctorFlags, m.doctorCmd, false);
  m.doctorCmd->add_option("--peer", m.doctorPeers,
                          "another node to probe: its IPv4, or any overlay address on it (a pod "
                          "IP); repeat for several. Without --peer only this node is checked");
  m.doctorCmd->add_option("--tcp-port", m.doctorTcpPort,
                          "a TCP port peers answer on (e.g. 10250), to tell an unreachable peer "
                          "from one that drops ICMPv4");
  m.doctorCmd->add_option("--timeout", m.doctorTimeoutMs, "milliseconds to wait for each probe")
      ->capture_default_str();
  m.doctorCmd->add_flag("--json", m.doctorJson, "machine-readable output");

  m.relayCmd = app.add_subcommand(
      "relay",
      "Make this node a 6rd border relay: the other nodes route their pods' traffic for anything "
      "outside the prefix to the relays in the configuration's \"relay\" list, and a relay "
      "forwards it with its own routes (its upstream must route the prefix back to it).\nWith "
      "--nat64-device, the NAT64 prefix is routed to a translator you run (e.g. tayga) and IPv4 "
      "forwarding is turned on, so pods reach IPv4 services as 64:ff9b::<IPv4> (with DNS64).\n"
      "Run on the relay nodes only (listed in \"relay\"); idempotent.");
  m.relayCmd->add_option("--conf", m.relayConf,
                         "network configuration (list) file (default: the one install writes)");
  addPathFlags(m.relayFlags, m.relayCmd, false);
  m.relayCmd->add_option("--nat64-device", m.nat64Device,
                         "the NAT64 translator's device (tayga's tun-device, e.g. nat64)");
  m.relayCmd->add_option("--nat64-prefix", m.nat64Prefix, "the NAT64 prefix")
      ->capture_default_str();
  m.relayCmd->add_flag("--wait", m.relayWait,
                       "afterwards, stay running until SIGTERM (a DaemonSet container)");
}

Commands::~Commands() = default;

std::optional<int> Commands::run(std::string_view logLevel) {
  Impl& m = *impl_;
  if (*m.installCmd) return m.runInstall();
  if (*m.uninstallCmd) return m.runUninstall();
  if (*m.statusCmd) return m.runStatus(logLevel);
  if (*m.daemonCmd) return m.runDaemonCmd();
  if (*m.doctorCmd) return m.runDoctor();
  if (*m.relayCmd) return m.runRelayCmd();
  return std::nullopt;
}

}  // namespace sixrd::install
