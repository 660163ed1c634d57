#include "tunnel/pod.hpp"

#include <fmt/format.h>
#include <linux/if.h>
#include <netlink/errno.h>
#include <netlink/route/nexthop.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <thread>

#include "ipam/interface_id.hpp"
#include "tunnel/netns.hpp"
#include "tunnel/nl.hpp"
#include "tunnel/requests.hpp"
#include "tunnel/sysctl.hpp"
#include "util/scope_guard.hpp"

namespace sixrd::tunnel {

namespace {

ipam::Ipv6Addr gatewayBytes() { return ipam::parseIpv6(kGateway, "gateway"); }
ipam::Ipv6Addr linkLocalPrefix() { return ipam::parseIpv6("fe80::", "link-local prefix"); }

// The link's MAC for a neighbour entry; null for a link without one.
const nl::Mac* hardwareAddress(const nl::LinkBrief& link) {
  return link.hasMac ? &link.mac : nullptr;
}

std::string sysctlIf(std::string_view ifname, std::string_view key) {
  return fmt::format("net/ipv6/conf/{}/{}", ifname, key);
}

// Both neighbours of a pod are known at ADD, so they are written as permanent entries: neighbour
// discovery would otherwise send the pod's first packets after a solicitation that can be lost
// while the new link is still settling, and retry only after its 1 s timer.
void addPermanentNeighbour(nl_sock* sock, int ifindex, const ipam::Ipv6Addr& ip,
                           const nl::Mac* lladdr, std::string_view where) {
  nl::check(nl::addPermanentNeighbour(sock, ifindex, ip, lladdr), "add neighbour",
            [&] { return fmt::format("{} on {}", ipam::formatIpv6(ip), where); });
}

// Whether the kernel's link watcher has started the link: until then its qdisc drops every packet.
bool operational(nl_sock* sock, std::string_view name) {
  const std::optional<nl::LinkBrief> link = nl::findLinkBrief(sock, name);
  return link && link->operstate == IF_OPER_UP;
}

// Bounded: the watcher runs within microseconds on an idle node and later under rtnl contention
// (namespaces being torn down). Past the bound the pod is configured anyway; traffic starts late.
void awaitOperational(nl_sock* sock, nl_sock* podSock, const PodSpec& spec) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (!operational(sock, spec.hostVeth) || !operational(podSock, spec.ifname)) {
    if (Clock::now() >= deadline) {
      spdlog::warn("{} / {} not operational after 2 s; continuing", spec.hostVeth, spec.ifname);
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

// The pod side, through `sock` (bound to the pod namespace). Returns the pod interface (its MAC is
// fixed from birth); defaultRoute tells whether the pod's default route is this interface's.
nl::LinkBrief configurePodSide(const PodSpec& spec, const Netns& podNs, nl_sock* sock,
                               const nl::Mac* hostMac, bool& defaultRoute) {
  nl::LinkBrief link = nl::getLinkBrief(sock, spec.ifname);
  const int ifindex = link.ifindex;
  if (spec.tcpMtuProbing) {
    // /proc/sys follows the namespace the process is in. This opt-in key is the only one sixrd
    // writes in a pod: the first lookup of a /proc/sys/net directory in each new namespace walks
    // one entry per namespace that made one before (measured for net/ipv6: every ADD slower by
    // the number of pods), so none is made for what netlink can do.
    const NetnsGuard inPod(podNs);
    writeSysctl("net/ipv4/tcp_mtu_probing", "1");
  }

  // Addresses are unique by construction; DAD would only add 1-2 s before the pod can talk.
  nl::check(nl::addIpv6Address(sock, ifindex, spec.address, 128, 0), "add address", [&] {
    return fmt::format("{}/128 on {}", ipam::formatIpv6(spec.address), spec.ifname);
  });
  // Every network namespace has one.
  nl::check(nl::setLink(sock, 0, "lo", nl::kSetUp), "set up", "lo");
  {
    // Up, and in the same request no auto-generated link-local (addrgenmode none; the host end is
    // still down, so the kernel has made none yet): the /128, which needs no DAD, is the pod's
    // only address and so the source of all it sends, also to fe80::1, and the node answers it
    // through the pod's host route. Nothing is left for DAD (accept_dad) to hold up, and the pod
    // sends no router solicitations; router advertisements can only come from the node, whose
    // host veth sends none of sixrd's.
    nl::check(nl::setLink(sock, ifindex, {}, nl::kSetUp | nl::kSetAddrGenModeNone),
              "set up with addrgenmode none", spec.ifname);
  }
  const ipam::Ipv6Addr gw = gatewayBytes();
  addPermanentNeighbour(sock, ifindex, gw, hostMac, spec.ifname);
  const int rc = nl::addIpv6Route(sock, ipam::Ipv6Addr{}, 0, ifindex, &gw, RTN_UNICAST);
  defaultRoute = rc != -NLE_EXIST;
  if (!defaultRoute) {
    // A second attachment (another ifname) in a pod whose first one owns the default route. With
    // no link-local address there is no kernel-made fe80::/64 either: this one makes the link's
    // link-local addresses reachable through it (fe80::1, or the node writing from fe80::1),
    // which the default route does for the first attachment.
    spdlog::info("netns {} already has a default route: {} gets no default route", spec.netns,
                 spec.ifname);
    nl::check(nl::addIpv6Route(sock, linkLocalPrefix(), 64, ifindex, nullptr, RTN_UNICAST),
              "add route", [&] { return fmt::format("fe80::/64 dev {}", spec.ifname); });
  } else {
    nl::check(rc, "add route",
              [&] { return fmt::format("default via {} dev {}", kGateway, spec.ifname); });
  }
  return link;
}

// An address `want` on ifindex with one of the prefix lengths given.
bool hasAddress(nl_sock* sock, int ifindex, const ipam::Ipv6Addr& want,
                std::initializer_list<int> prefixLens) {
  const nl::Objects addrs = nl::dumpAddresses(sock, AF_INET6, ifindex);
  for (nl_object* o : addrs) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(a);
    if (local != nullptr && nl_addr_get_len(local) == 16 &&
        std::find(prefixLens.begin(), prefixLens.end(), rtnl_addr_get_prefixlen(a)) !=
            prefixLens.end() &&
        std::memcmp(nl_addr_get_binary_addr(local), want.data(), 16) == 0) {
      return true;
    }
  }
  return false;
}

// A route dst/len through ifindex (via gateway, when given) in the main table.
bool hasRoute(nl_sock* sock, int ifindex, const ipam::Ipv6Addr& dst, int len,
              const ipam::Ipv6Addr* gateway) {
  const nl::Objects routes = nl::dumpRoutes(sock, AF_INET6, ifindex);
  for (nl_object* o : routes) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    nl_addr* d = rtnl_route_get_dst(r);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN || d == nullptr) continue;
    if (nl_addr_get_prefixlen(d) != static_cast<unsigned>(len)) continue;
    if (len > 0 && (nl_addr_get_len(d) != 16 ||
                    std::memcmp(nl_addr_get_binary_addr(d), dst.data(), 16) != 0)) {
      continue;
    }
    if (rtnl_route_get_nnexthops(r) < 1) continue;
    rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
    if (rtnl_route_nh_get_ifindex(nh) != ifindex) continue;
    if (gateway != nullptr) {
      nl_addr* gw = rtnl_route_nh_get_gateway(nh);
      if (gw == nullptr || nl_addr_get_len(gw) != 16 ||
          std::memcmp(nl_addr_get_binary_addr(gw), gateway->data(), 16) != 0) {
        continue;
      }
    }
    return true;
  }
  return false;
}

bool isVeth(rtnl_link* link) { return nl::isKind(link, "veth"); }

}  // namespace

