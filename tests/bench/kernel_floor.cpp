// sixrd-kernel-floor — the kernel floor of tests/bench (test-only, never installed): exactly the
// kernel work one sixrd ADD (or DEL) asks for to plumb a pod, and nothing else, in raw netlink
// with one socket per namespace, one request per step, each reply read once. Its time is what
// any plugin building sixrd's pod layout waits for the kernel; sixrd's ADD is compared with it
// plus the exec floor (sixrd-floor-plugin through libcni).
//
//   sixrd-kernel-floor add|del NODE_NETNS POD_NETNS INDEX [classic|linklocal]
//
// Enters NODE_NETNS ("-": stays where it is; not timed: a plugin is exec'd there), then plumbs
// pod INDEX: host veth kf<INDEX>, pod side eth0 (MTU 1480) in POD_NETNS, address
// fd00:77::<INDEX>/128. Prints the microseconds of the work (from opening the netlink socket to
// the last reply) on stdout; exit 1 with a message on stderr when a step fails.
//
// Exec'd by a runtime instead (CNI_COMMAND set; tests/bench/bench-vm.sh installs it as plugin
// "kfloor" and drives it through libcni like sixrd), it is a plugin doing that work and nothing
// else, in sixrd's layout: pod INDEX is the number that ends CNI_CONTAINERID, POD_NETNS is
// CNI_NETNS, the node is the namespace it runs in. It appends the microseconds of the work to the
// file SIXRD_KFLOOR_TIMES names (when set) and answers ADD with a minimal result: the same work
// timed in the conditions sixrd's runs in, inside a call a runtime makes, and that call's whole
// time the floor of any plugin that builds sixrd's layout.
//
// Kept in step with tunnel/ (update both together): ADD mirrors tunnel::addPod and
// configurePodSide in tunnel/pod.cpp (veth pair with the peer born in the pod namespace, each end
// with one transmit and one receive queue asked for at creation; host
// veth without an auto-generated link-local (addrgenmode none) and accept_ra off; in the pod, the
// /128 with IFA_F_NODAD, lo up, eth0 up without a link-local of its own (addrgenmode none in the
// same request: no /proc/sys there), a permanent neighbour for the gateway, the default route via
// fe80::1; host veth up with its alias, fe80::1/128 NODAD without a prefix route on it, the /128
// route and the pod's permanent neighbour).
// Two other layouts show what asking the kernel for more per pod costs:
//   classic    the layout issue 16 measured its floor with: the kernel's own link-local on the host
//              veth (accept_dad off instead of addrgenmode none), the pod's link-local with
//              accept_dad and accept_ra off through the pod's /proc/sys, fe80::1/64, the
//              kernel's default number of queues
//   linklocal  an earlier layout of sixrd's: as classic, but addrgenmode none on the host
//              veth
// DEL mirrors tunnel::delPod: one
// RTM_DELLINK of the host veth. What sixrd does on top (node resolution, the tunnel check, lease
// files, reading links back, waiting for the links to become operational, logging) is its own cost,
// which is what the benchmark measures.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "read_config.hpp"

namespace {

[[noreturn]] void die(const std::string& what, int err) {
  std::fprintf(stderr, "sixrd-kernel-floor: %s: %s\n", what.c_str(), std::strerror(err));
  std::exit(1);
}

// One netlink request under construction.
class Msg {
 public:
  Msg(std::uint16_t type, std::uint16_t flags) {
    hdr()->nlmsg_len = NLMSG_LENGTH(0);
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
  }
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_); }
  template <class T>
  T* header() {  // the family header, right after nlmsghdr
    auto* p = reinterpret_cast<T*>(tail());
    std::memset(p, 0, sizeof(T));
    hdr()->nlmsg_len += NLMSG_ALIGN(sizeof(T));
    return p;
  }
  void attr(std::uint16_t type, const void* data, std::size_t len) {
    auto* a = reinterpret_cast<rtattr*>(tail());
    a->rta_type = type;
    a->rta_len = static_cast<std::uint16_t>(RTA_LENGTH(len));
    if (len > 0) std::memcpy(RTA_DATA(a), data, len);
    hdr()->nlmsg_len += RTA_ALIGN(a->rta_len);
  }
  void str(std::uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  void u32(std::uint16_t type, std::uint32_t v) { attr(type, &v, sizeof v); }
  rtattr* begin(std::uint16_t type) {
    auto* a = reinterpret_cast<rtattr*>(tail());
    attr(type, nullptr, 0);
    return a;
  }
  void end(rtattr* nest) {
    nest->rta_len = static_cast<std::uint16_t>(tail() - reinterpret_cast<char*>(nest));
  }
  char* tail() { return buf_ + NLMSG_ALIGN(hdr()->nlmsg_len); }

 private:
  alignas(nlmsghdr) char buf_[4096]{};
};

