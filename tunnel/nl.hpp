// RAII over libnl objects and sockets, and the one place libnl return codes become exceptions.
// Internal to tunnel/: nothing outside this directory includes libnl.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#include "ipam/sixrd_math.hpp"
#include "util/owner.hpp"

namespace sixrd::tunnel::nl {

using util::Put;

using Socket = std::unique_ptr<nl_sock, Put<nl_socket_free>>;
using Link = std::unique_ptr<rtnl_link, Put<rtnl_link_put>>;
using Route = std::unique_ptr<rtnl_route, Put<rtnl_route_put>>;
using Nexthop = std::unique_ptr<rtnl_nexthop, Put<rtnl_route_nh_free>>;
using Address = std::unique_ptr<nl_addr, Put<nl_addr_put>>;
using Object = std::unique_ptr<nl_object, Put<nl_object_put>>;
using Msg = std::unique_ptr<nl_msg, Put<nlmsg_free>>;

// Throws NetlinkError("<op> <object>: <nl_geterror(rc)>") when rc < 0; returns rc otherwise.
int check(int rc, std::string_view op, std::string_view object);

// The same, the object named only on failure: describe() (returning its text) runs only when
// rc < 0, so a call that succeeds formats nothing.
template <class Describe>
requires std::is_invocable_r_v<std::string, Describe&>
int check(int rc, std::string_view op, Describe&& describe) {
  if (rc < 0) [[unlikely]] {
    const std::string object = describe();
    check(rc, op, std::string_view(object));
  }
  return rc;
}

// Whether a request failed because its link does not exist (any more): the kernel answers ENODEV,
// which libnl maps to NLE_NODEV, or, on some paths, NLE_OBJ_NOTFOUND.
inline bool linkGone(int rc) { return rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND; }

// Throws NetlinkError("alloc <what>: out of memory") (NLE_NOMEM): the one out-of-memory path.
[[noreturn]] void outOfMemory(std::string_view what);

// Takes ownership of what a libnl allocator returned; throws through outOfMemory(what) for null.
template <class Owner>
Owner owned(typename Owner::pointer raw, std::string_view what) {
  if (raw == nullptr) outOfMemory(what);
  return Owner(raw);
}

// How alloc<T>() makes a T, and what its out-of-memory error calls it.
template <class Owner>
struct Allocator;
template <>
struct Allocator<Link> {
  static rtnl_link* make() { return rtnl_link_alloc(); }
  static constexpr std::string_view kWhat = "link";
};
template <>
struct Allocator<Route> {
  static rtnl_route* make() { return rtnl_route_alloc(); }
  static constexpr std::string_view kWhat = "route";
};
template <>
struct Allocator<Nexthop> {
  static rtnl_nexthop* make() { return rtnl_route_nh_alloc(); }
  static constexpr std::string_view kWhat = "nexthop";
};

// A new, empty libnl object under its owner: nl::alloc<nl::Link>(), nl::alloc<nl::Route>(), ...
// Throws NetlinkError (NLE_NOMEM) when there is no memory for it.
template <class Owner>
Owner alloc() {
  return owned<Owner>(Allocator<Owner>::make(), Allocator<Owner>::kWhat);
}

// The objects of a reply (links, addresses, routes, rules), one reference held on each; iterating
// yields nl_object*. Not an nl_cache: a libnl cache allocates and clears a hash table of 1024
// buckets or more (8 KiB and up) even for the one object of a single-link reply.
class Objects {
 public:
  class Iterator {
   public:
    explicit Iterator(std::vector<Object>::const_iterator it) : it_(it) {}
    nl_object* operator*() const { return it_->get(); }
    Iterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator==(const Iterator& other) const = default;

   private:
    std::vector<Object>::const_iterator it_;
  };

  Iterator begin() const { return Iterator(items_.begin()); }
  Iterator end() const { return Iterator(items_.end()); }
  // Takes over one reference to `object`.
  void adopt(nl_object* object) { items_.emplace_back(object); }

