#include "tunnel/nl.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_tunnel.h>
#include <linux/netconf.h>
#include <netlink/errno.h>
#include <netlink/route/link.h>
#include <netlink/route/rule.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>

#include "tunnel/datapath.hpp"

namespace sixrd::tunnel::nl {

int check(int rc, std::string_view op, std::string_view object) {
  if (rc < 0) {
    throw NetlinkError(std::string(op), std::string(object), -rc,
                       fmt::format("{} {}: {}", op, object, nl_geterror(rc)));
  }
  return rc;
}

void outOfMemory(std::string_view what) {
  throw NetlinkError("alloc", std::string(what), NLE_NOMEM,
                     fmt::format("alloc {}: out of memory", what));
}

std::string_view kindOf(rtnl_link* link) {
  const char* kind = rtnl_link_get_type(link);
  return kind != nullptr ? std::string_view(kind) : std::string_view();
}

namespace {

// What a read of one request's reply waits for: the ack of a change, the single message a get is
// answered with (the get is sent without NLM_F_ACK), or the NLMSG_DONE that ends a dump. An
// NLMSG_ERROR carrying an error ends each of them.
enum class Until { kAck, kReply, kDone };

// The buffer every read goes into, allocated once per thread and kept (kReplyBuffer bytes), where
// libnl allocates and frees one for every datagram.
unsigned char* replyBuffer() {
  thread_local const std::unique_ptr<unsigned char[]> buffer =
      std::make_unique_for_overwrite<unsigned char[]>(kReplyBuffer);
  return buffer.get();
}

// The nl_msg a message is copied into to be parsed, kept likewise: libnl makes a fresh one (two
// cleared allocations) for every message it reads. kParseBuffer holds any single message sixrd
// asks for (a link without its VF list is under 2 KiB); a larger one gets an nl_msg of its own.
constexpr std::size_t kParseBuffer = 4096;

nl_msg* parseBuffer() {
  thread_local const Msg msg = [] {
    Msg m(nlmsg_alloc_size(kParseBuffer));
    if (m) nlmsg_set_proto(m.get(), NETLINK_ROUTE);
    return m;
  }();
  return msg.get();
}

// The buffer requests are built in, kept for the thread, and whether a Request holds it now.
struct RequestBuffer {
  Msg msg;
  bool busy = false;
};

RequestBuffer& requestBuffer() {
  thread_local RequestBuffer buffer{Msg(nlmsg_alloc_size(kRequestBuffer))};
  return buffer;
}

// Parses one message (of a datagram that fit kReplyBuffer) into libnl objects appended to `into`,
// as libnl's reader does. A message of a type libnl has no parser for is skipped.
int parseInto(const nlmsghdr* hdr, Objects& into) {
  Msg own;
  nl_msg* msg = nullptr;
  if (hdr->nlmsg_len <= kParseBuffer) {
    msg = parseBuffer();
    if (msg == nullptr) return -NLE_NOMEM;
    std::memcpy(nlmsg_hdr(msg), hdr, hdr->nlmsg_len);
  } else {
    own.reset(nlmsg_convert(const_cast<nlmsghdr*>(hdr)));
    if (!own) return -NLE_NOMEM;
    nlmsg_set_proto(own.get(), NETLINK_ROUTE);
    msg = own.get();
  }
  struct Into {
    Objects* out;
    bool failed = false;
  } target{&into};
  // A C callback: nothing may throw through libnl, so a failed append drops the object and fails
  // the read with NLE_NOMEM.
  const int rc = nl_msg_parse(
      msg,
      [](nl_object* object, void* arg) {
        auto* t = static_cast<Into*>(arg);
        nl_object_get(object);
        try {
          t->out->adopt(object);
        } catch (...) {
          nl_object_put(object);
          t->failed = true;
        }
      },
      &target);
  if (target.failed) return -NLE_NOMEM;
  // NLE_MSGTYPE_NOSUPPORT: a message libnl has no parser for, which sixrd does not ask for.
  return rc < 0 && rc != -NLE_MSGTYPE_NOSUPPORT ? rc : 0;
}

// A visitor that parses every message into `objects`.
auto into(Objects& objects) {
  return [&objects](const nlmsghdr* hdr) { return parseInto(hdr, objects); };
}

// Each message of a reply that is not an ack, an error or NLMSG_DONE; returns 0 or libnl's error
// code (which fails the read, whose rest is still drained).
using Visit = std::function<int(const nlmsghdr*)>;

// Reads the reply to the request sent with sequence number `seq` until what `until` names has
// come, handing every other message to `visit` when given. Returns 0, or libnl's error code: the
// kernel's refusal (an NLMSG_ERROR, or an NLMSG_DONE carrying an error), a message of another
// sequence, a datagram cut short, an interrupted dump. The rest of a reply that failed part-way is
// still read, so the socket is left clean for the next request.
//
// sixrd's own reader, not nl_recvmsgs: one buffer for every datagram, each message parsed in
// place, and no callback set cloned to wait for an ack. Every request on a socket from
// openRouteSocket is read here; libnl's own readers (and its sequence bookkeeping) are never used
// on it.
int receive(nl_sock* sock, std::uint32_t seq, Until until, const Visit& visit) {
  unsigned char* buffer = replyBuffer();
  int failure = 0;
  bool interrupted = false;
  for (;;) {
    iovec iov{buffer, kReplyBuffer};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    const ssize_t got = recvmsg(nl_socket_get_fd(sock), &mh, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -nl_syserr2nlerr(errno);
    }
    if ((mh.msg_flags & MSG_TRUNC) != 0) return -NLE_MSG_TRUNC;
    int left = static_cast<int>(got);
    for (auto* hdr = reinterpret_cast<nlmsghdr*>(buffer); nlmsg_ok(hdr, left);
         hdr = nlmsg_next(hdr, &left)) {
      if (hdr->nlmsg_seq != seq) return -NLE_SEQ_MISMATCH;
      if ((hdr->nlmsg_flags & NLM_F_DUMP_INTR) != 0) interrupted = true;
      switch (hdr->nlmsg_type) {
        case NLMSG_NOOP:
          continue;
        case NLMSG_OVERRUN:
          return -NLE_MSG_OVERFLOW;
        case NLMSG_DONE:
        case NLMSG_ERROR: {
          int error = 0;
          if (nlmsg_datalen(hdr) >= static_cast<int>(sizeof error)) {
            std::memcpy(&error, nlmsg_data(hdr), sizeof error);
          } else if (hdr->nlmsg_type == NLMSG_ERROR) {
            return -NLE_MSG_TRUNC;
          }
          if (error < 0 && failure == 0) failure = -nl_syserr2nlerr(-error);
          // An ack (error 0) ends a change; a get or a dump it does not end.
          if (hdr->nlmsg_type == NLMSG_ERROR && error == 0 && until != Until::kAck) continue;
          if (failure == 0 && interrupted) failure = -NLE_DUMP_INTR;
          return failure;
        }
        default:
          if (visit && failure == 0) failure = visit(hdr);
          if (until == Until::kReply) return failure;
      }
    }
  }
}

// Sends `msg` (completed by libnl: port, sequence number, NLM_F_REQUEST, NLM_F_ACK) and reads its
// reply. A get or a dump goes without NLM_F_ACK: its answer (a message, or messages up to
// NLMSG_DONE), or the error sent in its place, is all the kernel sends back.
int transact(nl_sock* sock, nl_msg* msg, Until until, const Visit& visit = {}) {
  nl_complete_msg(sock, msg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  if (until != Until::kAck) hdr->nlmsg_flags &= ~static_cast<std::uint16_t>(NLM_F_ACK);
  const int sent = nl_send(sock, msg);
  if (sent < 0) return sent;
  return receive(sock, hdr->nlmsg_seq, until, visit);
}

// A request libnl builds through build(&msg) (one of its rtnl_*_build_*_request functions), sent
// and its ack read.
template <class Build>
int acked(nl_sock* sock, Build build) {
  nl_msg* raw = nullptr;
  const int built = build(&raw);
  const Msg msg(raw);
  if (built < 0) return built;
  return transact(sock, msg.get(), Until::kAck);
}

// The first object of libnl type `type` ("route/link", ...) in `reply`, or nullptr.
nl_object* firstOf(const Objects& reply, std::string_view type) {
  for (nl_object* object : reply) {
    if (std::string_view(nl_object_get_type(object)) == type) return object;
  }
  return nullptr;
}

}  // namespace

Request::Request(int type, int flags, const void* header, std::size_t len, std::string_view what)
    : what_(what) {
  RequestBuffer& shared = requestBuffer();
  if (!shared.busy && shared.msg) {
    // Emptied to its header, which nlmsg_put rewrites; every byte put after it is written (and
    // padded) by the put that makes it, as in a fresh buffer.
    msg_ = shared.msg.get();
    nlmsg_hdr(msg_)->nlmsg_len = NLMSG_HDRLEN;
  } else {
    own_ = owned<Msg>(nlmsg_alloc_size(kRequestBuffer), "message");
    msg_ = own_.get();
  }
  // NL_AUTO_PORT and NL_AUTO_SEQ: nl_complete_msg fills them in, as for nlmsg_alloc_simple's.
  if (nlmsg_put(msg_, NL_AUTO_PORT, NL_AUTO_SEQ, type, 0, flags) == nullptr) outOfMemory(what_);
  append(header, len);
  // Only now, so that a constructor that threw (no destructor runs) leaves the buffer free.
  if (!own_) shared.busy = true;
}

Request::~Request() {
  if (!own_) requestBuffer().busy = false;
}

void Request::put(int type, const void* data, std::size_t len) {
  check(nla_put(msg_, type, static_cast<int>(len), data), "build", what_);
}

void Request::putString(int type, std::string_view text) {
  nlattr* attr = nla_reserve(msg_, type, static_cast<int>(text.size() + 1));
  if (attr == nullptr) outOfMemory(what_);
  auto* out = static_cast<char*>(nla_data(attr));
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
}

nlattr* Request::nest(int type) {
  nlattr* start = nla_nest_start(msg_, type);
  if (start == nullptr) outOfMemory(what_);
  return start;
}

void Request::end(nlattr* start) { nla_nest_end(msg_, start); }

void Request::append(const void* data, std::size_t len) {
  check(nlmsg_append(msg_, const_cast<void*>(data), len, NLMSG_ALIGNTO), "build", what_);
}

int sendAcked(nl_sock* sock, Request& request) {
  return transact(sock, request.msg(), Until::kAck);
}

int addLink(nl_sock* sock, rtnl_link* link, int flags) {
  return acked(sock, [&](nl_msg** msg) { return rtnl_link_build_add_request(link, flags, msg); });
}

int changeLink(nl_sock* sock, rtnl_link* orig, rtnl_link* changes, int flags) {
  nl_msg* raw = nullptr;
  const int built = rtnl_link_build_change_request(orig, changes, flags, &raw);
  const Msg msg(raw);
  if (built < 0) return built;
  int rc = transact(sock, msg.get(), Until::kAck);
  // As libnl's rtnl_link_change: a kernel that cannot change a link with RTM_NEWLINK is asked
  // again with RTM_SETLINK.
  if (rc == -NLE_OPNOTSUPP && nlmsg_hdr(msg.get())->nlmsg_type == RTM_NEWLINK) {
    nlmsg_hdr(msg.get())->nlmsg_type = RTM_SETLINK;
    nlmsg_hdr(msg.get())->nlmsg_seq = NL_AUTO_SEQ;
    rc = transact(sock, msg.get(), Until::kAck);
  }
  return rc;
}

int deleteLink(nl_sock* sock, rtnl_link* link) {
  return acked(sock, [&](nl_msg** msg) { return rtnl_link_build_delete_request(link, msg); });
}

int deleteAddr(nl_sock* sock, rtnl_addr* addr, int flags) {
  return acked(sock,
               [&](nl_msg** msg) { return rtnl_addr_build_delete_request(addr, flags, msg); });
}

int addRoute(nl_sock* sock, rtnl_route* route, int flags) {
  return acked(sock, [&](nl_msg** msg) { return rtnl_route_build_add_request(route, flags, msg); });
}

int deleteRoute(nl_sock* sock, rtnl_route* route, int flags) {
  return acked(sock, [&](nl_msg** msg) { return rtnl_route_build_del_request(route, flags, msg); });
}

int addRule(nl_sock* sock, rtnl_rule* rule, int flags) {
  return acked(sock, [&](nl_msg** msg) { return rtnl_rule_build_add_request(rule, flags, msg); });
}

int deleteRule(nl_sock* sock, rtnl_rule* rule, int flags) {
  return acked(sock,
               [&](nl_msg** msg) { return rtnl_rule_build_delete_request(rule, flags, msg); });
}

Socket openRouteSocket() {
  auto sock = owned<Socket>(nl_socket_alloc(), "netlink socket");
  check(nl_connect(sock.get(), NETLINK_ROUTE), "connect", "NETLINK_ROUTE socket");
  // Each reply is read once into a buffer of kReplyBuffer bytes, not peeked at first (MSG_PEEK)
  // to size one: libnl's default costs a second recvmsg per datagram. Every reply sixrd asks for
  // fits: acks, single links asked for without their VF list (findLink, findLinkBrief), and dump
  // chunks, which the kernel cuts to the reader's buffer (at most 32 KiB). libnl's own link
  // requests (rtnl_link_get_kernel, rtnl_link_alloc_cache) ask for the VF list, which can outgrow
  // any buffer on an SR-IOV NIC: sixrd does not use them.
  nl_socket_disable_msg_peek(sock.get());
  // Requests are built in buffers of this size, which libnl clears first (calloc): its default, a
  // page, cost every request a 4 KiB memset. sixrd's largest request, a link change carrying an
  // alias (at most 256 bytes), fits several times over; a request that would not fit fails
  // with "out of memory" rather than being cut.
  nlmsg_set_default_size(kRequestBuffer);
  check(nl_socket_set_msg_buf_size(sock.get(), kReplyBuffer), "configure", "netlink socket");
  // Strict checking from the start, for every request alike: the kernel filters dumps by their
  // header and attributes (without it, it ignores them and dumps everything) and refuses a
  // malformed request instead of guessing. Turned on by the first dump instead, it made a request
  // sent earlier on the socket behave otherwise than the same request sent later.
  const int on = 1;
  if (setsockopt(nl_socket_get_fd(sock.get()), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on,
                 sizeof on) != 0) {
    throw NetlinkError(
        "configure", "netlink socket", NLE_OPNOTSUPP,
        fmt::format("netlink socket: NETLINK_GET_STRICT_CHK (Linux 4.20 or later): {}",
                    std::strerror(errno)));
  }
  return sock;
}

namespace {

// RTM_GETLINK for one link (by ifindex, or by name when ifindex is 0), its reply handed to
// `visit`. False when there is no such link; other failures throw. IFLA_EXT_MASK asks for no VF
// list (which can outgrow any buffer on an SR-IOV NIC) and no statistics:
// RTEXT_FILTER_SKIP_STATS leaves out the IPv6 and ICMPv6 counters, which the kernel sums over
// every CPU and which sixrd never reads (a third of the reply for a veth).
bool getOneLink(nl_sock* sock, int ifindex, const std::string& name, const std::string& what,
                const Visit& visit) {
  ifinfomsg ifi{};
  ifi.ifi_index = ifindex;
  Request request(RTM_GETLINK, 0, &ifi, sizeof ifi, what);
  if (!name.empty()) request.putString(IFLA_IFNAME, name);
  request.putU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  const int rc = transact(sock, request.msg(), Until::kReply, visit);
  if (linkGone(rc)) return false;
  check(rc, "get link", what);
  return true;
}

// The link as a libnl object (every attribute parsed).
Link requestLink(nl_sock* sock, int ifindex, const std::string& name, const std::string& what) {
  Objects reply;
  if (!getOneLink(sock, ifindex, name, what, into(reply))) return nullptr;
  nl_object* link = firstOf(reply, "route/link");
  if (link == nullptr) return nullptr;
  nl_object_get(link);
  return Link(reinterpret_cast<rtnl_link*>(link));
}

std::string attrString(const nlattr* attr) {
  const auto* text = static_cast<const char*>(nla_data(attr));
  return {text, strnlen(text, static_cast<std::size_t>(nla_len(attr)))};
}

// `attr` copied into `out` when it is there and long enough; otherwise `out` stays as it is.
template <class T>
void readAttr(const nlattr* attr, T& out) {
  if (attr != nullptr && nla_len(attr) >= static_cast<int>(sizeof out)) {
    std::memcpy(&out, nla_data(attr), sizeof out);
  }
}

// A sit device's IFLA_INFO_DATA (null: none) read into LinkBrief::Sit.
LinkBrief::Sit sitSettings(const nlattr* data) {
  LinkBrief::Sit sit;
  if (data == nullptr) return sit;
  std::array<nlattr*, IFLA_IPTUN_MAX + 1> tb{};
  // No policy: readAttr checks each attribute's length where it is read.
  if (nla_parse_nested(tb.data(), IFLA_IPTUN_MAX, const_cast<nlattr*>(data), nullptr) != 0) {
    return sit;
  }
  readAttr(tb[IFLA_IPTUN_LOCAL], sit.local);
  readAttr(tb[IFLA_IPTUN_REMOTE], sit.remote);
  readAttr(tb[IFLA_IPTUN_TTL], sit.ttl);
  readAttr(tb[IFLA_IPTUN_PMTUDISC], sit.pmtudisc);
  readAttr(tb[IFLA_IPTUN_LINK], sit.link);
  readAttr(tb[IFLA_IPTUN_6RD_PREFIX], sit.prefix);
  readAttr(tb[IFLA_IPTUN_6RD_PREFIXLEN], sit.prefixLen);
  readAttr(tb[IFLA_IPTUN_6RD_RELAY_PREFIX], sit.relayPrefix);
  readAttr(tb[IFLA_IPTUN_6RD_RELAY_PREFIXLEN], sit.relayPrefixLen);
  return sit;
}

// The link read into a LinkBrief; nullopt when there is none.
std::optional<LinkBrief> requestBrief(nl_sock* sock, int ifindex, const std::string& name,
                                      const std::string& what) {
  std::optional<LinkBrief> out;
  const bool found = getOneLink(sock, ifindex, name, what, [&out](const nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWLINK || !nlmsg_valid_hdr(hdr, sizeof(ifinfomsg))) return 0;
    std::array<nlattr*, IFLA_MAX + 1> tb{};
    // No policy: each attribute's length is checked below, where it is read.
    const int parsed =
        nlmsg_parse(const_cast<nlmsghdr*>(hdr), sizeof(ifinfomsg), tb.data(), IFLA_MAX, nullptr);
    if (parsed < 0) return parsed;
    LinkBrief link;
    link.ifindex = static_cast<const ifinfomsg*>(nlmsg_data(hdr))->ifi_index;
    link.flags = static_cast<const ifinfomsg*>(nlmsg_data(hdr))->ifi_flags;
    if (tb[IFLA_IFNAME] != nullptr) link.name = attrString(tb[IFLA_IFNAME]);
    if (tb[IFLA_MTU] != nullptr && nla_len(tb[IFLA_MTU]) >= 4) link.mtu = nla_get_u32(tb[IFLA_MTU]);
    if (tb[IFLA_OPERSTATE] != nullptr && nla_len(tb[IFLA_OPERSTATE]) >= 1) {
      link.operstate = nla_get_u8(tb[IFLA_OPERSTATE]);
    }
    if (tb[IFLA_ADDRESS] != nullptr && nla_len(tb[IFLA_ADDRESS]) == 6) {
      std::memcpy(link.mac.data(), nla_data(tb[IFLA_ADDRESS]), 6);
      link.hasMac = true;
    }
    if (tb[IFLA_IFALIAS] != nullptr) link.alias = attrString(tb[IFLA_IFALIAS]);
    if (tb[IFLA_LINKINFO] != nullptr) {
      std::array<nlattr*, IFLA_INFO_MAX + 1> info{};
      if (nla_parse_nested(info.data(), IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) == 0 &&
          info[IFLA_INFO_KIND] != nullptr) {
        link.kind = attrString(info[IFLA_INFO_KIND]);
        if (link.kind == "sit") link.sit = sitSettings(info[IFLA_INFO_DATA]);
      }
    }
    out = std::move(link);
    return 0;
  });
  return found ? std::move(out) : std::nullopt;
}

}  // namespace

std::optional<LinkBrief> findLinkBrief(nl_sock* sock, std::string_view name) {
  const std::string n(name);
  return requestBrief(sock, 0, n, n);
}

LinkBrief getLinkBrief(nl_sock* sock, std::string_view name) {
  std::optional<LinkBrief> link = findLinkBrief(sock, name);
  if (!link) {
    throw NetlinkError("get link", std::string(name), NLE_OBJ_NOTFOUND,
                       fmt::format("get link {}: no such device", name));
  }
  return std::move(*link);
}

LinkBrief linkBriefByIndex(nl_sock* sock, int ifindex) {
  const std::string what = fmt::format("ifindex {}", ifindex);
  std::optional<LinkBrief> link = requestBrief(sock, ifindex, {}, what);
  if (!link) {
    throw NetlinkError("get link", what, NLE_OBJ_NOTFOUND,
                       fmt::format("get link {}: no such device", what));
  }
  return std::move(*link);
}

std::string macOf(const LinkBrief& link) {
  if (!link.hasMac) return {};
  constexpr char kHex[] = "0123456789abcdef";
  std::string text(17, ':');
  for (std::size_t i = 0; i < link.mac.size(); ++i) {
    text[3 * i] = kHex[link.mac[i] >> 4];
    text[3 * i + 1] = kHex[link.mac[i] & 0xf];
  }
  return text;
}

Link findLink(nl_sock* sock, std::string_view name) {
  const std::string n(name);
  return requestLink(sock, 0, n, n);
}

std::string aliasOf(rtnl_link* link) {
  const char* alias = rtnl_link_get_ifalias(link);
  return alias != nullptr ? alias : "";
}

std::optional<bool> ipv6Forwarding(nl_sock* sock) {
  netconfmsg ncm{};
  ncm.ncm_family = AF_INET6;
  Request request(RTM_GETNETCONF, 0, &ncm, sizeof ncm, "netconf request");
  request.putU32(NETCONFA_IFINDEX, static_cast<std::uint32_t>(NETCONFA_IFINDEX_ALL));
  // Read from the reply as it is (no libnl netconf object).
  std::optional<bool> forwarding;
  const int rc = transact(sock, request.msg(), Until::kReply, [&forwarding](const nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWNETCONF || !nlmsg_valid_hdr(hdr, sizeof(netconfmsg))) return 0;
    std::array<nlattr*, NETCONFA_MAX + 1> tb{};
    const int parsed = nlmsg_parse(const_cast<nlmsghdr*>(hdr), sizeof(netconfmsg), tb.data(),
                                   NETCONFA_MAX, nullptr);
    if (parsed < 0) return parsed;
    if (tb[NETCONFA_FORWARDING] != nullptr && nla_len(tb[NETCONFA_FORWARDING]) >= 4) {
      forwarding = nla_get_s32(tb[NETCONFA_FORWARDING]) != 0;
    }
    return 0;
  });
  if (rc < 0) return std::nullopt;
  return forwarding;
}

