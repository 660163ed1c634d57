// Which of the node's IPv4 addresses is "the node IPv4" the tunnel uses: pure, no kernel calls
// (tunnel/node.cpp dumps the addresses and hands them here).
//
// Real nodes carry more than one address inside the underlay: a floating VIP (keepalived,
// kube-vip: 10.20.0.100/32 next to 10.20.3.7/16), a secondary address of the same subnet. The
// node's own address is the one an operator would name:
//   1. `nodeIP` when the config gives it: exactly that address (a /32 or secondary one too).
//   2. Else, among the addresses inside the underlay (on underlayInterface when it is set), the
//      eligible ones: neither a /32 (a VIP, or a host route) nor secondary (IFA_F_SECONDARY).
//      One eligible address is the node's.
//   3. Several eligible: the one whose prefix length is the underlay's, when exactly one is.
//   4. Otherwise no choice is made and the message lists every candidate with its prefix length,
//      interface and flags, naming what to set (nodeIP; underlayInterface only when it is unset).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ipam/sixrd_math.hpp"

namespace sixrd::ipam {

// One IPv4 address of the node, as the kernel lists it.
struct LocalIpv4 {
  Ipv4Addr addr = 0;
  int prefixLen = 32;
  bool secondary = false;  // IFA_F_SECONDARY
  int ifindex = 0;
  std::string ifname;  // for messages
};

struct NodeAddressQuery {
  Ipv4Subnet underlay;
  std::optional<Ipv4Addr> nodeIp;  // config "nodeIP"
  std::string underlayInterface;   // config "underlayInterface"; empty: any interface
  int underlayIfindex = 0;         // its ifindex; 0 with an empty underlayInterface
};

struct NodeAddressChoice {
  std::optional<LocalIpv4> chosen;
  std::string error;  // when !chosen: one message naming the config field to set
  // When chosen: why, for the log (e.g. "10.20.0.100/32 on eth0 is a /32 (a VIP): not the node's").
  std::vector<std::string> passedOver;
};

// "10.20.3.7/16 on eth0" (+ " secondary").
std::string describe(const LocalIpv4& a);

NodeAddressChoice chooseNodeAddress(const NodeAddressQuery& query,
                                    const std::vector<LocalIpv4>& addrs);

}  // namespace sixrd::ipam
