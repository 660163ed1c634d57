#include "tunnel/sit.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if.h>
#include <linux/if_tunnel.h>
#include <netlink/errno.h>
#include <netlink/route/link/sit.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "tunnel/nl.hpp"
#include "tunnel/probe_name.hpp"
#include "tunnel/requests.hpp"
#include "tunnel/sysctl.hpp"

namespace sixrd::tunnel {

namespace {

constexpr std::uint8_t kPmtudisc = 1;

// The sit settings sixrd wants, in the form libnl hands them back.
struct SitParams {
  std::uint32_t local = 0;  // network order, as IFLA_IPTUN_LOCAL
  std::uint8_t ttl = 0;
  in6_addr prefix{};
  std::uint16_t prefixLen = 0;
  std::uint32_t relayPrefix = 0;  // network order
  std::uint16_t relayPrefixLen = 0;
  unsigned mtu = 0;
};

SitParams wanted(const NodeSpec& spec, const Node& node) {
  SitParams p;
  p.local = htonl(node.prefix.nodeIp);
  p.ttl = static_cast<std::uint8_t>(spec.ttl);
  std::memcpy(&p.prefix, spec.plan.prefix.addr.data(), 16);
  p.prefixLen = static_cast<std::uint16_t>(spec.plan.prefix.len);
  p.relayPrefix = htonl(spec.plan.underlay.addr);
  p.relayPrefixLen = static_cast<std::uint16_t>(spec.plan.underlay.len);
  p.mtu = static_cast<unsigned>(node.tunnelMtu());
  return p;
}

std::string v4(std::uint32_t be) { return ipam::formatIpv4(ntohl(be)); }
std::string v6(const in6_addr& a) {
  ipam::Ipv6Addr b{};
  std::memcpy(b.data(), &a, 16);
  return ipam::formatIpv6(b);
}

// Differences between a kernel sit link and the wanted settings, one sentence each. Compared as
// numbers; only a difference is formatted.
std::vector<std::string> diff(const nl::LinkBrief& link, const SitParams& want,
                              std::string_view name) {
  std::vector<std::string> out;
  const nl::LinkBrief::Sit have = link.sit.value_or(nl::LinkBrief::Sit{});
  const auto note = [&](std::string_view what, const std::string& is, const std::string& should) {
    out.push_back(fmt::format("{} {} is {}, want {}", name, what, is, should));
  };
  if (have.local != want.local) note("local", v4(have.local), v4(want.local));
  if (have.remote != 0) note("remote", v4(have.remote), "0.0.0.0");
  if (have.ttl != want.ttl) note("ttl", std::to_string(have.ttl), std::to_string(want.ttl));
  if (have.pmtudisc != kPmtudisc) {
    note("pmtudisc", std::to_string(have.pmtudisc), std::to_string(kPmtudisc));
  }
  if (std::memcmp(have.prefix.data(), &want.prefix, 16) != 0 || have.prefixLen != want.prefixLen) {
    note("6rd-prefix", fmt::format("{}/{}", ipam::formatIpv6(have.prefix), have.prefixLen),
         fmt::format("{}/{}", v6(want.prefix), want.prefixLen));
  }
  if (have.relayPrefix != want.relayPrefix || have.relayPrefixLen != want.relayPrefixLen) {
    note("6rd-relay_prefix", fmt::format("{}/{}", v4(have.relayPrefix), have.relayPrefixLen),
         fmt::format("{}/{}", v4(want.relayPrefix), want.relayPrefixLen));
  }
  if (link.mtu != want.mtu) note("mtu", std::to_string(link.mtu), std::to_string(want.mtu));
  if ((link.flags & IFF_UP) == 0U) note("state", "down", "up");
  return out;
}

nl::Link sitLink(std::string_view name, const SitParams& p, std::uint32_t underlying = 0) {
  auto link = nl::alloc<nl::Link>();
  nl::check(rtnl_link_set_type(link.get(), "sit"), "set type sit", name);
  rtnl_link_set_name(link.get(), std::string(name).c_str());
  rtnl_link_set_mtu(link.get(), p.mtu);
  rtnl_link_set_flags(link.get(), IFF_UP);
  rtnl_link_sit_set_local(link.get(), p.local);
  rtnl_link_sit_set_remote(link.get(), 0);
  rtnl_link_sit_set_ttl(link.get(), p.ttl);
  rtnl_link_sit_set_pmtudisc(link.get(), kPmtudisc);
  rtnl_link_sit_set_ip6rd_prefix(link.get(), &p.prefix);
  rtnl_link_sit_set_ip6rd_prefixlen(link.get(), p.prefixLen);
  rtnl_link_sit_set_ip6rd_relay_prefix(link.get(), p.relayPrefix);
  rtnl_link_sit_set_ip6rd_relay_prefixlen(link.get(), p.relayPrefixLen);
  // A change that left IFLA_IPTUN_LINK out would reset it to 0: it is always given.
  rtnl_link_sit_set_link(link.get(), underlying);
  return link;
}

ipam::Ipv6Prefix sixrdPrefixOf(const nl::LinkBrief& link) {
  ipam::Ipv6Prefix prefix;
  if (link.sit) {
    prefix.addr = link.sit->prefix;
    prefix.len = link.sit->prefixLen;
  }
  return prefix;
}

// Whose the sit device under the tunnel's name is. Returns whether it still needs this network's
// mark (adopted); throws Conflict when it belongs to someone else.
bool checkOwner(const nl::LinkBrief& link, const NodeSpec& spec) {
  const std::string& alias = link.alias;
  const std::string mine = tunnelAlias(spec.network);
  if (alias == mine) return false;
  if (alias.starts_with("sixrd/")) {
    throw Conflict(fmt::format(
        "tunnel {} belongs to sixrd network {} (its alias is \"{}\"), not to network {}: two "
        "sixrd networks on one node need two tunnels: set \"tunnel\" in network {}'s "
        "configuration to another name (e.g. {}1)",
        spec.tunnel, alias.substr(6), alias, spec.network, spec.network, spec.tunnel));
  }
  const ipam::Ipv6Prefix theirs = sixrdPrefixOf(link);
  if (alias.empty() && theirs == spec.plan.prefix) {
    // A tunnel of this network made before sixrd marked its devices (an upgrade), or by a
    // concurrent ADD that has not marked it yet: the same 6rd prefix is the same network.
    spdlog::info("adopting sit device {} (6rd-prefix {}, no owner mark): marking it \"{}\"",
                 spec.tunnel, ipam::formatPrefix(theirs), mine);
    return true;
  }
  throw Conflict(fmt::format(
      "tunnel {} is a sit device sixrd network {} did not make (6rd-prefix {}, {}): sixrd leaves "
      "it alone; set \"tunnel\" in network {}'s configuration to another name, or remove the "
      "device if it is a leftover",
      spec.tunnel, spec.network, ipam::formatPrefix(theirs),
      alias.empty() ? std::string("no owner mark") : fmt::format("alias \"{}\"", alias),
      spec.network));
}

// Whether uninstall may remove the sit device `name` for `network`: its owner mark says so, or it
// has none and carries the network's own 6rd prefix. Throws Conflict naming the owner otherwise.
void checkRemovable(const nl::LinkBrief& link, const std::string& name, const std::string& network,
                    const std::optional<ipam::Ipv6Prefix>& prefix) {
  const std::string& alias = link.alias;
  const std::string forWhom = network.empty() ? std::string("sixrd") : "network " + network;
  if (network.empty() ? alias.starts_with("sixrd/") : alias == tunnelAlias(network)) return;
  if (alias.starts_with("sixrd/")) {
    throw Conflict(fmt::format(
        "tunnel {} belongs to sixrd network {} (its alias is \"{}\"), not to {}: not removing it; "
        "uninstall with that network's configuration to remove it",
        name, alias.substr(6), alias, forWhom));
  }
  const ipam::Ipv6Prefix theirs = sixrdPrefixOf(link);
  if (alias.empty() && prefix && theirs == *prefix) {
    spdlog::info("sit device {} has no owner mark but {}'s 6rd-prefix {}: removing it", name,
                 forWhom, ipam::formatPrefix(theirs));
    return;
  }
  std::string why = alias.empty()
                        ? fmt::format("no owner mark, 6rd-prefix {}", ipam::formatPrefix(theirs))
                        : fmt::format("alias \"{}\"", alias);
  if (alias.empty() && prefix) {
    why += fmt::format(", not the configuration's {}", ipam::formatPrefix(*prefix));
  }
  throw Conflict(
      fmt::format("sit device {} is not {}'s ({}): sixrd did not make it, not removing it", name,
                  forWhom, why));
}

// The sit devices whose local address is `local` (network order), for messages.
std::string sitDevicesWithLocal(nl_sock* sock, std::uint32_t local) {
  std::string out;
  nl::Objects cache;
  try {
    cache = nl::dumpLinks(sock, "sit");
  } catch (const NetlinkError&) {
    return "unknown";
  }
  for (nl_object* o : cache) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    if (!nl::isKind(l, "sit") || rtnl_link_sit_get_local(l) != local) {
      continue;
    }
    const std::string alias = nl::aliasOf(l);
    out += fmt::format("{}{}{}", out.empty() ? "" : ", ", rtnl_link_get_name(l),
                       alias.empty() ? "" : " (" + alias + ")");
  }
  return out.empty() ? "none found" : out;
}

bool isSit(rtnl_link* link) { return nl::isKind(link, "sit"); }
bool isSit(const nl::LinkBrief& link) { return link.sit.has_value(); }

// What a link that is not a sit device is, for messages.
std::string_view kindName(const nl::LinkBrief& link) {
  return link.kind.empty() ? std::string_view("plain") : std::string_view(link.kind);
}

[[noreturn]] void sitMissing(std::string_view name, int rc) {
  throw SitUnavailable(fmt::format(
      "cannot create sit device {}: {}: this kernel has no sit/6rd support; load it with "
      "`modprobe sit` on the node (or build the kernel with CONFIG_IPV6_SIT and "
      "CONFIG_IPV6_SIT_6RD)",
      name, nl_geterror(rc)));
}

bool isUnsupported(int rc) { return rc == -NLE_OPNOTSUPP || rc == -NLE_NOATTR; }

// Deletes the node's unreachable /64 routes inside `prefix` (RTN_UNREACHABLE routes live on lo,
// so the whole IPv6 table is read), except `keep`; returns the destinations it removed (a route
// already gone counts as not removed).
std::vector<std::string> deleteUnreachable64s(nl_sock* sock, const ipam::Ipv6Prefix& prefix,
                                              const std::optional<ipam::Ipv6Addr>& keep) {
  std::vector<std::string> removed;
  const nl::Objects routes = nl::dumpRoutes(sock, AF_INET6, 0);
  for (nl_object* o : routes) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    nl_addr* dst = rtnl_route_get_dst(r);
    if (rtnl_route_get_type(r) != RTN_UNREACHABLE || dst == nullptr ||
        nl_addr_get_prefixlen(dst) != 64 || nl_addr_get_len(dst) != 16) {
      continue;
    }
    ipam::Ipv6Addr bytes{};
    std::memcpy(bytes.data(), nl_addr_get_binary_addr(dst), 16);
    if (!ipam::contains(prefix, bytes) || bytes == keep) continue;
    const int rc = nl::deleteRoute(sock, r, 0);
    if (rc == -NLE_OBJ_NOTFOUND) continue;
    nl::check(rc, "delete route", "unreachable " + nl::format(dst));
    removed.push_back(nl::format(dst));
  }
  return removed;
}