Link getLink(nl_sock* sock, std::string_view name) {
  Link link = findLink(sock, name);
  if (!link) {
    throw NetlinkError("get link", std::string(name), NLE_OBJ_NOTFOUND,
                       fmt::format("get link {}: no such device", name));
  }
  return link;
}

Address ipv6(const ipam::Ipv6Addr& addr, int prefixLen) {
  auto a = owned<Address>(nl_addr_build(AF_INET6, addr.data(), addr.size()), "IPv6 address");
  nl_addr_set_prefixlen(a.get(), prefixLen);
  return a;
}

std::string format(const nl_addr* addr) {
  if (addr == nullptr) return "none";
  // IP addresses as nl_addr2str writes them ("/len" only when not the full length), without its
  // inet_ntop and snprintf: ADD formats a dozen for its messages.
  const int family = nl_addr_get_family(addr);
  const unsigned len = nl_addr_get_len(addr);
  const auto* bytes = static_cast<const unsigned char*>(nl_addr_get_binary_addr(addr));
  std::string text;
  if (family == AF_INET6 && len == 16) {
    ipam::Ipv6Addr a{};
    std::memcpy(a.data(), bytes, a.size());
    text = ipam::formatIpv6(a);
  } else if (family == AF_INET && len == 4) {
    std::uint32_t be = 0;
    std::memcpy(&be, bytes, sizeof be);
    text = ipam::formatIpv4(ntohl(be));
  } else {
    std::array<char, 128> buf{};
    return nl_addr2str(addr, buf.data(), buf.size());
  }
  if (nl_addr_get_prefixlen(addr) != 8 * len) {
    text += '/';
    text += std::to_string(nl_addr_get_prefixlen(addr));
  }
  return text;
}