struct Link {
  int index = 0;
  unsigned char mac[6]{};
};

class Sock {
 public:
  Sock() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
    if (fd_ < 0) die("netlink socket", errno);
  }
  ~Sock() { ::close(fd_); }
  Sock(const Sock&) = delete;
  Sock& operator=(const Sock&) = delete;

  // Sends m and reads its one reply (an ack, an error or the object asked for) into reply_.
  const nlmsghdr* send(Msg& m, const std::string& what) {
    m.hdr()->nlmsg_seq = ++seq_;
    if (::send(fd_, m.hdr(), m.hdr()->nlmsg_len, 0) < 0) die(what, errno);
    const ssize_t n = ::recv(fd_, reply_, sizeof reply_, 0);
    if (n < static_cast<ssize_t>(NLMSG_HDRLEN)) die(what + ": short reply", EIO);
    const auto* h = reinterpret_cast<const nlmsghdr*>(reply_);
    if (h->nlmsg_type == NLMSG_ERROR) {
      const int err = static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
      if (err != 0) die(what, -err);
    }
    return h;
  }
  void ack(Msg& m, const std::string& what) {
    m.hdr()->nlmsg_flags |= NLM_F_ACK;
    send(m, what);
  }
  Link getLink(const std::string& name) {
    Msg m(RTM_GETLINK, 0);
    m.header<ifinfomsg>();
    m.str(IFLA_IFNAME, name);
    const nlmsghdr* h = send(m, "get link " + name);
    const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    Link link;
    link.index = ifi->ifi_index;
    int len = static_cast<int>(IFLA_PAYLOAD(h));
    for (const auto* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6) std::memcpy(link.mac, RTA_DATA(a), 6);
    }
    return link;
  }

 private:
  int fd_;
  std::uint32_t seq_ = 0;
  alignas(nlmsghdr) char reply_[65536];
};

void writeSysctl(const std::string& key, const char* value) {
  const std::string path = "/proc/sys/" + key;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(path, errno);
  if (::write(fd, value, std::strlen(value)) < 0) die(path, errno);
  ::close(fd);
}

void enter(int fd, const std::string& what) {
  if (::setns(fd, CLONE_NEWNET) != 0) die("setns " + what, errno);
}

int openNs(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path, errno);
  return fd;
}

// The IFLA_AF_SPEC that turns off the auto-generated link-local (addrgenmode none).
void addrgenNone(Msg& m) {
  rtattr* spec = m.begin(IFLA_AF_SPEC);
  rtattr* inet6 = m.begin(AF_INET6);
  const std::uint8_t mode = IN6_ADDR_GEN_MODE_NONE;
  m.attr(IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof mode);
  m.end(inet6);
  m.end(spec);
}

void setUp(Sock& s, int index, const std::string& name, const std::string& alias,
           bool noLinkLocal) {
  Msg m(RTM_NEWLINK, 0);
  auto* ifi = m.header<ifinfomsg>();
  ifi->ifi_index = index;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  if (index == 0) m.str(IFLA_IFNAME, name);
  if (!alias.empty()) m.str(IFLA_IFALIAS, alias);
  if (noLinkLocal) addrgenNone(m);
  s.ack(m, "set up " + name);
}