// Overlay addresses inside the prefix other than ours, left behind when the node's IPv4 changed.
void removeStaleState(nl_sock* sock, int ifindex, const NodeSpec& spec, const Node& node) {
  const nl::Objects addrs = nl::dumpAddresses(sock, AF_INET6, ifindex);
  for (nl_object* o : addrs) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(a);
    if (local == nullptr || nl_addr_get_len(local) != 16) continue;
    ipam::Ipv6Addr bytes{};
    std::memcpy(bytes.data(), nl_addr_get_binary_addr(local), 16);
    if (!ipam::contains(spec.plan.prefix, bytes) || bytes == node.prefix.overlayAddr) continue;
    spdlog::info("removing stale overlay address {} from {}", ipam::formatIpv6(bytes), spec.tunnel);
    const int rc = nl::deleteAddr(sock, a, 0);
    if (rc != -NLE_NOADDR && rc != -NLE_OBJ_NOTFOUND)
      nl::check(rc, "delete address", nl::format(local));
  }
  // Unreachable /64 routes for another node64 inside the prefix.
  for (const std::string& dst :
       deleteUnreachable64s(sock, spec.plan.prefix, node.prefix.node64.addr)) {
    spdlog::info("removed stale unreachable route {}", dst);
  }
}

}  // namespace

