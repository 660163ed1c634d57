#include "tunnel/requests.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <cstring>

#include "tunnel/nl.hpp"

namespace sixrd::tunnel::nl {

namespace {

// One transmit and one receive queue, asked for when the device is made. Without them the kernel
// allocates a veth end one queue of each per possible CPU and at once cuts the real number to one
// (veth_init_queues): sysfs directories made and removed again for every queue past the first,
// and each cut waits out an expedited RCU grace period (netif_set_real_num_tx_queues), twice a
// pair. The pair ends up with one queue of each either way.
void putSingleQueue(Request& r) {
  r.putU32(IFLA_NUM_TX_QUEUES, 1);
  r.putU32(IFLA_NUM_RX_QUEUES, 1);
}

}  // namespace

int addVethPair(nl_sock* sock, const std::string& host, const std::string& peer, unsigned mtu,
                int peerNetnsFd, int flags) {
  const ifinfomsg ifi{};
  Request r(RTM_NEWLINK, flags, &ifi, sizeof ifi, "veth pair");
  r.putString(IFLA_IFNAME, host);
  r.putU32(IFLA_MTU, mtu);
  putSingleQueue(r);
  nlattr* info = r.nest(IFLA_LINKINFO);
  r.putString(IFLA_INFO_KIND, "veth");
  nlattr* data = r.nest(IFLA_INFO_DATA);
  nlattr* peerInfo = r.nest(VETH_INFO_PEER);
  r.append(&ifi, sizeof ifi);
  r.putString(IFLA_IFNAME, peer);
  r.putU32(IFLA_MTU, mtu);
  putSingleQueue(r);
  r.putU32(IFLA_NET_NS_FD, static_cast<std::uint32_t>(peerNetnsFd));
  r.end(peerInfo);
  r.end(data);
  r.end(info);
  return sendAcked(sock, r);
}

int setLink(nl_sock* sock, int ifindex, std::string_view name, unsigned set,
            std::string_view alias) {
  ifinfomsg ifi{};
  ifi.ifi_index = ifindex;
  if ((set & kSetUp) != 0U) {
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
  }
  Request r(RTM_NEWLINK, 0, &ifi, sizeof ifi, "link change");
  if (ifindex == 0) r.putString(IFLA_IFNAME, name);
  if (!alias.empty()) r.putString(IFLA_IFALIAS, alias);
  if ((set & kSetAddrGenModeNone) != 0U) {
    nlattr* spec = r.nest(IFLA_AF_SPEC);
    nlattr* inet6 = r.nest(AF_INET6);
    r.putU8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    r.end(inet6);
    r.end(spec);
  }
  return sendAcked(sock, r);
}

int deleteLinkByIndex(nl_sock* sock, int ifindex) {
  ifinfomsg ifi{};
  ifi.ifi_index = ifindex;
  Request r(RTM_DELLINK, 0, &ifi, sizeof ifi, "link delete");
  return sendAcked(sock, r);
}

int addIpv6Address(nl_sock* sock, int ifindex, const ipam::Ipv6Addr& addr, int prefixLen,
                   std::uint32_t addrFlags) {
  const std::uint32_t flags = IFA_F_NODAD | addrFlags;
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET6;
  ifa.ifa_prefixlen = static_cast<unsigned char>(prefixLen);
  ifa.ifa_flags = static_cast<unsigned char>(flags & 0xffU);
  ifa.ifa_index = static_cast<unsigned>(ifindex);
  Request r(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa, "address");
  r.put(IFA_LOCAL, addr.data(), addr.size());
  // The flags past the first eight (IFA_F_NOPREFIXROUTE) live only here (Linux 3.14 and later).
  r.putU32(IFA_FLAGS, flags);
  return sendAcked(sock, r);
}

int addIpv6Route(nl_sock* sock, const ipam::Ipv6Addr& dst, int len, int ifindex,
                 const ipam::Ipv6Addr* gateway, unsigned char type) {
  rtmsg rtm{};
  rtm.rtm_family = AF_INET6;
  rtm.rtm_dst_len = static_cast<unsigned char>(len);
  rtm.rtm_table = RT_TABLE_MAIN;
  rtm.rtm_protocol = RTPROT_STATIC;
  rtm.rtm_scope = RT_SCOPE_UNIVERSE;
  rtm.rtm_type = type;
  Request r(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof rtm, "route");
  r.putU32(RTA_TABLE, RT_TABLE_MAIN);
  if (len > 0) r.put(RTA_DST, dst.data(), dst.size());
  if (ifindex != 0) r.putU32(RTA_OIF, static_cast<std::uint32_t>(ifindex));
  if (gateway != nullptr) r.put(RTA_GATEWAY, gateway->data(), gateway->size());
  return sendAcked(sock, r);
}

int addPermanentNeighbour(nl_sock* sock, int ifindex, const ipam::Ipv6Addr& ip, const Mac* mac) {
  ndmsg ndm{};
  ndm.ndm_family = AF_INET6;
  ndm.ndm_ifindex = ifindex;
  ndm.ndm_state = NUD_PERMANENT;
  Request r(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &ndm, sizeof ndm, "neighbour");
  r.put(NDA_DST, ip.data(), ip.size());
  if (mac != nullptr) r.put(NDA_LLADDR, mac->data(), mac->size());
  return sendAcked(sock, r);
}

}  // namespace sixrd::tunnel::nl