void addAddress(Sock& s, int index, const in6_addr& a, int len, bool prefixRoute,
                const std::string& what) {
  Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = m.header<ifaddrmsg>();
  ifa->ifa_family = AF_INET6;
  ifa->ifa_prefixlen = static_cast<unsigned char>(len);
  ifa->ifa_flags = IFA_F_NODAD;
  ifa->ifa_index = static_cast<unsigned>(index);
  m.attr(IFA_LOCAL, &a, sizeof a);
  if (!prefixRoute) m.u32(IFA_FLAGS, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
  s.ack(m, "add address " + what);
}

void addNeighbour(Sock& s, int index, const in6_addr& dst, const unsigned char* mac,
                  const std::string& what) {
  Msg m(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
  auto* nd = m.header<ndmsg>();
  nd->ndm_family = AF_INET6;
  nd->ndm_ifindex = index;
  nd->ndm_state = NUD_PERMANENT;
  m.attr(NDA_DST, &dst, sizeof dst);
  m.attr(NDA_LLADDR, mac, 6);
  s.ack(m, "add neighbour " + what);
}

void addRoute(Sock& s, int index, const in6_addr& dst, int len, const in6_addr* gateway,
              const std::string& what) {
  Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rt = m.header<rtmsg>();
  rt->rtm_family = AF_INET6;
  rt->rtm_dst_len = static_cast<unsigned char>(len);
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  if (len > 0) m.attr(RTA_DST, &dst, sizeof dst);
  m.u32(RTA_OIF, static_cast<std::uint32_t>(index));
  if (gateway != nullptr) m.attr(RTA_GATEWAY, gateway, sizeof *gateway);
  s.ack(m, "add route " + what);
}

void noLinkLocal(Sock& s, int index, const std::string& name) {
  Msg m(RTM_NEWLINK, 0);
  m.header<ifinfomsg>()->ifi_index = index;
  addrgenNone(m);
  s.ack(m, "addrgenmode none " + name);
}

enum class Layout { kSixrd, kClassic, kLinkLocal };

// One transmit and one receive queue from the start, as tunnel/requests.cpp asks for them (the
// kernel's default per possible CPU, cut to one at once, waits out two expedited grace periods).
void singleQueue(Msg& m) {
  m.u32(IFLA_NUM_TX_QUEUES, 1);
  m.u32(IFLA_NUM_RX_QUEUES, 1);
}

void add(Sock& node, const std::string& podPath, const std::string& hostVeth, const in6_addr& pod,
         Layout layout) {
  const unsigned mtu = 1480;
  const std::string ifname = "eth0";
  in6_addr gateway{};
  inet_pton(AF_INET6, "fe80::1", &gateway);
  const int self = openNs("/proc/thread-self/ns/net");
  const int podNs = openNs(podPath);

  {  // both ends in one RTM_NEWLINK, the peer born in the pod namespace under its final name
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.header<ifinfomsg>();
    m.str(IFLA_IFNAME, hostVeth);
    m.u32(IFLA_MTU, mtu);
    if (layout == Layout::kSixrd) singleQueue(m);
    rtattr* info = m.begin(IFLA_LINKINFO);
    m.str(IFLA_INFO_KIND, "veth");
    rtattr* data = m.begin(IFLA_INFO_DATA);
    rtattr* peer = m.begin(VETH_INFO_PEER);
    m.header<ifinfomsg>();
    m.str(IFLA_IFNAME, ifname);
    m.u32(IFLA_MTU, mtu);
    if (layout == Layout::kSixrd) singleQueue(m);
    m.u32(IFLA_NET_NS_FD, static_cast<std::uint32_t>(podNs));
    m.end(peer);
    m.end(data);
    m.end(info);
    node.ack(m, "create veth " + hostVeth);
  }
  const Link host = node.getLink(hostVeth);
  if (layout == Layout::kClassic) {
    writeSysctl("net/ipv6/conf/" + hostVeth + "/accept_dad", "0\n");
  } else {
    noLinkLocal(node, host.index, hostVeth);
  }
  writeSysctl("net/ipv6/conf/" + hostVeth + "/accept_ra", "0\n");

  Link podLink;
  enter(podNs, podPath);
  {
    Sock s;
    podLink = s.getLink(ifname);
    if (layout != Layout::kSixrd) {
      writeSysctl("net/ipv6/conf/" + ifname + "/accept_dad", "0\n");
      writeSysctl("net/ipv6/conf/" + ifname + "/accept_ra", "0\n");
    }
    addAddress(s, podLink.index, pod, 128, true, "pod /128");
    setUp(s, 0, "lo", "", false);
    setUp(s, podLink.index, ifname, "", layout == Layout::kSixrd);
    addNeighbour(s, podLink.index, gateway, host.mac, "gateway");
    addRoute(s, podLink.index, in6_addr{}, 0, &gateway, "default");
  }
  enter(self, "back");
  ::close(podNs);
  ::close(self);

  setUp(node, host.index, hostVeth, "floor/" + hostVeth, false);
  const bool slash128 = layout == Layout::kSixrd;
  addAddress(node, host.index, gateway, slash128 ? 128 : 64, !slash128, "gateway");
  addRoute(node, host.index, pod, 128, nullptr, "pod /128");
  addNeighbour(node, host.index, pod, podLink.mac, "pod");
}

void del(Sock& node, const std::string& hostVeth) {
  Msg m(RTM_DELLINK, 0);
  m.header<ifinfomsg>();
  m.str(IFLA_IFNAME, hostVeth);
  node.ack(m, "delete " + hostVeth);
}

std::int64_t nowUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// The work for pod INDEX (host veth kf<INDEX>, address fd00:77::<INDEX>), from the namespace the
// program is in; returns its microseconds, from opening the netlink socket to the last reply.
std::int64_t timedWork(bool isAdd, const char* podNetns, unsigned index, Layout layout) {
  const std::string hostVeth = "kf" + std::to_string(index);
  in6_addr pod{};
  inet_pton(AF_INET6, "fd00:77::", &pod);
  pod.s6_addr[12] = static_cast<unsigned char>(index >> 24);
  pod.s6_addr[13] = static_cast<unsigned char>(index >> 16);
  pod.s6_addr[14] = static_cast<unsigned char>(index >> 8);
  pod.s6_addr[15] = static_cast<unsigned char>(index);
  const std::int64_t t0 = nowUs();
  {
    Sock node;
    if (isAdd) {
      add(node, podNetns, hostVeth, pod, layout);
    } else {
      del(node, hostVeth);
    }
  }
  return nowUs() - t0;
}

// CNI_COMMAND set: the plugin mode the header describes. A failing step exits 1 through die().
int runAsPlugin(const char* command) {
  static char buf[1 << 16];
  sixrd::bench::readConfig(buf);  // drained, as a runtime expects; the floor needs nothing of it
  const bool isAdd = std::strcmp(command, "ADD") == 0;
  if (std::strcmp(command, "VERSION") == 0) {
    std::printf("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"1.0.0\"]}\n");
    return 0;
  }
  if (!isAdd && std::strcmp(command, "DEL") != 0) return 0;
  const char* id = std::getenv("CNI_CONTAINERID");
  const char* netns = std::getenv("CNI_NETNS");
  if (id == nullptr || netns == nullptr) die("CNI_CONTAINERID and CNI_NETNS must be set", EINVAL);
  const char* digits = id + std::strlen(id);
  while (digits > id && digits[-1] >= '0' && digits[-1] <= '9') --digits;
  if (*digits == '\0') die("CNI_CONTAINERID must end in a number (the pod index)", EINVAL);
  const unsigned index = static_cast<unsigned>(std::strtoul(digits, nullptr, 10));
  const std::int64_t took = timedWork(isAdd, netns, index, Layout::kSixrd);
  if (const char* times = std::getenv("SIXRD_KFLOOR_TIMES"); times != nullptr) {
    const int fd = ::open(times, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die(times, errno);
    const std::string line = std::to_string(took) + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      die(times, errno);
    ::close(fd);
  }
  // The bench's conflists are cniVersion 1.0.0, which a result without interfaces satisfies.
  if (isAdd) std::printf("{\"cniVersion\":\"1.0.0\"}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* command = std::getenv("CNI_COMMAND"); command != nullptr)
    return runAsPlugin(command);
  Layout layout = Layout::kSixrd;
  if (argc == 6 && std::strcmp(argv[5], "classic") == 0) layout = Layout::kClassic;
  if (argc == 6 && std::strcmp(argv[5], "linklocal") == 0) layout = Layout::kLinkLocal;
  if (argc < 5 || argc > 6 || (std::strcmp(argv[1], "add") != 0 && std::strcmp(argv[1], "del")) ||
      (argc == 6 && layout == Layout::kSixrd)) {
    std::fprintf(
        stderr,
        "usage: sixrd-kernel-floor add|del NODE_NETNS POD_NETNS INDEX [classic|linklocal]\n");
    return 2;
  }
  const unsigned index = static_cast<unsigned>(std::strtoul(argv[4], nullptr, 10));
  if (std::strcmp(argv[2], "-") != 0) enter(openNs(argv[2]), argv[2]);
  std::printf("%lld\n",
              static_cast<long long>(timedWork(argv[1][0] == 'a', argv[3], index, layout)));
  return 0;
}