void ensureTunnel(nl_sock* sock, const NodeSpec& spec, const Node& node) {
  const SitParams want = wanted(spec, node);
  std::optional<nl::LinkBrief> link = nl::findLinkBrief(sock, spec.tunnel);
  bool changed = false;
  bool mark = false;
  if (!link) {
    // The kernel keeps one sit device per (local, remote, underlying link): where another
    // network's tunnel has the node IPv4 already, this one is bound to the underlay interface.
    std::uint32_t underlying = 0;
    auto create = [&] {
      const nl::Link fresh = sitLink(spec.tunnel, want, underlying);
      const int rc = nl::addLink(sock, fresh.get(), NLM_F_CREATE | NLM_F_EXCL);
      if (isUnsupported(rc)) sitMissing(spec.tunnel, rc);
      return rc;
    };
    int rc = create();
    // EEXIST with the name taken: a concurrent ADD created it first; it is verified below like
    // any existing device. EEXIST without it: the (local, remote, link) triple is taken.
    if (rc == -NLE_EXIST && !nl::findLinkBrief(sock, spec.tunnel) && node.underlayIfindex != 0) {
      spdlog::info("another sit device already uses local {} ({}): binding {} to {}",
                   ipam::formatIpv4(node.prefix.nodeIp), sitDevicesWithLocal(sock, want.local),
                   spec.tunnel, node.underlayInterface);
      underlying = static_cast<std::uint32_t>(node.underlayIfindex);
      rc = create();
    }
    if (rc == -NLE_EXIST && !nl::findLinkBrief(sock, spec.tunnel)) {
      throw Conflict(fmt::format(
          "cannot create tunnel {}: other sit devices already use local {} on every link it "
          "could be bound to ({}): the kernel allows one per local address and underlying link",
          spec.tunnel, ipam::formatIpv4(node.prefix.nodeIp),
          sitDevicesWithLocal(sock, want.local)));
    }
    if (rc != -NLE_EXIST) nl::check(rc, "create sit device", spec.tunnel);
    if (rc == 0) {
      spdlog::info(
          "created sit device {} local {}{} 6rd-prefix {} 6rd-relay_prefix {} mtu {} for network "
          "{}",
          spec.tunnel, ipam::formatIpv4(node.prefix.nodeIp),
          underlying != 0 ? " dev " + node.underlayInterface : std::string(),
          ipam::formatPrefix(spec.plan.prefix), ipam::formatSubnet(spec.plan.underlay), want.mtu,
          spec.network);
      changed = true;
      mark = true;
    }
    link = nl::getLinkBrief(sock, spec.tunnel);
  }
  if (!isSit(*link)) {
    throw Conflict(
        fmt::format("tunnel {} exists but is a {} device, not sit: remove it or set "
                    "\"tunnel\" to another name",
                    spec.tunnel, kindName(*link)));
  }
  if (!mark) mark = checkOwner(*link, spec);
  const auto differences = diff(*link, want, spec.tunnel);
  const int ifindex = link->ifindex;
  if (!differences.empty() || mark) {
    for (const auto& d : differences) spdlog::info("repairing: {}", d);
    const nl::Link change = sitLink(spec.tunnel, want, link->sit->link);
    const std::string alias = tunnelAlias(spec.network);
    rtnl_link_set_ifalias(change.get(), alias.c_str());
    // The link as libnl needs it to leave the name out of the change (a name with an ifindex is
    // a rename, which the kernel refuses for a link that is up, even to the same name).
    const auto orig = nl::alloc<nl::Link>();
    rtnl_link_set_ifindex(orig.get(), ifindex);
    rtnl_link_set_name(orig.get(), spec.tunnel.c_str());
    nl::check(nl::changeLink(sock, orig.get(), change.get(), 0), "reconfigure sit device",
              spec.tunnel);
    changed = changed || !differences.empty();
  }
  if (changed) removeStaleState(sock, ifindex, spec, node);
  // Both are there on every ADD but the first: EEXIST is success.
  const int added =
      nl::addIpv6Address(sock, ifindex, node.prefix.overlayAddr, spec.plan.prefix.len, 0);
  if (added != -NLE_EXIST) {
    nl::check(added, "add address", [&] {
      return fmt::format("{}/{} on {}", ipam::formatIpv6(node.prefix.overlayAddr),
                         spec.plan.prefix.len, spec.tunnel);
    });
  }
  const int routed =
      nl::addIpv6Route(sock, node.prefix.node64.addr, 64, 0, nullptr, RTN_UNREACHABLE);
  if (routed != -NLE_EXIST) {
    nl::check(routed, "add route",
              [&] { return "unreachable " + ipam::formatPrefix(node.prefix.node64); });
  }
  // Asked over netlink first: its cost stays the same however many pods and namespaces the node
  // has, where the /proc/sys lookup's grows. Only when it is off (or unanswered) does
  // enableForwarding() read and write the sysctls.
  if (nl::ipv6Forwarding(sock) != std::optional<bool>(true)) {
    for (const auto& what : enableForwarding()) spdlog::info("sysctl {}", what);
  }
}

