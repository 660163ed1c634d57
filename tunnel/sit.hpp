// The node's sit/6rd device and what hangs off it: the overlay address <node64>::1/<prefixlen>
// (whose connected route sends all of the prefix into the tunnel), the unreachable <node64>::/64
// route, and IPv6 forwarding. Runs in the node's namespace.
#pragma once

#include <netlink/netlink.h>

#include <optional>
#include <string>
#include <vector>

#include "tunnel/datapath.hpp"

namespace sixrd::tunnel {

// Creates, repairs in place, or leaves alone. Throws SitUnavailable, Conflict, NetlinkError,
// SysctlError.
void ensureTunnel(nl_sock* sock, const NodeSpec& spec, const Node& node);

// Human-readable differences; empty when the tunnel matches.
std::vector<std::string> verifyTunnel(nl_sock* sock, const NodeSpec& spec, const Node& node);

// Whether sit devices can be created here (the existing tunnel, or a throw-away probe device).
bool sitAvailable(nl_sock* sock, const NodeSpec& spec);

// Deletes the sit device `name` of `network` and the unreachable /64 routes inside its 6rd prefix.
// See Datapath::removeTunnel. Throws Conflict, NetlinkError.
std::vector<std::string> removeTunnel(nl_sock* sock, const std::string& name,
                                      const std::string& network,
                                      const std::optional<ipam::Ipv6Prefix>& prefix);

}  // namespace sixrd::tunnel
