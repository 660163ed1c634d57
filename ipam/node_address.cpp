#include "ipam/node_address.hpp"

#include <fmt/format.h>

namespace sixrd::ipam {

namespace {

std::string joinDescribed(const std::vector<LocalIpv4>& addrs) {
  std::string s;
  for (const auto& a : addrs) {
    if (!s.empty()) s += ", ";
    s += describe(a);
  }
  return s.empty() ? "none" : s;
}

}  // namespace

std::string describe(const LocalIpv4& a) {
  return fmt::format("{}/{} on {}{}", formatIpv4(a.addr), a.prefixLen,
                     a.ifname.empty() ? fmt::format("ifindex {}", a.ifindex) : a.ifname,
                     a.secondary ? " (secondary)" : "");
}

NodeAddressChoice chooseNodeAddress(const NodeAddressQuery& query,
                                    const std::vector<LocalIpv4>& addrs) {
  NodeAddressChoice out;
  const bool pinnedInterface = !query.underlayInterface.empty();
  const std::string where =
      pinnedInterface ? "underlayInterface " + query.underlayInterface : "this node";
  std::vector<LocalIpv4> scope;
  for (const auto& a : addrs) {
    if (!pinnedInterface || a.ifindex == query.underlayIfindex) scope.push_back(a);
  }

  if (query.nodeIp) {
    for (const auto& a : scope) {
      if (a.addr == *query.nodeIp) {
        out.chosen = a;
        return out;
      }
    }
    out.error = fmt::format(
        "nodeIP {} is not an address of {} (IPv4 addresses there: {}); the tunnel must use a "
        "local address: fix nodeIP{}",
        formatIpv4(*query.nodeIp), where, joinDescribed(scope),
        pinnedInterface ? " or underlayInterface" : "");
    return out;
  }

  std::vector<LocalIpv4> inside;
  std::vector<LocalIpv4> eligible;
  for (const auto& a : scope) {
    if (!contains(query.underlay, a.addr)) continue;
    inside.push_back(a);
    if (a.prefixLen == 32) {
      out.passedOver.push_back(
          fmt::format("{} is a /32 (a VIP or host address): not the node's own", describe(a)));
    } else if (a.secondary) {
      out.passedOver.push_back(
          fmt::format("{} is a secondary address: not the node's own", describe(a)));
    } else {
      eligible.push_back(a);
    }
  }

  if (inside.empty()) {
    out.error = fmt::format(
        "no IPv4 address inside underlay {} on {} (IPv4 addresses there: {}): {}fix underlay",
        formatSubnet(query.underlay), where, joinDescribed(scope),
        pinnedInterface ? "fix underlayInterface or nodeIP, or "
                        : "set nodeIP or underlayInterface, or ");
    return out;
  }
  if (eligible.empty()) {
    out.error = fmt::format(
        "the only IPv4 addresses inside underlay {} on {} are /32 or secondary ones ({}), which "
        "are never taken for the node's own (a VIP moves between nodes): set nodeIP to the one "
        "the tunnel uses",
        formatSubnet(query.underlay), where, joinDescribed(inside));
    return out;
  }
  if (eligible.size() == 1) {
    out.chosen = eligible.front();
    return out;
  }
  std::vector<LocalIpv4> sameLen;
  for (const auto& a : eligible) {
    if (a.prefixLen == query.underlay.len) sameLen.push_back(a);
  }
  if (sameLen.size() == 1) {
    out.chosen = sameLen.front();
    for (const auto& a : eligible) {
      if (a.addr != out.chosen->addr || a.ifindex != out.chosen->ifindex) {
        out.passedOver.push_back(fmt::format("{}: its prefix length is not the underlay's /{}",
                                             describe(a), query.underlay.len));
      }
    }
    return out;
  }
  out.passedOver.clear();
  out.error = fmt::format(
      "more than one IPv4 address inside underlay {} on {} could be the node's ({}): set nodeIP "
      "to the one the tunnel uses{}",
      formatSubnet(query.underlay), where, joinDescribed(sameLen.empty() ? eligible : sameLen),
      pinnedInterface ? "" : ", or underlayInterface to the interface holding it");
  return out;
}

}  // namespace sixrd::ipam