namespace {

// A dump of `type` with `header` and the attributes addAttrs puts, filtered in the kernel (the
// socket checks strictly), each message of the reply handed to `visit`; returns transact's code.
int dumpVisiting(nl_sock* sock, int type, const void* header, std::size_t headerLen,
                 const std::function<void(Request&)>& addAttrs, std::string_view what,
                 const Visit& visit) {
  Request request(type, NLM_F_DUMP, header, headerLen, what);
  if (addAttrs) addAttrs(request);
  return transact(sock, request.msg(), Until::kDone, visit);
}

// The same dump parsed into libnl objects. absentIsEmpty: ENOENT (what the kernel answers for a
// missing table) is an empty result.
Objects filteredDump(nl_sock* sock, int type, const void* header, std::size_t headerLen,
                     const std::function<void(Request&)>& addAttrs, std::string_view what,
                     bool absentIsEmpty = false) {
  Objects objects;
  const int rc = dumpVisiting(sock, type, header, headerLen, addAttrs, what, into(objects));
  if (absentIsEmpty && rc == -NLE_OBJ_NOTFOUND) return {};
  check(rc, "read", what);
  return objects;
}

}  // namespace

Objects dumpLinks(nl_sock* sock, const std::string& kind) {
  const ifinfomsg ifi{};
  const std::string what = kind.empty() ? "links" : kind + " links";
  return filteredDump(
      sock, RTM_GETLINK, &ifi, sizeof ifi,
      [&](Request& request) {
        // A filter the kernel applies only when it knows the kind (its module is loaded): the
        // callers check the kind of each link they get all the same.
        if (kind.empty()) return;
        nlattr* info = request.nest(IFLA_LINKINFO);
        request.putString(IFLA_INFO_KIND, kind);
        request.end(info);
      },
      what);
}

