// The changes on ADD's and DEL's path as requests sixrd builds itself (nl::Request: libnl's
// message API, nla_put and nla_nest_start, in a buffer reused from request to request) and acks
// through nl.cpp's reader, not as rtnl_* objects filled first and serialised by libnl's
// rtnl_*_build_*_request: per request that took more instructions than sending it and reading the
// kernel's ack (allocating, filling and freeing the object and its address objects, libnl's walk
// over every address family's hooks). Each asks the kernel for what libnl's builder asked for the
// same object (the netns tests check the result), and returns what nl::addLink & co. return: 0,
// or libnl's negative error code (-NLE_EXIST, ...).
// Internal to tunnel/.
#pragma once

#include <netlink/netlink.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ipam/sixrd_math.hpp"

namespace sixrd::tunnel::nl {

using Mac = std::array<unsigned char, 6>;

// RTM_NEWLINK creating a veth pair: `host` here, its peer `peer` born in the namespace of
// `peerNetnsFd`, both with `mtu`. `flags`: NLM_F_CREATE | NLM_F_EXCL.
int addVethPair(nl_sock* sock, const std::string& host, const std::string& peer, unsigned mtu,
                int peerNetnsFd, int flags);

// What a change of an existing link sets (bits of `set` below); the rest is left as it is.
inline constexpr unsigned kSetUp = 1U;               // IFF_UP
inline constexpr unsigned kSetAddrGenModeNone = 2U;  // no auto-generated IPv6 link-local
// RTM_NEWLINK changing the link with `ifindex`, or the link called `name` when ifindex is 0: what
// `set` names, and the alias when `alias` is not empty.
int setLink(nl_sock* sock, int ifindex, std::string_view name, unsigned set,
            std::string_view alias = {});
// RTM_DELLINK of the link with `ifindex`.
int deleteLinkByIndex(nl_sock* sock, int ifindex);

// RTM_NEWADDR: `addr`/`prefixLen` on `ifindex` with IFA_F_NODAD and `addrFlags` (IFA_F_*),
// NLM_F_CREATE | NLM_F_EXCL: -NLE_EXIST when it is there.
int addIpv6Address(nl_sock* sock, int ifindex, const ipam::Ipv6Addr& addr, int prefixLen,
                   std::uint32_t addrFlags);
// RTM_NEWROUTE in the main table, protocol static: `dst`/`len` out of `ifindex` (0: none, as an
// unreachable route has), via `gateway` when given, of `type` (RTN_UNICAST, RTN_UNREACHABLE).
// NLM_F_CREATE | NLM_F_EXCL.
int addIpv6Route(nl_sock* sock, const ipam::Ipv6Addr& dst, int len, int ifindex,
                 const ipam::Ipv6Addr* gateway, unsigned char type);
// RTM_NEWNEIGH: `ip` at `mac` on `ifindex`, NUD_PERMANENT, created or replaced.
// Without `mac` (a link without a hardware address) the entry carries none.
int addPermanentNeighbour(nl_sock* sock, int ifindex, const ipam::Ipv6Addr& ip, const Mac* mac);

}  // namespace sixrd::tunnel::nl
