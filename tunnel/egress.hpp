// Egress through 6rd border relays (RFC 5969): how a node sends its pods' traffic for anything
// outside the cluster prefix to a relay node, and how a relay node hands it to its upstream.
// Internal to tunnel/ (libnl types); the CNI and install layers reach it through Datapath.
//
// On an ordinary node, with relays configured:
//   - a policy rule `from <node /64> lookup kEgressTable`, at kEgressRulePriority, after the main
//     table's rule (32766): the main table decides first, so pod-to-pod (the prefix on the tunnel),
//     pod-to-node and anything the node routes more specifically stay as they are; only what main
//     has no route for (no native IPv6 default route on the node) falls through to the relays.
//   - in kEgressTable, `default via ::<relay IPv4> dev <tunnel> onlink` (ECMP over several relays):
//     the IPv4-compatible gateway is how a Linux sit device learns the IPv4 to encapsulate to for
//     a destination outside its 6rd prefix.
// A relay node gets neither (it forwards with its own routes); it routes the NAT64 prefix to its
// translator's device when asked (ensureRelay).
#pragma once

#include <netlink/netlink.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tunnel/datapath.hpp"

namespace sixrd::tunnel {

inline constexpr std::uint32_t kEgressTable = 6041;
inline constexpr std::uint32_t kEgressRulePriority = 32800;

// Brings rule and route to the configured relays. `active`, when not null, is the subset of
// relays to route through (the daemon's probe result; empty means all); when null, an existing
// route through any subset of the configured relays is kept as it is (the daemon chose it), and
// one through anything else is replaced by one through all. No relays configured, or this node
// being one of them: sixrd's rule and route are removed if present. Returns what it changed.
std::vector<std::string> ensureEgress(nl_sock* sock, const NodeSpec& spec, const Node& node,
                                      const std::vector<ipam::Ipv4Addr>* active);

// What differs from ensureEgress(..., nullptr)'s outcome; empty when in place.
std::vector<std::string> verifyEgress(nl_sock* sock, const NodeSpec& spec, const Node& node);

// The relays the egress route goes through now (empty: none).
std::vector<ipam::Ipv4Addr> egressRelaysInUse(nl_sock* sock);

// On a relay node: the NAT64 prefix routed to `device` (the translator's, e.g. tayga's nat64) and
// IPv4 forwarding on (the translator's IPv4 side is forwarded to the upstream). Returns what it
// changed. Throws NetlinkError (device missing), std::system_error (sysctl).
std::vector<std::string> ensureNat64Route(nl_sock* sock, const ipam::Ipv6Prefix& prefix,
                                          const std::string& device);

}  // namespace sixrd::tunnel