std::vector<std::string> verifyTunnel(nl_sock* sock, const NodeSpec& spec, const Node& node) {
  const std::optional<nl::LinkBrief> link = nl::findLinkBrief(sock, spec.tunnel);
  if (!link) return {fmt::format("tunnel {} does not exist", spec.tunnel)};
  if (!isSit(*link)) return {fmt::format("tunnel {} is not a sit device", spec.tunnel)};
  auto out = diff(*link, wanted(spec, node), spec.tunnel);
  if (const std::string& alias = link->alias; alias != tunnelAlias(spec.network)) {
    out.push_back(fmt::format(
        "tunnel {} is not marked as network {}'s ({})", spec.tunnel, spec.network,
        alias.empty() ? std::string("no owner mark") : fmt::format("alias \"{}\"", alias)));
  }

  const nl::Objects addrs = nl::dumpAddresses(sock, AF_INET6, link->ifindex);
  bool haveOverlay = false;
  for (nl_object* o : addrs) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(a);
    if (local != nullptr && nl_addr_get_len(local) == 16 &&
        std::memcmp(nl_addr_get_binary_addr(local), node.prefix.overlayAddr.data(), 16) == 0 &&
        rtnl_addr_get_prefixlen(a) == spec.plan.prefix.len) {
      haveOverlay = true;
    }
  }
  if (!haveOverlay) {
    out.push_back(fmt::format("tunnel {} lacks overlay address {}/{}", spec.tunnel,
                              ipam::formatIpv6(node.prefix.overlayAddr), spec.plan.prefix.len));
  }
  if (readSysctl("net/ipv6/conf/all/forwarding") != std::optional<std::string>("1")) {
    out.emplace_back("IPv6 forwarding (net.ipv6.conf.all.forwarding) is off");
  }
  return out;
}

