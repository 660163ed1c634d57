// Egress through 6rd border relays, the node side of it (the kernel side is tunnel/egress.hpp):
// the daemon keeps each node's egress route on the relays that answer, `sixrd status` says which
// relay is in use and whether it answers, and `sixrd relay` prepares a relay node.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cni/config.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/probe.hpp"

namespace sixrd::install {

struct Context;

inline constexpr std::string_view kNat64WellKnownPrefix = "64:ff9b::/96";

inline constexpr std::chrono::milliseconds kRelayProbeTimeout{700};
inline constexpr std::chrono::milliseconds kRelayProbeBudget{2100};

struct RelayProbe {
  ipam::Ipv4Addr relay = 0;
  bool answers = false;
  bool inUse = false;
};

// Probes every configured relay through the tunnel (an ICMPv6 echo to its overlay address) and
// reads which ones the egress route uses. Every relay gets one try; the ones that did not answer
// get more (up to 3 in all) while the time spent waiting stays within kRelayProbeBudget, so that
// `sixrd status` (a readiness probe, killed at 10 s) answers in time with many relays down.
// Throws ProbeError (no CAP_NET_RAW).
std::vector<RelayProbe> probeRelays(const cni::PluginConfig& config, tunnel::Datapath& datapath,
                                    tunnel::Prober& prober);

// One daemon step on an ordinary node with relays: routes egress through the relays that answer
// (and leaves the route as it is when none does: nothing better is known). Returns what changed,
// one sentence each; empty when nothing did, no relay is configured, or this node is a relay.
std::vector<std::string> steerEgress(const cni::PluginConfig& config, const tunnel::Node& node,
                                     tunnel::Datapath& datapath, tunnel::Prober& prober);

// `sixrd status`'s lines about the relays ("relay 10.20.9.1 answers, in use"); empty without.
std::vector<std::string> relayStatusLines(const cni::PluginConfig& config,
                                          tunnel::Datapath& datapath, tunnel::Prober& prober);

struct RelaySettings {
  std::filesystem::path conf;  // the network configuration (list)
  std::string nat64Device;     // the translator's device (tayga's nat64); empty: no NAT64
  std::string nat64Prefix = std::string(kNat64WellKnownPrefix);
};

// `sixrd relay`: on a node listed in the config's "relay": brings the tunnel up (without an egress
// route: a relay forwards with its own routes), and with a NAT64 device routes the NAT64 prefix to
// it with IPv4 forwarding on. Returns what it did, one line each. Throws UsageError (this node is
// not a relay, bad prefix), and what the datapath throws.
std::vector<std::string> runRelay(const RelaySettings& settings, const Context& context);

}  // namespace sixrd::install
