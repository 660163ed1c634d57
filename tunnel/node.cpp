#include "tunnel/node.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_addr.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "ipam/node_address.hpp"
#include "tunnel/nl.hpp"

namespace sixrd::tunnel {

namespace {

// An IPv4-only address dump: the reply holds the node's IPv4 addresses only (pod veths carry
// none), though the kernel still walks every device for it (about +1 ms per ADD at 1000 pods,
// under emulation). An ifaddrmsg header, which the kernel accepts with strict checking on (an
// rtgenmsg one it refuses then).
std::vector<ipam::LocalIpv4> localIpv4(nl_sock* sock) {
  const nl::Objects cache = nl::dumpAddresses(sock, AF_INET, 0);
  std::vector<ipam::LocalIpv4> out;
  for (nl_object* o : cache) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(a);
    if (rtnl_addr_get_family(a) != AF_INET || local == nullptr || nl_addr_get_len(local) != 4) {
      continue;
    }
    std::uint32_t be = 0;
    std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
    ipam::LocalIpv4 entry;
    entry.addr = ntohl(be);
    entry.prefixLen = static_cast<int>(rtnl_addr_get_prefixlen(a));
    entry.secondary = (rtnl_addr_get_flags(a) & IFA_F_SECONDARY) != 0U;
    entry.ifindex = rtnl_addr_get_ifindex(a);
    // IPv4 addresses carry their interface's name as label (or "eth0:vip" for an aliased one).
    const char* label = rtnl_addr_get_label(a);
    entry.ifname = label != nullptr ? label : "";
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
    const nl::Link link = nl::findLink(sock, spec.underlayInterface);
    if (!link) {
      throw NodeError(
          fmt::format("underlayInterface {} does not exist on this node", spec.underlayInterface));
    }
    query.underlayIfindex = rtnl_link_get_ifindex(link.get());
  }

  const ipam::NodeAddressChoice choice = ipam::chooseNodeAddress(query, localIpv4(sock));
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