Objects dumpAddresses(nl_sock* sock, int family, int ifindex) {
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<unsigned char>(family);
  ifa.ifa_index = static_cast<unsigned>(ifindex);
  return filteredDump(sock, RTM_GETADDR, &ifa, sizeof ifa, {},
                      ifindex != 0
                          ? fmt::format("addresses of ifindex {}", ifindex)
                          : std::string(family == AF_INET ? "IPv4 addresses" : "addresses"));
}

Objects dumpRoutes(nl_sock* sock, int family, int oif, std::uint32_t table) {
  rtmsg rtm{};
  rtm.rtm_family = static_cast<unsigned char>(family);
  return filteredDump(
      sock, RTM_GETROUTE, &rtm, sizeof rtm,
      [&](Request& request) {
        if (oif != 0) request.putU32(RTA_OIF, static_cast<std::uint32_t>(oif));
        if (table != 0) request.putU32(RTA_TABLE, table);
      },
      table != 0 ? fmt::format("routes of table {}", table)
                 : fmt::format("routes through ifindex {}", oif),
      // A table that does not exist (no route was ever added to it) holds no route.
      table != 0);
}

std::vector<Ipv4AddressBrief> dumpIpv4Addresses(nl_sock* sock, int ifindex) {
  const std::string what = "IPv4 addresses";
  // An ifaddrmsg header, which the kernel accepts with strict checking on (an rtgenmsg one it
  // refuses then), and which carries the link to filter by.
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_index = static_cast<unsigned>(ifindex);
  std::vector<Ipv4AddressBrief> out;
  const int rc = dumpVisiting(
      sock, RTM_GETADDR, &ifa, sizeof ifa, {}, what, [&out, ifindex](const nlmsghdr* hdr) {
        if (hdr->nlmsg_type != RTM_NEWADDR || !nlmsg_valid_hdr(hdr, sizeof(ifaddrmsg))) return 0;
        const auto* a = static_cast<const ifaddrmsg*>(nlmsg_data(hdr));
        if (a->ifa_family != AF_INET) return 0;
        // A kernel without strict checking answers with every link's.
        if (ifindex != 0 && a->ifa_index != static_cast<unsigned>(ifindex)) return 0;
        std::array<nlattr*, IFA_MAX + 1> tb{};
        // No policy: each attribute's length is checked below, where it is read.
        const int parsed =
            nlmsg_parse(const_cast<nlmsghdr*>(hdr), sizeof(ifaddrmsg), tb.data(), IFA_MAX, nullptr);
        if (parsed < 0) return parsed;
        const nlattr* local = tb[IFA_LOCAL] != nullptr ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (local == nullptr || nla_len(local) != 4) return 0;
        Ipv4AddressBrief entry;
        entry.ifindex = static_cast<int>(a->ifa_index);
        std::uint32_t be = 0;
        std::memcpy(&be, nla_data(local), 4);
        entry.local = ntohl(be);
        entry.prefixLen = a->ifa_prefixlen;
        entry.flags = a->ifa_flags;
        if (tb[IFA_FLAGS] != nullptr && nla_len(tb[IFA_FLAGS]) >= 4) {
          entry.flags = nla_get_u32(tb[IFA_FLAGS]);
        }
        if (tb[IFA_LABEL] != nullptr) entry.label = attrString(tb[IFA_LABEL]);
        out.push_back(std::move(entry));
        return 0;
      });
  // The link was deleted since its ifindex was read: it holds no address.
  if (ifindex != 0 && linkGone(rc)) return out;
  check(rc, "read", what);
  return out;
}

Objects dumpRules(nl_sock* sock, int family, std::uint32_t priority) {
  fib_rule_hdr frh{};
  frh.family = static_cast<unsigned char>(family);
  Objects objects;
  const int rc = dumpVisiting(sock, RTM_GETRULE, &frh, sizeof frh, {}, "policy rules",
                              [&objects, priority](const nlmsghdr* hdr) {
                                std::array<nlattr*, FRA_MAX + 1> tb{};
                                // No policy: the one attribute read is length-checked here.
                                if (nlmsg_parse(const_cast<nlmsghdr*>(hdr), sizeof(fib_rule_hdr),
                                                tb.data(), FRA_MAX, nullptr) < 0 ||
                                    tb[FRA_PRIORITY] == nullptr || nla_len(tb[FRA_PRIORITY]) < 4 ||
                                    nla_get_u32(tb[FRA_PRIORITY]) != priority) {
                                  return 0;
                                }
                                return parseInto(hdr, objects);
                              });
  check(rc, "read", "policy rules");
  return objects;
}

}  // namespace sixrd::tunnel::nl