 private:
  std::vector<Object> items_;
};

// The link's kind as IFLA_INFO_KIND gives it ("veth", "sit"); empty for a link without one.
std::string_view kindOf(rtnl_link* link);
inline bool isKind(rtnl_link* link, std::string_view kind) { return kindOf(link) == kind; }

// A NETLINK_ROUTE socket bound to the network namespace the thread is in *now*. It reads each
// reply once into a buffer of kReplyBuffer bytes: ask only for replies that fit (the functions
// below do; libnl's rtnl_link_get_kernel and rtnl_link_alloc_cache, which ask for VF lists, do
// not).
inline constexpr std::size_t kReplyBuffer = 32768;
// The size of the buffer each request is built in.
inline constexpr std::size_t kRequestBuffer = 1024;
Socket openRouteSocket();

// The link called `name`, or nullptr when there is none. One RTM_GETLINK, no dump, no VF list.
Link findLink(nl_sock* sock, std::string_view name);
// Same, throwing NetlinkError when it does not exist.
Link getLink(nl_sock* sock, std::string_view name);
// What sixrd reads of a link on the pod path, taken straight from the RTM_GETLINK reply: no libnl
// object (libnl parses every attribute of a link into one, about 12,000 instructions; this reads
// six).
struct LinkBrief {
  int ifindex = 0;
  std::string name;
  unsigned flags = 0;  // ifi_flags: IFF_UP, ...
  unsigned mtu = 0;
  unsigned operstate = 0;              // IF_OPER_*
  std::array<unsigned char, 6> mac{};  // valid when hasMac
  bool hasMac = false;
  std::string alias;  // IFLA_IFALIAS, empty when none
  std::string kind;   // IFLA_INFO_KIND, empty when none
  // A sit device's tunnel settings (IFLA_INFO_DATA of kind "sit"); an attribute the reply lacks
  // reads as 0, as libnl's rtnl_link_sit_get_* read it.
  struct Sit {
    std::uint32_t local = 0;   // IFLA_IPTUN_LOCAL, network order
    std::uint32_t remote = 0;  // IFLA_IPTUN_REMOTE, network order
    std::uint8_t ttl = 0;
    std::uint8_t pmtudisc = 0;
    std::uint32_t link = 0;   // IFLA_IPTUN_LINK: the underlying link's ifindex, 0 for none
    ipam::Ipv6Addr prefix{};  // IFLA_IPTUN_6RD_PREFIX
    std::uint16_t prefixLen = 0;
    std::uint32_t relayPrefix = 0;  // IFLA_IPTUN_6RD_RELAY_PREFIX, network order
    std::uint16_t relayPrefixLen = 0;
  };
  std::optional<Sit> sit;  // set when kind is "sit"
};
// The brief of the link called `name`, or nullopt when there is none.
std::optional<LinkBrief> findLinkBrief(nl_sock* sock, std::string_view name);
// Same, throwing NetlinkError when it does not exist.
LinkBrief getLinkBrief(nl_sock* sock, std::string_view name);
// The brief of the link with this ifindex; throws NetlinkError when there is none.
LinkBrief linkBriefByIndex(nl_sock* sock, int ifindex);
// "aa:bb:cc:dd:ee:ff", empty when the link has no 6-byte address.
std::string macOf(const LinkBrief& link);

// Every link (of one kind, e.g. "sit", when given and known to the kernel; check each link's kind
// all the same), without VF lists.
Objects dumpLinks(nl_sock* sock, const std::string& kind = {});
// IFLA_IFALIAS, empty when the link has none.
std::string aliasOf(rtnl_link* link);

// net.ipv6.conf.all.forwarding as RTM_GETNETCONF reports it: one request whose cost does not
// follow the number of links or namespaces on the node, as a lookup under /proc/sys does. nullopt
// when the kernel does not answer it (the caller then reads the sysctl).
std::optional<bool> ipv6Forwarding(nl_sock* sock);

// Owned nl_addr values.
Address ipv6(const ipam::Ipv6Addr& addr, int prefixLen);

// nl_addr -> text / raw bytes.
std::string format(const nl_addr* addr);

// libnl's rtnl_link_add, rtnl_link_change, rtnl_link_delete, rtnl_addr_delete, ... with the same
// arguments and return codes (0, or libnl's negative error code): the request built by libnl, its
// ack read by sixrd's own reader (one buffer for the process, no callback set cloned per request).
// Every change on a socket from openRouteSocket goes through these: libnl's own senders would
// read with libnl's reader, whose sequence bookkeeping this socket does not keep.
int addLink(nl_sock* sock, rtnl_link* link, int flags);
int changeLink(nl_sock* sock, rtnl_link* orig, rtnl_link* changes, int flags);
int deleteLink(nl_sock* sock, rtnl_link* link);
int deleteAddr(nl_sock* sock, rtnl_addr* addr, int flags);
int addRoute(nl_sock* sock, rtnl_route* route, int flags);
int deleteRoute(nl_sock* sock, rtnl_route* route, int flags);
int addRule(nl_sock* sock, rtnl_rule* rule, int flags);
int deleteRule(nl_sock* sock, rtnl_rule* rule, int flags);

// A request sixrd builds itself with libnl's message API (nlmsg_put, nlmsg_append, nla_put,
// nla_nest_start): the gets and dumps below and the changes of requests.hpp. It is built in one
// buffer kept for the thread and reused by every request, where nlmsg_alloc_simple allocates,
// clears and frees one each time (a tenth of an ADD's instructions); a request made while another
// is alive gets a buffer of its own. A put that does not fit kRequestBuffer throws NetlinkError
// ("build <what>"), as every build failure does.
class Request {
 public:
  Request(int type, int flags, const void* header, std::size_t len, std::string_view what);
  ~Request();
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  void put(int type, const void* data, std::size_t len);
  void putU8(int type, std::uint8_t value) { put(type, &value, sizeof value); }
  void putU32(int type, std::uint32_t value) { put(type, &value, sizeof value); }
  void putString(int type, std::string_view text);  // NUL-terminated, as IFLA_IFNAME wants
  // A nested attribute: nest() opens it, end() closes it.
  nlattr* nest(int type);
  void end(nlattr* start);
  // Appends a header inside the message (a veth peer's ifinfomsg, inside VETH_INFO_PEER).
  void append(const void* data, std::size_t len);
  [[nodiscard]] nl_msg* msg() const { return msg_; }

