#include "tunnel/node.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netlink/route/rtnl.h>

#include <cstring>
#include <vector>

#include "tunnel/nl.hpp"

namespace sixrd::tunnel {

namespace {

struct LocalIpv4 {
  ipam::Ipv4Addr addr;
  int ifindex;
};

// An IPv4-only address dump: its cost follows the node's IPv4 addresses, not its pods (pod veths
// carry IPv6 only), so ADD stays flat at a thousand pods.
std::vector<LocalIpv4> localIpv4(nl_sock* sock) {
  nl_cache* raw = nullptr;
  nl::check(nl_cache_alloc_name("route/addr", &raw), "alloc", "address cache");
  const nl::Cache cache(raw);
  nl::check(nl_rtgen_request(sock, RTM_GETADDR, AF_INET, NLM_F_DUMP), "dump", "IPv4 addresses");
  nl::check(nl_cache_pickup(sock, cache.get()), "read", "IPv4 addresses");
  std::vector<LocalIpv4> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(a);
    if (rtnl_addr_get_family(a) != AF_INET || local == nullptr || nl_addr_get_len(local) != 4) {
      continue;
    }
    std::uint32_t be = 0;
    std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
    out.push_back({ntohl(be), rtnl_addr_get_ifindex(a)});
  }
  return out;
}

std::string join(const std::vector<LocalIpv4>& addrs) {
  std::string s;
  for (const auto& a : addrs) s += (s.empty() ? "" : ", ") + ipam::formatIpv4(a.addr);
  return s.empty() ? "none" : s;
}

}  // namespace

Node resolveNode(nl_sock* sock, const NodeSpec& spec) {
  const auto& underlay = spec.plan.underlay;
  int wantIfindex = 0;
  if (!spec.underlayInterface.empty()) {
    const nl::Link link = nl::findLink(sock, spec.underlayInterface);
    if (!link) {
      throw NodeError(
          fmt::format("underlayInterface {} does not exist on this node", spec.underlayInterface));
    }
    wantIfindex = rtnl_link_get_ifindex(link.get());
  }

  const auto all = localIpv4(sock);
  std::vector<LocalIpv4> matches;
  for (const auto& a : all) {
    if (wantIfindex != 0 && a.ifindex != wantIfindex) continue;
    if (spec.nodeIp ? a.addr == *spec.nodeIp : ipam::contains(underlay, a.addr))
      matches.push_back(a);
  }

  if (matches.empty()) {
    if (spec.nodeIp) {
      throw NodeError(fmt::format(
          "nodeIP {} is not an address of {} (IPv4 addresses there: {}); the tunnel must use a "
          "local "
          "address: fix nodeIP or underlayInterface",
          ipam::formatIpv4(*spec.nodeIp),
          wantIfindex != 0 ? "underlayInterface " + spec.underlayInterface : "this node",
          join(all)));
    }
    throw NodeError(fmt::format(
        "no IPv4 address inside underlay {} on {} (IPv4 addresses there: {}): set nodeIP or "
        "underlayInterface, or fix underlay",
        ipam::formatSubnet(underlay),
        wantIfindex != 0 ? "underlayInterface " + spec.underlayInterface : "this node", join(all)));
  }
  if (matches.size() > 1 && !spec.nodeIp) {
    throw NodeError(fmt::format(
        "more than one IPv4 address inside underlay {} on this node ({}): set nodeIP or "
        "underlayInterface to say which one the tunnel uses",
        ipam::formatSubnet(underlay), join(matches)));
  }

  rtnl_link* raw = nullptr;
  nl::check(rtnl_link_get_kernel(sock, matches.front().ifindex, nullptr, &raw), "get link",
            fmt::format("ifindex {}", matches.front().ifindex));
  const nl::Link link(raw);

  Node node;
  // nodePrefix validates the address against the underlay (network/broadcast) with a clear message.
  node.prefix = ipam::nodePrefix(spec.plan, matches.front().addr);
  node.underlayInterface = rtnl_link_get_name(link.get());
  node.underlayMtu = static_cast<int>(rtnl_link_get_mtu(link.get()));
  return node;
}

}  // namespace sixrd::tunnel