bool isHostVethName(std::string_view name) noexcept {
  const std::string_view prefix = ipam::hostVethPrefix();
  if (name.size() != prefix.size() + 12 || name.substr(0, prefix.size()) != prefix) return false;
  for (const char c : name.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

PodLinks addPod(nl_sock* sock, const PodSpec& spec, const Netns& podNs, const StepHook& afterStep) {
  const auto step = [&](std::string_view name) {
    if (afterStep) afterStep(name);
  };
  // Opened inside the pod namespace, it stays bound there for every later pod-side call. The way
  // back is the namespace `sock` was made in, named without a lookup in /proc.
  nl::Socket podSock;
  {
    const NetnsGuard inPod(podNs, nl_socket_get_fd(sock));
    podSock = nl::openRouteSocket();
  }

  // Both ends in one RTM_NEWLINK: the peer is born in the pod namespace under its final name, so
  // there is no window with a half-moved pair and no rename.
  const int rc = nl::addVethPair(sock, spec.hostVeth, spec.ifname, static_cast<unsigned>(spec.mtu),
                                 podNs.fd(), NLM_F_CREATE | NLM_F_EXCL);
  if (rc == -NLE_EXIST) {
    // Either name can be taken, and the request makes neither end then. The pod's interface is
    // looked for only now, not before every ADD.
    if (nl::findLink(podSock.get(), spec.ifname)) {
      throw Conflict(
          fmt::format("interface {} already exists in netns {}", spec.ifname, spec.netns));
    }
    // Name the owner as its alias records it: this very attachment (a retried ADD without a DEL
    // between), or someone else's whose name collides with ours.
    const nl::Link existing = nl::findLink(sock, spec.hostVeth);
    const char* owner = existing ? rtnl_link_get_ifalias(existing.get()) : nullptr;
    const std::string ownerText = owner != nullptr && *owner != '\0' ? owner : "no owner recorded";
    throw Conflict(fmt::format("host veth {} already exists, owned by {}{}: sixrd leaves it alone",
                               spec.hostVeth, ownerText,
                               ownerText == spec.alias
                                   ? " (this attachment: DEL it first)"
                                   : fmt::format(", not by this attachment ({})", spec.alias)));
  }
  nl::check(rc, "create veth pair",
            [&] { return fmt::format("{} <-> {}:{}", spec.hostVeth, spec.netns, spec.ifname); });
  const nl::LinkBrief host = nl::getLinkBrief(sock, spec.hostVeth);
  const int hostIndex = host.ifindex;
  // ADD's rollback, the way ptp undoes a half-made pod: the pod end goes with the host veth. Only
  // the link this call made (by ifindex): a device that took the name since is not ours.
  util::ScopeGuard rollback([&]() noexcept {
    try {
      spdlog::warn("rolling back: deleting host veth {}", spec.hostVeth);
      std::optional<nl::LinkBrief> now = nl::findLinkBrief(sock, spec.hostVeth);
      if (now && now->ifindex == hostIndex) delPod(sock, spec.hostVeth, std::move(now));
    } catch (const std::exception& e) {
      spdlog::error("rollback of host veth {} failed: {}", spec.hostVeth, e.what());
    }
  });
  {
    // The owner's mark first thing (the kernel ignores IFLA_IFALIAS when it creates a link): DEL,
    // GC and the daemon act only on a veth whose alias names them, so a veth an ADD killed from
    // here on is still cleaned up by its DEL.
    // In the same request, before the link comes up: no auto-generated link-local on the host veth
    // (fe80::1 below is the only address it needs), so no DAD for it either, and no local route of
    // its own in the node namespace. Every IPv6 route there makes every later link-up slower: the
    // kernel walks the node's whole IPv6 FIB on each one (fib6_ifup).
    nl::check(nl::setLink(sock, hostIndex, {}, nl::kSetAddrGenModeNone, spec.alias),
              "set alias and addrgenmode none", spec.hostVeth);
  }
  step("after-veth");

  writeSysctl(sysctlIf(spec.hostVeth, "accept_ra"), "0");

  bool defaultRoute = true;
  const nl::LinkBrief pod =
      configurePodSide(spec, podNs, podSock.get(), hardwareAddress(host), defaultRoute);
  step("after-pod-side");

  nl::check(nl::setLink(sock, hostIndex, {}, nl::kSetUp), "set up", spec.hostVeth);
  // The gateway as a /128 without a prefix route: the node namespace gets its local route and
  // nothing else (no fe80::/64 route, no fe80:: anycast route per pod; those are shared by every
  // host veth, and each IPv6 route makes every later link-up walk one entry more). The pod has no
  // link-local address, so nothing needs a route back to one: a ping of the gateway comes from
  // the pod's /128 and is answered through the host route below.
  nl::check(nl::addIpv6Address(sock, hostIndex, gatewayBytes(), 128, IFA_F_NOPREFIXROUTE),
            "add address", [&] { return fmt::format("{}/128 on {}", kGateway, spec.hostVeth); });
  nl::check(
      nl::addIpv6Route(sock, spec.address, 128, hostIndex, nullptr, RTN_UNICAST), "add route",
      [&] { return fmt::format("{}/128 dev {}", ipam::formatIpv6(spec.address), spec.hostVeth); });

  addPermanentNeighbour(sock, hostIndex, spec.address, hardwareAddress(pod), spec.hostVeth);
  PodLinks links;
  links.podMac = nl::macOf(pod);
  links.defaultRoute = defaultRoute;
  links.hostMac = nl::macOf(host);
  awaitOperational(sock, podSock.get(), spec);
  step("after-host-side");
  rollback.dismiss();
  return links;
}

bool delPod(nl_sock* sock, const std::string& hostVeth, std::optional<nl::LinkBrief> known) {
  const std::optional<nl::LinkBrief> link =
      known ? std::move(known) : nl::findLinkBrief(sock, hostVeth);
  if (!link) return false;
  if (link->kind != "veth") {
    throw Conflict(fmt::format("{} is not a veth; sixrd will not delete it", hostVeth));
  }
  // By ifindex: the very link just looked at, not whatever holds the name by now.
  const int rc = nl::deleteLinkByIndex(sock, link->ifindex);
  if (nl::linkGone(rc)) return false;  // a concurrent DEL won
  nl::check(rc, "delete veth", hostVeth);
  return true;
}

std::vector<std::string> checkPod(nl_sock* sock, const PodSpec& spec, const Netns& podNs) {
  std::vector<std::string> out;
  const std::string podAddr = ipam::formatIpv6(spec.address);
  const nl::Link host = nl::findLink(sock, spec.hostVeth);
  if (!host) return {fmt::format("host veth {} does not exist", spec.hostVeth)};
  if (!isVeth(host.get())) out.push_back(fmt::format("{} is not a veth", spec.hostVeth));
  const char* alias = rtnl_link_get_ifalias(host.get());
  if (alias == nullptr || spec.alias != alias) {
    out.push_back(fmt::format("host veth {} is not this attachment's: its alias is {}, want {}",
                              spec.hostVeth, alias != nullptr && *alias != '\0' ? alias : "(none)",
                              spec.alias));
  }
  if (static_cast<int>(rtnl_link_get_mtu(host.get())) != spec.mtu) {
    out.push_back(fmt::format("host veth {} mtu is {}, want {}", spec.hostVeth,
                              rtnl_link_get_mtu(host.get()), spec.mtu));
  }
  if ((rtnl_link_get_flags(host.get()) & IFF_UP) == 0U) {
    out.push_back(fmt::format("host veth {} is down", spec.hostVeth));
  }
  const int hostIndex = rtnl_link_get_ifindex(host.get());
  // Without it the pod's default route points at nobody. A /64 is a pod made before the gateway
  // became a /128 (it works as well).
  if (!hasAddress(sock, hostIndex, gatewayBytes(), {128, 64})) {
    out.push_back(
        fmt::format("host veth {} lacks gateway address {}/128", spec.hostVeth, kGateway));
  }
  if (!hasRoute(sock, hostIndex, spec.address, 128, nullptr)) {
    out.push_back(fmt::format("host route {}/128 dev {} is missing", podAddr, spec.hostVeth));
  }

  const NetnsGuard inPod(podNs, nl_socket_get_fd(sock));
  const nl::Socket podSock = nl::openRouteSocket();
  const nl::Link pod = nl::findLink(podSock.get(), spec.ifname);
  if (!pod) {
    out.push_back(fmt::format("interface {} does not exist in netns {}", spec.ifname, spec.netns));
    return out;
  }
  const int podIndex = rtnl_link_get_ifindex(pod.get());
  // Smaller is fine (a chained tuning plugin may lower it); larger breaks the encapsulation.
  if (static_cast<int>(rtnl_link_get_mtu(pod.get())) > spec.mtu) {
    out.push_back(fmt::format("pod interface {} mtu is {}, want at most {}", spec.ifname,
                              rtnl_link_get_mtu(pod.get()), spec.mtu));
  }
  if ((rtnl_link_get_flags(pod.get()) & IFF_UP) == 0U) {
    out.push_back(fmt::format("pod interface {} is down", spec.ifname));
  }
  if (!hasAddress(podSock.get(), podIndex, spec.address, {128})) {
    out.push_back(fmt::format("pod interface {} lacks address {}/128", spec.ifname, podAddr));
  }
  const ipam::Ipv6Addr gw = gatewayBytes();
  if (spec.defaultRoute && !hasRoute(podSock.get(), podIndex, ipam::Ipv6Addr{}, 0, &gw)) {
    out.push_back(fmt::format("pod default route via {} dev {} is missing", kGateway, spec.ifname));
  }
  if (!spec.defaultRoute && !hasRoute(podSock.get(), podIndex, linkLocalPrefix(), 64, nullptr)) {
    out.push_back(fmt::format("pod route fe80::/64 dev {} is missing", spec.ifname));
  }
  return out;
}

namespace {

// The kernel reports a veth's peer namespace by its nsid as seen from ours (IFLA_LINK_NETNSID,
// absent when the peer is in our namespace); a namespace whose last reference is gone (being
// destroyed, taking its devices and so this pair with it) has no nsid any more and shows as -1.
// IFLA_LINK is the peer's ifindex, 0 once the pair is being torn down.
Datapath::HostVeth::Peer peerOf(rtnl_link* link) {
  using Peer = Datapath::HostVeth::Peer;
  std::int32_t nsid = 0;
  if (rtnl_link_get_link_netnsid(link, &nsid) == 0) {
    return nsid < 0 ? Peer::kNetnsGone : Peer::kOtherNetns;
  }
  return rtnl_link_get_link(link) == 0 ? Peer::kNone : Peer::kSameNetns;
}

Datapath::HostVeth hostVethOf(rtnl_link* link) {
  return {rtnl_link_get_name(link), nl::aliasOf(link), peerOf(link)};
}

}  // namespace

std::optional<Datapath::HostVeth> findHostVeth(nl_sock* sock, const std::string& name) {
  if (!isHostVethName(name)) return std::nullopt;
  const nl::Link link = nl::findLink(sock, name);
  if (!link || !isVeth(link.get())) return std::nullopt;
  return hostVethOf(link.get());
}

std::vector<Datapath::HostVeth> listHostVeths(nl_sock* sock) {
  const nl::Objects cache = nl::dumpLinks(sock, "veth");
  std::vector<Datapath::HostVeth> out;
  for (nl_object* o : cache) {
    auto* link = reinterpret_cast<rtnl_link*>(o);
    const char* name = rtnl_link_get_name(link);
    if (name == nullptr || !isHostVethName(name) || !isVeth(link)) continue;
    out.push_back(hostVethOf(link));
  }
  return out;
}

}  // namespace sixrd::tunnel
