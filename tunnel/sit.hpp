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

// Whether sit devices can be created here (the existing tunnel, or a throw-away probe device
// sxprobe<pid>, deleted at once). Removes dead processes' probe devices first (removeDeadProbes).
// Throws NetlinkError.
bool sitAvailable(nl_sock* sock, const NodeSpec& spec);

// Deletes the sit devices of this namespace named sxprobe<pid> whose pid is no running process
// (in this pid namespace): probes of sixrd runs killed before they removed theirs. Logs each one
// removed; names of other devices, other kinds and live pids are left alone. Returns the names
// removed. Throws NetlinkError when the links cannot be listed.
std::vector<std::string> removeDeadProbes(nl_sock* sock);

// Deletes the sit device `name` of `network` and the unreachable /64 routes inside its 6rd prefix.
// See Datapath::removeTunnel. Throws Conflict, NetlinkError.
std::vector<std::string> removeTunnel(nl_sock* sock, const std::string& name,
                                      const std::string& network,
                                      const std::optional<ipam::Ipv6Prefix>& prefix);

}  // namespace sixrd::tunnel
