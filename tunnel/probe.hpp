// Probes on the wire for `sixrd doctor`: ICMPv6 echo through the tunnel at a chosen packet size,
// ICMPv4 echo and a TCP connect over the underlay. Raw sockets (CAP_NET_RAW), in the network
// namespace the process is in (the node's). Nothing here changes kernel state. Every call is
// bounded by its timeout: a dead peer costs the timeout, never more.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "ipam/sixrd_math.hpp"
#include "tunnel/error.hpp"

namespace sixrd::tunnel {

class Prober {
 public:
  virtual ~Prober() = default;

  // One ICMPv6 echo request whose IPv6 packet is `size` bytes (header included, >= 48) to `dst`,
  // never fragmented by this host and ignoring any cached path MTU (IPV6_PMTUDISC_PROBE): routed
  // into the sit tunnel, it leaves as an IPv4 packet of size + 20 with DF set. Returns the round
  // trip time of the matching echo reply, or nullopt when none came within `timeout` (or the
  // packet is larger than the route's MTU here). Throws ProbeError.
  virtual std::optional<std::chrono::microseconds> echo6(const ipam::Ipv6Addr& dst, int size,
                                                         std::chrono::milliseconds timeout) = 0;

  // One ICMPv4 echo request (64 bytes) to `dst` over the underlay. Same contract as echo6.
  virtual std::optional<std::chrono::microseconds> echo4(ipam::Ipv4Addr dst,
                                                         std::chrono::milliseconds timeout) = 0;

  // A TCP connect to dst:port; a refusal counts as an answer (the host is there). Returns the
  // time to the answer, nullopt when nothing came within `timeout`. Throws ProbeError.
  virtual std::optional<std::chrono::microseconds> tcpConnect(
      ipam::Ipv4Addr dst, int port, std::chrono::milliseconds timeout) = 0;
};

// Probes with raw sockets opened on first use (so a run without peers needs no CAP_NET_RAW).
std::unique_ptr<Prober> makeSocketProber();

}  // namespace sixrd::tunnel