 private:
  nl_msg* msg_ = nullptr;
  Msg own_;  // the buffer of a request made while the thread's was in use
  std::string_view what_;
};

// Completed by libnl (port, sequence number, NLM_F_REQUEST, NLM_F_ACK), sent, and its ack read as
// the functions above read theirs.
int sendAcked(nl_sock* sock, Request& request);

// Dumps filtered in the kernel (NETLINK_GET_STRICT_CHK): the addresses of one family on one link
// (ifindex 0: on every link),
// the routes of one family through one output link (oif 0: every route of the family) and, with
// a table, of that table only (none when the table does not exist). Their cost follows that link
// or table, not the number of pods on the node.
Objects dumpAddresses(nl_sock* sock, int family, int ifindex);
Objects dumpRoutes(nl_sock* sock, int family, int oif, std::uint32_t table = 0);
// The policy rules of one family with priority `priority` (libnl's own rule dump sends a header
// strict checking refuses). The kernel sends every rule of the family; only those of the priority
// become libnl objects (the node's own rules, local, main and default, are only looked at).
Objects dumpRules(nl_sock* sock, int family, std::uint32_t priority);

// One IPv4 address as RTM_GETADDR reports it.
struct Ipv4AddressBrief {
  int ifindex = 0;
  std::uint32_t local = 0;  // host byte order: IFA_LOCAL, else IFA_ADDRESS
  unsigned prefixLen = 0;
  std::uint32_t flags = 0;  // IFA_F_*: IFA_FLAGS when present, else ifa_flags
  std::string label;        // IFA_LABEL: the link's name, or "eth0:vip" for an aliased address
};
// The IPv4 addresses of link ifindex, or with 0 of every link of the socket's namespace, read
// from the reply as it is (nlmsg_parse, no libnl address objects). For every link the kernel walks
// them all, about 0.9 us a link under emulation; for one (strict checking) it looks that one up.
std::vector<Ipv4AddressBrief> dumpIpv4Addresses(nl_sock* sock, int ifindex = 0);

}  // namespace sixrd::tunnel::nl
