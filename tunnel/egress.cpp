#include "tunnel/egress.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/rule.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "tunnel/nl.hpp"
#include "tunnel/sysctl.hpp"

namespace sixrd::tunnel {

namespace {

using Rule = std::unique_ptr<rtnl_rule, nl::Put<rtnl_rule_put>>;

// ::a.b.c.d, the IPv4-compatible address sit maps to the IPv4 a.b.c.d.
ipam::Ipv6Addr compatible(ipam::Ipv4Addr ip) {
  ipam::Ipv6Addr a{};
  const std::uint32_t be = htonl(ip);
  std::memcpy(a.data() + 12, &be, 4);
  return a;
}

std::optional<ipam::Ipv4Addr> fromCompatible(const nl_addr* gw) {
  if (gw == nullptr || nl_addr_get_len(gw) != 16) return std::nullopt;
  const auto* b = static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(gw));
  for (int i = 0; i < 12; ++i) {
    if (b[i] != 0) return std::nullopt;
  }
  std::uint32_t be = 0;
  std::memcpy(&be, b + 12, 4);
  return ntohl(be);
}

bool isRelay(const NodeSpec& spec, const Node& node) {
  return std::find(spec.relays.begin(), spec.relays.end(), node.prefix.nodeIp) != spec.relays.end();
}

// sixrd's egress rules: priority kEgressRulePriority, table kEgressTable, IPv6.
std::vector<Rule> ourRules(nl_sock* sock) {
  const nl::Objects cache = nl::dumpRules(sock, AF_INET6, kEgressRulePriority);
  std::vector<Rule> out;
  for (nl_object* o : cache) {
    auto* r = reinterpret_cast<rtnl_rule*>(o);
    if (rtnl_rule_get_family(r) == AF_INET6 && rtnl_rule_get_prio(r) == kEgressRulePriority &&
        rtnl_rule_get_table(r) == kEgressTable) {
      nl_object_get(o);
      out.emplace_back(r);
    }
  }
  return out;
}

bool ruleFrom(rtnl_rule* r, const ipam::Ipv6Prefix& src) {
  const nl_addr* a = rtnl_rule_get_src(r);
  return a != nullptr && nl_addr_get_len(a) == 16 &&
         static_cast<int>(nl_addr_get_prefixlen(a)) == src.len &&
         std::memcmp(nl_addr_get_binary_addr(a), src.addr.data(), 16) == 0;
}

// The default route of kEgressTable, if any (owned copy). Every ADD asks: the dump is of that
// table alone, whose size does not follow the pods (the main table holds a route per pod).
nl::Route egressRoute(nl_sock* sock) {
  const nl::Objects routes = nl::dumpRoutes(sock, AF_INET6, 0, kEgressTable);
  for (nl_object* o : routes) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    const nl_addr* dst = rtnl_route_get_dst(r);
    if (rtnl_route_get_table(r) == kEgressTable && dst != nullptr &&
        nl_addr_get_prefixlen(dst) == 0) {
      nl_object_get(o);
      return nl::Route(r);
    }
  }
  return nullptr;
}

