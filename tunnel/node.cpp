#include "tunnel/node.hpp"

#include <fmt/format.h>
#include <linux/if_addr.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <vector>

#include "ipam/node_address.hpp"
#include "tunnel/nl.hpp"

namespace sixrd::tunnel {

namespace {

// The node's IPv4 addresses, or with underlayInterface pinned (its ifindex) only that link's: the
// only ones chooseNodeAddress looks at then. Pod veths carry none, but a dump of every link's
// walks them all: about +1 ms per ADD at 1000 pods under emulation, which a pinned
// underlayInterface does not pay.
std::vector<ipam::LocalIpv4> localIpv4(nl_sock* sock, int onlyIfindex) {
  std::vector<ipam::LocalIpv4> out;
  for (auto& a : nl::dumpIpv4Addresses(sock, onlyIfindex)) {
    ipam::LocalIpv4 entry;
    entry.addr = a.local;
    entry.prefixLen = static_cast<int>(a.prefixLen);
    entry.secondary = (a.flags & IFA_F_SECONDARY) != 0U;
    entry.ifindex = a.ifindex;
    entry.ifname = std::move(a.label);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

Node resolveNode(nl_sock* sock, const NodeSpec& spec) {
  ipam::NodeAddressQuery query;
  query.underlay = spec.plan.underlay;
  query.nodeIp = spec.nodeIp;
  query.underlayInterface = spec.underlayInterface;
  if (!spec.underlayInterface.empty()) {
    const std::optional<nl::LinkBrief> link = nl::findLinkBrief(sock, spec.underlayInterface);
    if (!link) {
      throw NodeError(
          fmt::format("underlayInterface {} does not exist on this node", spec.underlayInterface));
    }
    query.underlayIfindex = link->ifindex;
  }

  const ipam::NodeAddressChoice choice =
      ipam::chooseNodeAddress(query, localIpv4(sock, query.underlayIfindex));
  if (!choice.chosen) throw NodeError(choice.error);
  for (const auto& why : choice.passedOver) spdlog::debug("node IPv4: passed over {}", why);

  const nl::LinkBrief link = nl::linkBriefByIndex(sock, choice.chosen->ifindex);

  Node node;
  // nodePrefix validates the address against the underlay (network/broadcast) with a clear message.
  node.prefix = ipam::nodePrefix(spec.plan, choice.chosen->addr);
  node.underlayInterface = link.name;
  node.underlayIfindex = choice.chosen->ifindex;
  node.underlayMtu = static_cast<int>(link.mtu);
  return node;
}

}  // namespace sixrd::tunnel
