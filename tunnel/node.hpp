// Finding the node: its IPv4 inside the underlay, the interface holding it, and that MTU.
// Runs in the node's namespace (the caller's). Read-only.
#pragma once

#include <netlink/netlink.h>

#include "tunnel/datapath.hpp"

namespace sixrd::tunnel {

// Throws NodeError naming the config field to set, NetlinkError.
Node resolveNode(nl_sock* sock, const NodeSpec& spec);

}  // namespace sixrd::tunnel