std::vector<ipam::Ipv4Addr> gatewaysOf(rtnl_route* r) {
  std::vector<ipam::Ipv4Addr> out;
  const int n = rtnl_route_get_nnexthops(r);
  for (int i = 0; i < n; ++i) {
    if (auto ip = fromCompatible(rtnl_route_nh_get_gateway(rtnl_route_nexthop_n(r, i)))) {
      out.push_back(*ip);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// An IPv6 unicast route of sixrd's (RTPROT_STATIC) to `dst` in `table`, without next hops yet.
nl::Route staticRoute(std::uint32_t table, const ipam::Ipv6Prefix& dst) {
  auto route = nl::alloc<nl::Route>();
  rtnl_route_set_family(route.get(), AF_INET6);
  rtnl_route_set_table(route.get(), table);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  const nl::Address to = nl::ipv6(dst.addr, dst.len);
  nl::check(rtnl_route_set_dst(route.get(), to.get()), "set route dst", nl::format(to.get()));
  return route;
}

void removeEgress(nl_sock* sock, std::vector<std::string>& changed) {
  for (const Rule& r : ourRules(sock)) {
    const int rc = nl::deleteRule(sock, r.get(), 0);
    if (rc != -NLE_OBJ_NOTFOUND) nl::check(rc, "delete", "egress policy rule");
    changed.push_back("removed the egress rule (" + nl::format(rtnl_rule_get_src(r.get())) + ")");
  }
  if (const nl::Route route = egressRoute(sock)) {
    const int rc = nl::deleteRoute(sock, route.get(), 0);
    if (rc != -NLE_OBJ_NOTFOUND) nl::check(rc, "delete", "egress route");
    changed.push_back(fmt::format("removed the egress route (table {})", kEgressTable));
  }
}

void addRule(nl_sock* sock, const ipam::Ipv6Prefix& src) {
  const Rule rule = nl::owned<Rule>(rtnl_rule_alloc(), "rule");
  rtnl_rule_set_family(rule.get(), AF_INET6);
  rtnl_rule_set_prio(rule.get(), kEgressRulePriority);
  rtnl_rule_set_table(rule.get(), kEgressTable);
  rtnl_rule_set_action(rule.get(), FR_ACT_TO_TBL);
  const nl::Address from = nl::ipv6(src.addr, src.len);
  nl::check(rtnl_rule_set_src(rule.get(), from.get()), "set rule source", nl::format(from.get()));
  const int rc = nl::addRule(sock, rule.get(), NLM_F_EXCL);
  if (rc != -NLE_EXIST) {
    nl::check(rc, "add",
              fmt::format("rule from {} lookup {}", nl::format(from.get()), kEgressTable));
  }
}

void setRoute(nl_sock* sock, int ifindex, const std::vector<ipam::Ipv4Addr>& relays) {
  if (const nl::Route old = egressRoute(sock)) {
    const int rc = nl::deleteRoute(sock, old.get(), 0);
    if (rc != -NLE_OBJ_NOTFOUND) nl::check(rc, "delete", "egress route");
  }
  const nl::Route route = staticRoute(kEgressTable, ipam::Ipv6Prefix{});
  for (const auto relay : relays) {
    auto nh = nl::alloc<nl::Nexthop>();
    rtnl_route_nh_set_ifindex(nh.get(), ifindex);
    rtnl_route_nh_set_flags(nh.get(), RTNH_F_ONLINK);
    const nl::Address gw = nl::ipv6(compatible(relay), 128);
    rtnl_route_nh_set_gateway(nh.get(), gw.get());
    rtnl_route_add_nexthop(route.get(), nh.release());  // the route owns it from here
  }
  nl::check(nl::addRoute(sock, route.get(), NLM_F_CREATE), "add",
            fmt::format("egress route default via {} (table {})", ipam::formatIpv4List(relays),
                        kEgressTable));
}

}  // namespace

std::vector<std::string> ensureEgress(nl_sock* sock, const NodeSpec& spec, const Node& node,
                                      const std::vector<ipam::Ipv4Addr>* active) {
  std::vector<std::string> changed;
  if (spec.relays.empty() || isRelay(spec, node)) {
    removeEgress(sock, changed);
    for (const auto& c : changed) spdlog::info("egress: {}", c);
    return changed;
  }
  const nl::Link tunnel = nl::getLink(sock, spec.tunnel);
  const int ifindex = rtnl_link_get_ifindex(tunnel.get());

  bool haveRule = false;
  for (const Rule& r : ourRules(sock)) {
    if (ruleFrom(r.get(), node.prefix.node64)) {
      haveRule = true;
      continue;
    }
    // A rule for another /64: the node's IPv4 changed.
    const int rc = nl::deleteRule(sock, r.get(), 0);
    if (rc != -NLE_OBJ_NOTFOUND) nl::check(rc, "delete", "stale egress policy rule");
    changed.push_back("removed the stale egress rule from " +
                      nl::format(rtnl_rule_get_src(r.get())));
  }
  if (!haveRule) {
    addRule(sock, node.prefix.node64);
    changed.push_back(fmt::format("added rule from {} lookup {} (priority {})",
                                  ipam::formatPrefix(node.prefix.node64), kEgressTable,
                                  kEgressRulePriority));
  }

  std::vector<ipam::Ipv4Addr> configured = spec.relays;
  std::sort(configured.begin(), configured.end());
  std::vector<ipam::Ipv4Addr> want = configured;
  if (active != nullptr && !active->empty()) {
    want = *active;
    std::sort(want.begin(), want.end());
  }
  const nl::Route current = egressRoute(sock);
  const std::vector<ipam::Ipv4Addr> have =
      current ? gatewaysOf(current.get()) : std::vector<ipam::Ipv4Addr>{};
  bool keep = current && !have.empty() &&
              rtnl_route_get_nnexthops(current.get()) == static_cast<int>(have.size()) &&
              std::includes(configured.begin(), configured.end(), have.begin(), have.end());
  if (keep) {
    const int n = rtnl_route_get_nnexthops(current.get());
    for (int i = 0; i < n; ++i) {
      keep = keep && rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(current.get(), i)) == ifindex;
    }
  }
  if (active != nullptr) keep = keep && have == want;
  if (!keep) {
    setRoute(sock, ifindex, want);
    changed.push_back(fmt::format("egress route default via {} dev {} (table {}){}",
                                  ipam::formatIpv4List(want), spec.tunnel, kEgressTable,
                                  have.empty() ? "" : ", was via " + ipam::formatIpv4List(have)));
  }
  for (const auto& c : changed) spdlog::info("egress: {}", c);
  return changed;
}

std::vector<std::string> verifyEgress(nl_sock* sock, const NodeSpec& spec, const Node& node) {
  std::vector<std::string> out;
  const auto rules = ourRules(sock);
  const nl::Route route = egressRoute(sock);
  if (spec.relays.empty() || isRelay(spec, node)) {
    if (!rules.empty() || route) {
      out.emplace_back(
          spec.relays.empty()
              ? "an egress rule or route is set up but no relay is configured"
              : "this node is a relay but has an egress rule or route to other relays");
    }
    return out;
  }
  if (std::none_of(rules.begin(), rules.end(),
                   [&](const Rule& r) { return ruleFrom(r.get(), node.prefix.node64); })) {
    out.push_back(fmt::format("no egress rule from {} lookup {}",
                              ipam::formatPrefix(node.prefix.node64), kEgressTable));
  }
  std::vector<ipam::Ipv4Addr> configured = spec.relays;
  std::sort(configured.begin(), configured.end());
  const std::vector<ipam::Ipv4Addr> have =
      route ? gatewaysOf(route.get()) : std::vector<ipam::Ipv4Addr>{};
  if (have.empty() ||
      !std::includes(configured.begin(), configured.end(), have.begin(), have.end())) {
    out.push_back(fmt::format("no egress route through the relays {} in table {}",
                              ipam::formatIpv4List(configured), kEgressTable));
  }
  return out;
}

std::vector<ipam::Ipv4Addr> egressRelaysInUse(nl_sock* sock) {
  const nl::Route route = egressRoute(sock);
  return route ? gatewaysOf(route.get()) : std::vector<ipam::Ipv4Addr>{};
}

std::vector<std::string> ensureNat64Route(nl_sock* sock, const ipam::Ipv6Prefix& prefix,
                                          const std::string& device) {
  std::vector<std::string> changed;
  const nl::Link link = nl::getLink(sock, device);
  const nl::Route route = staticRoute(RT_TABLE_MAIN, prefix);
  auto nh = nl::alloc<nl::Nexthop>();
  rtnl_route_nh_set_ifindex(nh.get(), rtnl_link_get_ifindex(link.get()));
  rtnl_route_add_nexthop(route.get(), nh.release());  // the route owns it from here
  const std::string what = fmt::format("{} dev {}", ipam::formatPrefix(prefix), device);
  const int rc = nl::addRoute(sock, route.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (rc != -NLE_EXIST) {
    nl::check(rc, "add route", what);
    changed.push_back("route " + what);
  }
  if (readSysctl("net/ipv4/ip_forward") != std::optional<std::string>("1")) {
    writeSysctl("net/ipv4/ip_forward", "1");
    changed.emplace_back("IPv4 forwarding on (net.ipv4.ip_forward=1)");
  }
  if (readSysctl("net/ipv6/conf/all/forwarding") != std::optional<std::string>("1")) {
    writeSysctl("net/ipv6/conf/all/forwarding", "1");
    changed.emplace_back("IPv6 forwarding on (net.ipv6.conf.all.forwarding=1)");
  }
  for (const auto& c : changed) spdlog::info("relay: {}", c);
  return changed;
}

}  // namespace sixrd::tunnel