std::vector<std::string> removeDeadProbes(nl_sock* sock) {
  const nl::Objects cache = nl::dumpLinks(sock, "sit");
  std::vector<std::string> removed;
  for (nl_object* o : cache) {
    auto* link = reinterpret_cast<rtnl_link*>(o);
    const char* name = rtnl_link_get_name(link);
    if (name == nullptr) continue;
    const std::optional<int> pid = probeDevicePid(name);
    if (!pid || !isSit(link)) continue;
    // EPERM: the process exists (another user's); only ESRCH says it is gone.
    if (kill(*pid, 0) == 0 || errno != ESRCH) {
      spdlog::debug("probe device {} left alone: process {} is running", name, *pid);
      continue;
    }
    const int rc = nl::deleteLink(sock, link);
    if (nl::linkGone(rc)) continue;  // its owner removed it after all
    if (rc < 0) {
      spdlog::warn("cannot remove probe device {} of process {} (not running): {}", name, *pid,
                   nl_geterror(rc));
      continue;
    }
    spdlog::info(
        "removed sit device {}: the probe of sixrd process {}, which is no longer running (killed "
        "before it removed it, e.g. at a probe timeout)",
        name, *pid);
    removed.emplace_back(name);
  }
  return removed;
}

bool sitAvailable(nl_sock* sock, const NodeSpec& spec) {
  removeDeadProbes(sock);
  if (const auto link = nl::findLinkBrief(sock, spec.tunnel); link && isSit(*link)) return true;
  // A throw-away device answers for certain (it also makes the kernel autoload sit.ko). Named
  // after this process, so a later run can tell one left behind by a killed process (above).
  const std::string probe = fmt::format("{}{}", kProbePrefix, getpid());
  const auto link = nl::alloc<nl::Link>();
  nl::check(rtnl_link_set_type(link.get(), "sit"), "set type sit", probe);
  rtnl_link_set_name(link.get(), probe.c_str());
  const int rc = nl::addLink(sock, link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (isUnsupported(rc)) return false;
  if (rc == -NLE_EXIST) {
    // The kernel knows sit: it refuses a second sit device with the endpoints of one it has (the
    // sit0 fallback device has these, in every namespace once sit.ko is loaded), or the name is a
    // sit device of the same pid in another pid namespace (the plugin on the host, status in a
    // container) probing right now. Nothing was created.
    const std::optional<nl::LinkBrief> other = nl::findLinkBrief(sock, probe);
    if (!other || isSit(*other)) return true;
  }
  nl::check(rc, "create probe sit device", probe);
  const int deleted = nl::deleteLink(sock, link.get());
  // Gone already: a run in another pid namespace took it for a dead process's.
  if (!nl::linkGone(deleted)) {
    nl::check(deleted, "delete probe sit device", probe);
  }
  return true;
}

std::vector<std::string> removeTunnel(nl_sock* sock, const std::string& name,
                                      const std::string& network,
                                      const std::optional<ipam::Ipv6Prefix>& prefix) {
  const std::optional<nl::LinkBrief> link = nl::findLinkBrief(sock, name);
  if (!link) return {};
  if (!isSit(*link)) {
    throw Conflict(
        fmt::format("{} is a {} device, not a sit tunnel: not removing it", name, kindName(*link)));
  }
  checkRemovable(*link, name, network, prefix);
  std::vector<std::string> removed;
  // The unreachable routes are the node's own /64 inside the tunnel's 6rd prefix, the overlay
  // address the one inside it (the kernel gives a sit device addresses of its own, ::<IPv4>/96 and
  // link-local, which go unmentioned). A sit device without a 6rd prefix (length 0 would match
  // every /64 on the node) has none of sixrd's.
  const ipam::Ipv6Prefix sixrdPrefix = sixrdPrefixOf(*link);
  const auto prefixLen = sixrdPrefix.len;
  std::string overlay;
  const nl::Objects addrs = nl::dumpAddresses(sock, AF_INET6, link->ifindex);
  for (nl_object* o : addrs) {
    nl_addr* local = rtnl_addr_get_local(reinterpret_cast<rtnl_addr*>(o));
    if (local == nullptr || nl_addr_get_len(local) != 16 || prefixLen == 0) continue;
    ipam::Ipv6Addr bytes{};
    std::memcpy(bytes.data(), nl_addr_get_binary_addr(local), 16);
    if (ipam::contains(sixrdPrefix, bytes))
      overlay += (overlay.empty() ? "" : ", ") + nl::format(local);
  }

  if (prefixLen > 0 && prefixLen <= 64) {
    for (const std::string& dst : deleteUnreachable64s(sock, sixrdPrefix, std::nullopt)) {
      spdlog::info("removed route unreachable {}", dst);
      removed.push_back("route unreachable " + dst);
    }
  }

  const int rc = nl::deleteLinkByIndex(sock, link->ifindex);
  // Gone already: another uninstall got there first.
  if (!nl::linkGone(rc)) {
    nl::check(rc, "delete sit device", name);
    spdlog::info("removed sit device {}", name);
    removed.push_back(overlay.empty()
                          ? fmt::format("sit device {}", name)
                          : fmt::format("sit device {} (with its address {})", name, overlay));
  }
  return removed;
}

}  // namespace sixrd::tunnel
