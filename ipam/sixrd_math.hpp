// 6rd address arithmetic: pure, no kernel calls.
//
// A cluster has one IPv6 prefix P (len 32..64 minus the underlay host bits) and one IPv4 underlay
// subnet U. A node with IPv4 address A owns the /64 made of P followed by the host bits of A
// (A & ~mask(U)), zero-padded to 64 bits. This is exactly the mapping the kernel's sit/6rd device
// applies in reverse when it encapsulates a packet for P, so no node needs to know any other.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/layer_error.hpp"

namespace sixrd::ipam {

// Everything ipam/ throws: one family under ipam::Error (util/layer_error.hpp). details() is the
// field of an invalid input, "lease store" for a store error.
enum class ErrorKind {
  kInvalidInput,        // InvalidInput
  kAddressesExhausted,  // AddressesExhausted (ipam/lease_store.hpp)
  kStore,               // StoreError (ipam/lease_store.hpp)
};
class Error : public util::LayerError<ErrorKind> {
 public:
  using LayerError::LayerError;
};

// Thrown for every invalid input. what() names the field, the value, the reason and the fix;
// field() is the field alone (the config key or flag the caller named, e.g. "prefix").
class InvalidInput : public Error {
 public:
  InvalidInput(std::string field, const std::string& message)
      : Error(Kind::kInvalidInput, message, std::move(field)) {}
  [[nodiscard]] const std::string& field() const noexcept { return details(); }
};

using Ipv6Addr = std::array<std::uint8_t, 16>;  // network byte order
using Ipv4Addr = std::uint32_t;                 // host byte order

struct Ipv6Prefix {
  Ipv6Addr addr{};
  int len = 0;
  friend bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) = default;
};

struct Ipv4Subnet {
  Ipv4Addr addr = 0;
  int len = 0;
  friend bool operator==(const Ipv4Subnet&, const Ipv4Subnet&) = default;
};

// Parsers. `field` is the config / flag name used in error messages. Prefix parsers reject bits set
// past the prefix length (the kernel does too, with a bare EINVAL).
Ipv6Addr parseIpv6(std::string_view text, std::string_view field);
Ipv4Addr parseIpv4(std::string_view text, std::string_view field);
Ipv6Prefix parseIpv6Prefix(std::string_view text, std::string_view field);
Ipv4Subnet parseIpv4Subnet(std::string_view text, std::string_view field);

std::string formatIpv6(const Ipv6Addr& addr);  // RFC 5952 text
std::string formatIpv4(Ipv4Addr addr);
std::string formatIpv4List(const std::vector<Ipv4Addr>& addrs);  // "10.0.0.1, 10.0.0.2"
std::string formatPrefix(const Ipv6Prefix& prefix);              // "fd00:10::/48"
std::string formatSubnet(const Ipv4Subnet& subnet);              // "10.20.0.0/16"

bool contains(const Ipv6Prefix& prefix, const Ipv6Addr& addr);
bool contains(const Ipv4Subnet& subnet, Ipv4Addr addr);

// The cluster-wide 6rd plan. make() enforces the kernel's rule
// prefix.len + (32 - underlay.len) <= 64 and prefix.len >= 1; throws InvalidInput naming "prefix"
// or "underlay" with the numbers and the fix.
struct SixrdPlan {
  Ipv6Prefix prefix;
  Ipv4Subnet underlay;
  static SixrdPlan make(const Ipv6Prefix& prefix, const Ipv4Subnet& underlay);
  [[nodiscard]] int hostBits() const noexcept { return 32 - underlay.len; }
};

// What one node derives for itself.
struct NodePrefix {
  Ipv4Addr nodeIp = 0;
  Ipv6Prefix node64;       // always len 64
  Ipv6Addr overlayAddr{};  // node64 with interface id ::1, carried by the sit device
};

// Throws InvalidInput (field "nodeIP") when nodeIp is outside the underlay, or is the network or
// broadcast address of an underlay of /30 or shorter. Like whois(), re-checks the plan as make()
// does (a plan is a plain struct and may have been built by hand).
NodePrefix nodePrefix(const SixrdPlan& plan, Ipv4Addr nodeIp);

// The reverse, for operators: which node an overlay address lives on.
struct WhoIs {
  Ipv4Addr nodeIp = 0;
  Ipv6Prefix node64;
  std::uint64_t interfaceId = 0;
};
// Throws InvalidInput (field "address") when addr is outside the plan's prefix, or has bits set
// between the node host bits and /64 (node /64s are zero-padded there, so no node owns it).
WhoIs whois(const SixrdPlan& plan, const Ipv6Addr& addr);

// node64 | interfaceId.
Ipv6Addr withInterfaceId(const Ipv6Prefix& node64, std::uint64_t interfaceId);

}  // namespace sixrd::ipam
