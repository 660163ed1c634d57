// `sixrd doctor`: the two silent ways a sit overlay fails, measured on the wire.
//   - IP protocol 41 filtered between two nodes (a firewall, a cloud security group): pods on
//     those nodes cannot talk, while the nodes themselves answer over IPv4.
//   - A path whose MTU is below the tunnel's while ICMP is filtered: small packets pass, large
//     ones vanish, and path-MTU discovery never hears why (TCP transfers hang).
// Local checks first (sit, node, tunnel, forwarding, pod MTU, what GC would remove), then per
// peer: an ICMPv6 echo to the peer's overlay address through the tunnel, an IPv4 echo (or TCP
// connect) to tell "protocol 41 filtered" from "peer unreachable", the largest echo that gets
// through the tunnel with DF set (binary search, no reliance on ICMP errors), and round trips
// through the tunnel and over IPv4. Runs in the node's network namespace; changes nothing.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/config.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/probe.hpp"

namespace sixrd::install {

struct DoctorCheck {
  std::string name;  // "sit", "node", ..., per peer "protocol 41", "path MTU", "latency"
  bool ok = true;
  std::string detail;  // what was found, one sentence
  std::string fix;     // what to do, when not ok
};

struct PeerReport {
  std::string peer;     // as given on the command line
  std::string nodeIp;   // the peer node's IPv4
  std::string overlay;  // the peer node's overlay address (<peer /64>::1), what is probed
  // "ok", "protocol 41 filtered", "peer IPv4 unreachable", "MTU black hole", "this node",
  // "not checked" (the local node could not be resolved).
  std::string verdict;
  std::optional<int> pathMtu;  // the largest IPv6 packet that got through the tunnel
  std::optional<int> setMtu;   // on an MTU black hole: the mtu to configure
  std::optional<double> rttTunnelMs;
  std::optional<double> rttIpv4Ms;
  std::vector<DoctorCheck> checks;
};

struct DoctorReport {
  std::string network;
  std::string tunnel;
  std::string nodeIp;  // empty when it could not be resolved
  std::string node64;
  std::optional<int> tunnelMtu;
  std::optional<int> podMtu;
  std::vector<DoctorCheck> local;
  std::vector<PeerReport> peers;

  [[nodiscard]] bool ok() const;
  [[nodiscard]] nlohmann::json toJson() const;
  // Lines for a terminal: one per check ("  ok    name: detail" / "  FAIL  name: detail" + fix).
  [[nodiscard]] std::string text() const;
};

struct DoctorSettings {
  std::vector<std::string> peers;           // node IPv4s or overlay IPv6 addresses (a pod IP)
  std::optional<int> tcpPort;               // when ICMPv4 is filtered: a port peers answer on
  std::chrono::milliseconds timeout{1000};  // per probe
  int tries = 2;                            // probes per packet size before a size counts as lost
  std::filesystem::path hostRoot = "/";     // where the node's / is (the lease store is under it)
  // Reads a sysctl of the node ("net/ipv6/conf/all/forwarding"); a seam for tests.
  std::function<std::optional<std::string>(std::string_view)> readSysctl;  // default: /proc/sys
};

// The largest n in [lo, hi] with passes(n), assuming the sizes that pass are the ones up to some
// limit; nullopt when passes(lo) is false. Calls passes() about log2(hi - lo) + 1 times.
std::optional<int> largestPassing(int lo, int hi, const std::function<bool(int)>& passes);

// Maps a --peer argument to the peer node's IPv4: an IPv4 inside the underlay as it is, an IPv6
// inside the prefix (any pod or node overlay address) through the 6rd mapping (ipam::whois).
// Throws ipam::InvalidInput (field "--peer") for anything else.
ipam::Ipv4Addr peerNode(const ipam::SixrdPlan& plan, const std::string& peer);

// Runs every check. Throws only for a --peer that is not an address of this cluster (before any
// probe); every failed check is a line in the report.
DoctorReport doctor(const cni::PluginConfig& config, const DoctorSettings& settings,
                    tunnel::Datapath& datapath, tunnel::Prober& prober);

}  // namespace sixrd::install
