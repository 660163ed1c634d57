#include "install/doctor.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "cni/plugin.hpp"
#include "ipam/interface_id.hpp"
#include "ipam/lease_store.hpp"
#include "tunnel/sysctl.hpp"

namespace sixrd::install {

namespace {

namespace fs = std::filesystem;
using std::chrono::microseconds;

constexpr int kMinIpv6Mtu = 1280;
constexpr int kSmallEcho = 104;  // IPv6 packet size of the reachability and latency echoes
constexpr int kLatencyEchoes = 3;

double ms(microseconds us) { return static_cast<double>(us.count()) / 1000.0; }

DoctorCheck pass(std::string name, std::string detail) {
  return {std::move(name), true, std::move(detail), {}};
}
DoctorCheck fail(std::string name, std::string detail, std::string fix) {
  return {std::move(name), false, std::move(detail), std::move(fix)};
}

// The fastest of up to `count` answered probes; nullopt when none answered.
std::optional<microseconds> fastest(int count,
                                    const std::function<std::optional<microseconds>()>& probe) {
  std::optional<microseconds> best;
  for (int i = 0; i < count; ++i) {
    if (auto rtt = probe(); rtt && (!best || *rtt < *best)) best = rtt;
  }
  return best;
}

// What GC (or the daemon's reclaim pass) would remove: this network's host veths whose pod
// namespace is gone, and leases without a host veth.
DoctorCheck staleCheck(const cni::PluginConfig& config, const DoctorSettings& settings,
                       tunnel::Datapath& datapath) {
  const std::string mark = fmt::format("sixrd/{}/", config.name);
  std::vector<std::string> stale;
  std::set<std::string> veths;
  for (const auto& veth : datapath.listHostVeths()) {
    veths.insert(veth.name);
    if (!veth.alias.starts_with(mark)) continue;
    using Peer = tunnel::Datapath::HostVeth::Peer;
    if (veth.peer == Peer::kNetnsGone || veth.peer == Peer::kNone) {
      stale.push_back(
          fmt::format("host veth {} ({}) whose pod namespace is gone", veth.name, veth.alias));
    }
  }
  const fs::path store = settings.hostRoot / fs::path(config.dataDir).relative_path();
  for (const auto& lease : ipam::LeaseStore(store, config.name).list()) {
    const std::string veth = ipam::hostVethOf(lease);
    if (!veths.contains(veth)) {
      stale.push_back(fmt::format("lease {} of container {} ({}) without a host veth",
                                  ipam::formatIpv6(lease.address), lease.owner.containerId,
                                  lease.owner.ifname));
    }
  }
  if (stale.empty()) return pass("stale", "no host veth or lease left by a pod that is gone");
  std::string what;
  for (const auto& s : stale) what += (what.empty() ? "" : "; ") + s;
  return fail("stale", fmt::format("{} left behind: {}", stale.size(), what),
              "the runtime's GC or `sixrd daemon` (after its reclaim grace) removes them; a lease "
              "younger than the grace period may be an ADD in flight");
}

struct LocalState {
  std::optional<tunnel::Node> node;
  int podMtu = 0;
};

LocalState localChecks(const cni::PluginConfig& config, const DoctorSettings& settings,
                       tunnel::Datapath& datapath, DoctorReport& report) {
  LocalState state;
  const tunnel::NodeSpec spec = cni::nodeSpec(config);
  auto& out = report.local;

  if (datapath.sitAvailable(spec)) {
    out.push_back(pass("sit", "the kernel can create sit (6rd) devices"));
  } else {
    out.push_back(fail("sit", "the kernel cannot create sit devices",
                       "load the sit module (it needs CONFIG_IPV6_SIT), e.g. list it in "
                       "/etc/modules-load.d/"));
  }

  try {
    state.node = datapath.resolveNode(spec);
  } catch (const std::exception& e) {
    out.push_back(fail("node", e.what(), "set nodeIP or underlayInterface in the configuration"));
    return state;
  }
  const tunnel::Node& node = *state.node;
  report.nodeIp = ipam::formatIpv4(node.prefix.nodeIp);
  report.node64 = ipam::formatPrefix(node.prefix.node64);
  report.tunnelMtu = node.tunnelMtu();
  out.push_back(
      pass("node", fmt::format("IPv4 {} on {}, underlay MTU {}, node prefix {}", report.nodeIp,
                               node.underlayInterface, node.underlayMtu, report.node64)));

  if (const auto problems = datapath.verifyTunnel(spec, node); problems.empty()) {
    out.push_back(pass("tunnel", fmt::format("{} matches the configuration (6rd prefix {}, local "
                                             "{}, MTU {})",
                                             config.tunnel, ipam::formatPrefix(config.plan.prefix),
                                             report.nodeIp, node.tunnelMtu())));
  } else {
    std::string what;
    for (const auto& p : problems) what += (what.empty() ? "" : "; ") + p;
    out.push_back(fail("tunnel", what,
                       "`sixrd daemon` repairs the tunnel within its interval, and every ADD "
                       "does; if it keeps drifting, something else on the node changes it"));
  }

  const auto forwarding = settings.readSysctl ? settings.readSysctl("net/ipv6/conf/all/forwarding")
                                              : tunnel::readSysctl("net/ipv6/conf/all/forwarding");
  if (forwarding == "1") {
    out.push_back(pass("forwarding", "net.ipv6.conf.all.forwarding is 1"));
  } else {
    out.push_back(
        fail("forwarding",
             fmt::format("net.ipv6.conf.all.forwarding is {}", forwarding.value_or("absent")),
             "the node does not route pod traffic: sixrd turns it on at install and on "
             "every ADD; find what on the node turns it off"));
  }

  report.podMtu = config.mtu.value_or(node.tunnelMtu());
  state.podMtu = *report.podMtu;
  if (state.podMtu > node.tunnelMtu()) {
    out.push_back(fail("pod MTU",
                       fmt::format("mtu {} is larger than the tunnel MTU {} (underlay {} - 20)",
                                   state.podMtu, node.tunnelMtu(), node.underlayMtu),
                       fmt::format("set mtu to {} or less", node.tunnelMtu())));
  } else {
    out.push_back(
        pass("pod MTU", fmt::format("{}{} fits the tunnel MTU {}", state.podMtu,
                                    config.mtu ? "" : " (the default)", node.tunnelMtu())));
  }

  try {
    out.push_back(staleCheck(config, settings, datapath));
  } catch (const std::exception& e) {
    out.push_back(fail("stale", fmt::format("cannot read this node's pods: {}", e.what()),
                       "run as root, with the node's data dir under --host-root"));
  }
  return state;
}

void checkPeer(const cni::PluginConfig& config, const DoctorSettings& settings,
               const LocalState& local, tunnel::Prober& prober, PeerReport& peer) {
  const ipam::Ipv4Addr ip = peerNode(config.plan, peer.peer);
  const ipam::NodePrefix remote = ipam::nodePrefix(config.plan, ip);
  peer.nodeIp = ipam::formatIpv4(ip);
  peer.overlay = ipam::formatIpv6(remote.overlayAddr);
  if (!local.node) {
    peer.verdict = "not checked";
    peer.checks.push_back(fail("peer", "not probed: this node's own address is unknown",
                               "fix the node check above first"));
    return;
  }
  if (ip == local.node->prefix.nodeIp) {
    peer.verdict = "this node";
    peer.checks.push_back(
        pass("peer", fmt::format("{} is this node: nothing to probe", peer.nodeIp)));
    return;
  }
  const auto timeout = settings.timeout;

  // 1. Protocol 41: a small echo through the tunnel to the peer's sit address.
  const auto tunnelRtt = fastest(std::max(settings.tries, kLatencyEchoes), [&] {
    return prober.echo6(remote.overlayAddr, kSmallEcho, timeout);
  });
  const auto ipv4Rtt = fastest(kLatencyEchoes, [&] { return prober.echo4(ip, timeout); });
  if (tunnelRtt) peer.rttTunnelMs = ms(*tunnelRtt);
  if (ipv4Rtt) peer.rttIpv4Ms = ms(*ipv4Rtt);
  if (!tunnelRtt) {
    std::optional<microseconds> tcpRtt;
    if (!ipv4Rtt && settings.tcpPort) tcpRtt = prober.tcpConnect(ip, *settings.tcpPort, timeout);
    if (ipv4Rtt || tcpRtt) {
      peer.verdict = "protocol 41 filtered";
      peer.checks.push_back(
          fail("protocol 41",
               fmt::format("no answer from {} through the tunnel, but {} answers over IPv4 ({}): "
                           "protocol 41 filtered or peer not running sixrd",
                           peer.overlay, peer.nodeIp,
                           ipv4Rtt ? "ICMPv4 echo" : fmt::format("TCP port {}", *settings.tcpPort)),
               fmt::format("allow IP protocol 41 (IPv6-in-IPv4) both ways between the nodes' IPv4s "
                           "(nftables: `ip protocol 41 accept`; iptables: `-p 41 -j ACCEPT`; cloud "
                           "security groups: protocol 41), and check `sixrd status` on {}",
                           peer.nodeIp)));
    } else {
      peer.verdict = "peer IPv4 unreachable";
      peer.checks.push_back(fail(
          "protocol 41",
          fmt::format("no answer from {} through the tunnel, nor from {} over IPv4{}: peer IPv4 "
                      "unreachable",
                      peer.overlay, peer.nodeIp,
                      settings.tcpPort
                          ? fmt::format(" (ICMPv4 echo, TCP port {})", *settings.tcpPort)
                          : " (ICMPv4 echo)"),
          settings.tcpPort ? "check that the node is up and routable from here"
                           : "check that the node is up; if it drops ICMPv4, give --tcp-port with "
                             "a port it listens on (e.g. 10250, the kubelet) to tell"));
    }
    return;
  }
  peer.checks.push_back(
      pass("protocol 41", fmt::format("{} answers through the tunnel", peer.overlay)));

  // 2. Path MTU through the tunnel, DF set, no reliance on ICMP errors.
  const int tunnelMtu = local.node->tunnelMtu();
  const auto passes = [&](int size) {
    for (int i = 0; i < settings.tries; ++i) {
      if (prober.echo6(remote.overlayAddr, size, timeout)) return true;
    }
    return false;
  };
  peer.pathMtu = passes(tunnelMtu) ? std::optional<int>(tunnelMtu)
                                   : largestPassing(kMinIpv6Mtu, tunnelMtu - 1, passes);
  if (!peer.pathMtu) {
    peer.verdict = "MTU black hole";
    peer.checks.push_back(fail(
        "path MTU",
        fmt::format(
            "MTU black hole below {0}: even {0}-byte packets (IPv6's minimum) to {1} vanish",
            kMinIpv6Mtu, peer.nodeIp),
        fmt::format("the IPv4 path to {} carries less than {} bytes: raise its MTU (sixrd cannot "
                    "go below IPv6's minimum)",
                    peer.nodeIp, kMinIpv6Mtu + 20)));
  } else if (*peer.pathMtu < local.podMtu) {
    peer.verdict = "MTU black hole";
    peer.setMtu = *peer.pathMtu;
    peer.checks.push_back(fail(
        "path MTU",
        fmt::format("MTU black hole above {0}: packets above {0} bytes to {1} vanish (pod MTU {2}, "
                    "tunnel MTU {3}, and no ICMP error comes back)",
                    *peer.pathMtu, peer.nodeIp, local.podMtu, tunnelMtu),
        fmt::format("set mtu to {} (the conflist's \"mtu\", or --mtu / SIXRD_MTU of sixrd install) "
                    "on every node, or raise the MTU of the path to {} to {}",
                    *peer.pathMtu, peer.nodeIp, tunnelMtu + 20)));
  } else {
    peer.checks.push_back(
        pass("path MTU",
             fmt::format("{}-byte packets get through{} (pod MTU {})", *peer.pathMtu,
                         *peer.pathMtu == tunnelMtu ? ", the tunnel MTU" : "", local.podMtu)));
  }

  // 3. What the overlay costs in round-trip time.
  if (peer.rttIpv4Ms) {
    peer.checks.push_back(
        pass("latency",
             fmt::format("{:.2f} ms through the tunnel, {:.2f} ms over IPv4 ({:+.2f} ms)",
                         *peer.rttTunnelMs, *peer.rttIpv4Ms, *peer.rttTunnelMs - *peer.rttIpv4Ms)));
  } else {
    peer.checks.push_back(pass(
        "latency", fmt::format("{:.2f} ms through the tunnel; over IPv4: no ICMPv4 echo answer",
                               *peer.rttTunnelMs)));
  }
  if (peer.verdict.empty()) peer.verdict = "ok";
}

void appendChecks(std::string& out, const std::vector<DoctorCheck>& checks) {
  for (const auto& c : checks) {
    out += fmt::format("  {:<5} {}: {}\n", c.ok ? "ok" : "FAIL", c.name, c.detail);
    if (!c.ok && !c.fix.empty()) out += fmt::format("        fix: {}\n", c.fix);
  }
}

nlohmann::json checksJson(const std::vector<DoctorCheck>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : checks) {
    nlohmann::json j = {{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}};
    if (!c.fix.empty()) j["fix"] = c.fix;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

std::optional<int> largestPassing(int lo, int hi, const std::function<bool(int)>& passes) {
  if (lo > hi || !passes(lo)) return std::nullopt;
  // Invariant: lo passes; everything above hi fails (or is out of range).
  while (lo < hi) {
    const int mid = lo + (hi - lo + 1) / 2;
    if (passes(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

ipam::Ipv4Addr peerNode(const ipam::SixrdPlan& plan, const std::string& peer) {
  if (peer.find(':') != std::string::npos) {
    const ipam::Ipv6Addr addr = ipam::parseIpv6(peer, "--peer");
    if (!ipam::contains(plan.prefix, addr)) {
      throw ipam::InvalidInput("--peer", fmt::format("--peer {} is not inside the prefix {}", peer,
                                                     ipam::formatPrefix(plan.prefix)));
    }
    try {
      return ipam::whois(plan, addr).nodeIp;
    } catch (const ipam::InvalidInput& e) {
      throw ipam::InvalidInput("--peer", fmt::format("--peer {}: {}", peer, e.what()));
    }
  }
  const ipam::Ipv4Addr ip = ipam::parseIpv4(peer, "--peer");
  if (!ipam::contains(plan.underlay, ip)) {
    throw ipam::InvalidInput("--peer", fmt::format("--peer {} is not inside the underlay {}", peer,
                                                   ipam::formatSubnet(plan.underlay)));
  }
  return ip;
}

DoctorReport doctor(const cni::PluginConfig& config, const DoctorSettings& settings,
                    tunnel::Datapath& datapath, tunnel::Prober& prober) {
  // Every peer is mapped before anything is probed: a typo fails at once.
  for (const auto& p : settings.peers) {
    const ipam::Ipv4Addr ip = peerNode(config.plan, p);
    try {
      (void)ipam::nodePrefix(config.plan, ip);
    } catch (const ipam::InvalidInput& e) {
      throw ipam::InvalidInput("--peer", fmt::format("--peer {}: {}", p, e.what()));
    }
  }
  DoctorReport report;
  report.network = config.name;
  report.tunnel = config.tunnel;
  const LocalState local = localChecks(config, settings, datapath, report);
  for (const auto& p : settings.peers) {
    PeerReport peer;
    peer.peer = p;
    try {
      checkPeer(config, settings, local, prober, peer);
    } catch (const tunnel::ProbeError& e) {
      peer.verdict = "not checked";
      peer.checks.push_back(fail("peer", e.what(), "run doctor as root (it needs CAP_NET_RAW)"));
    }
    spdlog::info("sixrd doctor: peer {} ({}): {}", peer.peer, peer.nodeIp, peer.verdict);
    report.peers.push_back(std::move(peer));
  }
  return report;
}

bool DoctorReport::ok() const {
  const auto allOk = [](const std::vector<DoctorCheck>& checks) {
    return std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.ok; });
  };
  return allOk(local) &&
         std::all_of(peers.begin(), peers.end(), [&](const auto& p) { return allOk(p.checks); });
}

nlohmann::json DoctorReport::toJson() const {
  nlohmann::json j = {{"ok", ok()},       {"network", network},   {"tunnel", tunnel},
                      {"nodeIP", nodeIp}, {"nodePrefix", node64}, {"checks", checksJson(local)}};
  if (tunnelMtu) j["tunnelMTU"] = *tunnelMtu;
  if (podMtu) j["podMTU"] = *podMtu;
  j["peers"] = nlohmann::json::array();
  for (const auto& p : peers) {
    nlohmann::json pj = {
        {"peer", p.peer},
        {"nodeIP", p.nodeIp},
        {"overlay", p.overlay},
        {"verdict", p.verdict},
        {"ok", std::all_of(p.checks.begin(), p.checks.end(), [](const auto& c) { return c.ok; })},
        {"checks", checksJson(p.checks)}};
    if (p.pathMtu) pj["pathMTU"] = *p.pathMtu;
    if (p.setMtu) pj["setMTU"] = *p.setMtu;
    if (p.rttTunnelMs) pj["rttTunnelMs"] = *p.rttTunnelMs;
    if (p.rttIpv4Ms) pj["rttIPv4Ms"] = *p.rttIpv4Ms;
    j["peers"].push_back(std::move(pj));
  }
  return j;
}

std::string DoctorReport::text() const {
  std::string out = fmt::format("sixrd doctor: network {}, tunnel {}, node {}\n", network, tunnel,
                                nodeIp.empty() ? "unresolved" : nodeIp + " (" + node64 + ")");
  appendChecks(out, local);
  for (const auto& p : peers) {
    out += fmt::format("peer {}{}: {}\n", p.peer,
                       p.nodeIp.empty() || p.nodeIp == p.peer ? "" : " (node " + p.nodeIp + ")",
                       p.verdict);
    appendChecks(out, p.checks);
  }
  std::size_t failed = 0;
  for (const auto& c : local) failed += c.ok ? 0 : 1;
  for (const auto& p : peers) {
    for (const auto& c : p.checks) failed += c.ok ? 0 : 1;
  }
  out += failed == 0
             ? "sixrd doctor: every check passed\n"
             : fmt::format("sixrd doctor: {} check{} failed\n", failed, failed == 1 ? "" : "s");
  return out;
}

}  // namespace sixrd::install
