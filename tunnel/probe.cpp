#include "tunnel/probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <vector>

#include "util/owner.hpp"

namespace sixrd::tunnel {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr int kIpv6Header = 40;
constexpr int kIcmpHeader = 8;
constexpr int kEcho4Size = 64;  // bytes of ICMPv4 (header + payload), like ping's default

// A new socket's descriptor, for a UniqueFd to own.
int openSocket(int family, int type, int protocol, const char* what) {
  const int fd = ::socket(family, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    const int err = errno;
    throw ProbeError(fmt::format("open {}: {}{}", what, std::strerror(err),
                                 err == EPERM ? " (needs CAP_NET_RAW: run as root, or add NET_RAW "
                                                "to the container's capabilities)"
                                              : ""));
  }
  return fd;
}

// Milliseconds left until `deadline`, for poll(); 0 once it has passed.
int remaining(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// The Internet checksum (RFC 1071), for ICMPv4 (the kernel computes ICMPv6's).
std::uint16_t checksum(const std::uint8_t* data, std::size_t len) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (len % 2 != 0) sum += data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<std::uint16_t>(~sum));
}

// Sends `packet` to `to` on `fd` and waits up to `timeout` for a datagram `isReply` accepts
// (bytes, length, sender); returns the round-trip time, nullopt when the send fails or no reply
// comes. Late replies to earlier probes are drained first.
template <class Sockaddr, class IsReply>
std::optional<microseconds> roundTrip(int fd, const std::vector<std::uint8_t>& packet,
                                      const Sockaddr& to, milliseconds timeout,
                                      const IsReply& isReply) {
  std::array<std::uint8_t, 65536> buf{};
  while (::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT) > 0) {
  }
  const auto start = Clock::now();
  if (::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to),
               sizeof to) < 0) {
    return std::nullopt;
  }
  const auto deadline = start + timeout;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, remaining(deadline)) <= 0) return std::nullopt;
    Sockaddr from{};
    socklen_t fromLen = sizeof from;
    const ssize_t n =
        ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n > 0 && isReply(buf.data(), static_cast<std::size_t>(n), from)) {
      return std::chrono::duration_cast<microseconds>(Clock::now() - start);
    }
  }
}

class SocketProber final : public Prober {
 public:
  SocketProber() : id_(static_cast<std::uint16_t>(::getpid())) {}

  std::optional<microseconds> echo6(const ipam::Ipv6Addr& dst, int size,
                                    milliseconds timeout) override {
    if (!icmp6_) {
      icmp6_.emplace(openSocket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, "raw ICMPv6 socket"));
      icmp6_filter filter{};
      ICMP6_FILTER_SETBLOCKALL(&filter);
      ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
      setsockopt(icmp6_->get(), IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
      // Neither fragment here nor shrink to a path MTU learnt earlier: the probe's size is the
      // size that goes on the wire, or the send fails.
      const int probe = IPV6_PMTUDISC_PROBE;
      setsockopt(icmp6_->get(), IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof probe);
      const int on = 1;
      setsockopt(icmp6_->get(), IPPROTO_IPV6, IPV6_DONTFRAG, &on, sizeof on);
    }
    const int fd = icmp6_->get();
    const std::size_t icmpLen =
        static_cast<std::size_t>(std::max(size, kIpv6Header + kIcmpHeader) - kIpv6Header);
    std::vector<std::uint8_t> packet(icmpLen, 0xa5);
    const std::uint16_t seq = ++seq_;
    packet[0] = ICMP6_ECHO_REQUEST;
    packet[1] = 0;
    packet[2] = packet[3] = 0;  // checksum: the kernel fills it for raw ICMPv6 sockets
    putId(packet, seq);

    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    std::memcpy(&to.sin6_addr, dst.data(), 16);
    // EMSGSIZE: larger than the route's MTU here; EHOSTUNREACH/ENETUNREACH: no route (the
    // unreachable /64 of a peer that is this node, or no tunnel). Either way nothing went out.
    return roundTrip(fd, packet, to, timeout,
                     [&](const std::uint8_t* icmp, std::size_t n, const sockaddr_in6& from) {
                       return n >= kIcmpHeader &&
                              std::memcmp(&from.sin6_addr, dst.data(), 16) == 0 &&
                              icmp[0] == ICMP6_ECHO_REPLY && matches(icmp, seq);
                     });
  }

  std::optional<microseconds> echo4(ipam::Ipv4Addr dst, milliseconds timeout) override {
    if (!icmp4_) {
      icmp4_.emplace(openSocket(AF_INET, SOCK_RAW, IPPROTO_ICMP, "raw ICMPv4 socket"));
    }
    const int fd = icmp4_->get();
    std::vector<std::uint8_t> packet(kEcho4Size, 0x5a);
    const std::uint16_t seq = ++seq_;
    packet[0] = ICMP_ECHO;
    packet[1] = 0;
    packet[2] = packet[3] = 0;
    putId(packet, seq);
    const std::uint16_t sum = checksum(packet.data(), packet.size());
    std::memcpy(&packet[2], &sum, 2);

    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(dst);
    return roundTrip(fd, packet, to, timeout,
                     [&](const std::uint8_t* ip, std::size_t n, const sockaddr_in& from) {
                       // A raw IPv4 socket hands the IP header over too.
                       if (n < 20 || from.sin_addr.s_addr != to.sin_addr.s_addr) return false;
                       const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
                       return n >= ihl + kIcmpHeader && ip[ihl] == ICMP_ECHOREPLY &&
                              matches(ip + ihl, seq);
                     });
  }

  std::optional<microseconds> tcpConnect(ipam::Ipv4Addr dst, int port,
                                         milliseconds timeout) override {
    const util::UniqueFd fd(
        openSocket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP, "TCP socket"));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(dst);
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    const auto start = Clock::now();
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
      return std::chrono::duration_cast<microseconds>(Clock::now() - start);
    }
    if (errno == ECONNREFUSED) {
      return std::chrono::duration_cast<microseconds>(Clock::now() - start);
    }
    if (errno != EINPROGRESS) return std::nullopt;
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, remaining(start + timeout)) <= 0) return std::nullopt;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0 || err == ECONNREFUSED) {
      return std::chrono::duration_cast<microseconds>(Clock::now() - start);
    }
    return std::nullopt;  // EHOSTUNREACH (no ARP answer), ETIMEDOUT, ...
  }

 private:
  void putId(std::vector<std::uint8_t>& packet, std::uint16_t seq) const {
    packet[4] = static_cast<std::uint8_t>(id_ >> 8);
    packet[5] = static_cast<std::uint8_t>(id_);
    packet[6] = static_cast<std::uint8_t>(seq >> 8);
    packet[7] = static_cast<std::uint8_t>(seq);
  }
  [[nodiscard]] bool matches(const std::uint8_t* icmp, std::uint16_t seq) const {
    return ((icmp[4] << 8) | icmp[5]) == id_ && ((icmp[6] << 8) | icmp[7]) == seq;
  }
  std::uint16_t id_;
  std::uint16_t seq_ = 0;
  std::optional<util::UniqueFd> icmp6_;
  std::optional<util::UniqueFd> icmp4_;
};

}  // namespace

std::unique_ptr<Prober> makeSocketProber() { return std::make_unique<SocketProber>(); }

}  // namespace sixrd::tunnel
