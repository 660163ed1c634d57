#include "ipam/sixrd_math.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

namespace sixrd::ipam {
namespace {

constexpr int kNode64Len = 64;

std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

std::uint32_t ipv4Mask(int len) noexcept {
  // A shift by 32 is undefined behaviour, so /0 cannot be computed as ~0u << 32.
  if (len <= 0) return 0;
  if (len >= 32) return 0xffffffffu;
  return ~0u << (32 - len);
}

Ipv6Addr masked(Ipv6Addr addr, int len) noexcept {
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(len - 8 * i, 0, 8);
    addr[i] &= static_cast<std::uint8_t>(0xff00u >> bits);
  }
  return addr;
}

std::uint64_t high64(const Ipv6Addr& addr) noexcept {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | addr[i];
  return value;
}

std::uint64_t low64(const Ipv6Addr& addr) noexcept {
  std::uint64_t value = 0;
  for (int i = 8; i < 16; ++i) value = (value << 8) | addr[i];
  return value;
}

Ipv6Addr fromHalves(std::uint64_t high, std::uint64_t low) noexcept {
  Ipv6Addr addr{};
  for (int i = 7; i >= 0; --i) {
    addr[i] = static_cast<std::uint8_t>(high & 0xff);
    addr[i + 8] = static_cast<std::uint8_t>(low & 0xff);
    high >>= 8;
    low >>= 8;
  }
  return addr;
}

// inet_pton wants a NUL-terminated string; an embedded NUL would silently cut the input short and
// accept "::1\0junk", so it is refused before the copy.
bool toCString(std::string_view text, std::string& out) {
  if (text.find('\0') != std::string_view::npos) return false;
  out.assign(text);
  return true;
}

bool tryParseIpv6(std::string_view text, Ipv6Addr& out) {
  std::string c;
  if (!toCString(text, c)) return false;
  return inet_pton(AF_INET6, c.c_str(), out.data()) == 1;
}

bool tryParseIpv4(std::string_view text, Ipv4Addr& out) {
  std::string c;
  if (!toCString(text, c)) return false;
  in_addr raw{};
  if (inet_pton(AF_INET, c.c_str(), &raw) != 1) return false;
  out = ntohl(raw.s_addr);
  return true;
}

// Splits "addr/len" and parses len as plain decimal; from_chars alone would accept a trailing
// suffix, and stoi would accept a sign and leading blanks.
std::string_view splitLength(std::string_view text, std::string_view field, int maxLen,
                             std::string_view example, int& len) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    throw InvalidInput(std::string(field), std::string(field) + " " + quoted(text) +
                                               " has no prefix length: expected address/length, "
                                               "e.g. " +
                                               std::string(example));
  }
  const std::string_view lenText = text.substr(slash + 1);
  const char* begin = lenText.data();
  const char* end = begin + lenText.size();
  const bool digitsOnly = !lenText.empty() && lenText.size() <= 3 &&
                          lenText.find_first_not_of("0123456789") == std::string_view::npos;
  int value = -1;
  if (!digitsOnly || std::from_chars(begin, end, value).ptr != end || value > maxLen) {
    throw InvalidInput(std::string(field), std::string(field) + " " + quoted(text) +
                                               " has an invalid prefix length " + quoted(lenText) +
                                               ": expected a number from 0 to " +
                                               std::to_string(maxLen));
  }
  len = value;
  return text.substr(0, slash);
}

void checkIpv6Prefix(const Ipv6Prefix& prefix, std::string_view field, std::string_view text) {
  if (masked(prefix.addr, prefix.len) != prefix.addr) {
    const Ipv6Prefix fixed{masked(prefix.addr, prefix.len), prefix.len};
    throw InvalidInput(std::string(field), std::string(field) + " " + quoted(text) +
                                               " has bits set past /" + std::to_string(prefix.len) +
                                               ": did you mean " + formatPrefix(fixed) + "?");
  }
}

void checkIpv4Subnet(const Ipv4Subnet& subnet, std::string_view field, std::string_view text) {
  const std::uint32_t mask = ipv4Mask(subnet.len);
  if ((subnet.addr & ~mask) != 0) {
    const Ipv4Subnet fixed{subnet.addr & mask, subnet.len};
    throw InvalidInput(std::string(field), std::string(field) + " " + quoted(text) +
                                               " has bits set past /" + std::to_string(subnet.len) +
                                               ": did you mean " + formatSubnet(fixed) + "?");
  }
}

// Plans are plain structs, so one built by hand may never have gone through make(); every entry
// point re-checks, because the bit arithmetic below relies on these bounds to stay defined.
const SixrdPlan& checked(const SixrdPlan& plan) {
  SixrdPlan::make(plan.prefix, plan.underlay);
  return plan;
}

// The host bits of the node sit right after the prefix, so they occupy bits
// [prefix.len, prefix.len + hostBits) of the high 64 bits.
int hostShift(const SixrdPlan& plan) noexcept {
  return kNode64Len - plan.prefix.len - plan.hostBits();
}

}  // namespace

Ipv6Addr parseIpv6(std::string_view text, std::string_view field) {
  Ipv6Addr addr{};
  if (!tryParseIpv6(text, addr)) {
    std::string message = std::string(field) + " " + quoted(text) + " is not an IPv6 address";
    if (text.find('/') != std::string_view::npos) message += " (an address takes no /length)";
    throw InvalidInput(std::string(field), message);
  }
  return addr;
}

Ipv4Addr parseIpv4(std::string_view text, std::string_view field) {
  Ipv4Addr addr = 0;
  if (!tryParseIpv4(text, addr)) {
    std::string message = std::string(field) + " " + quoted(text) +
                          " is not an IPv4 address (expected dotted decimal, e.g. 10.20.3.7)";
    if (text.find('/') != std::string_view::npos) message += "; an address takes no /length";
    throw InvalidInput(std::string(field), message);
  }
  return addr;
}

Ipv6Prefix parseIpv6Prefix(std::string_view text, std::string_view field) {
  Ipv6Prefix prefix;
  const std::string_view addrText = splitLength(text, field, 128, "fd00:10::/48", prefix.len);
  if (!tryParseIpv6(addrText, prefix.addr)) {
    throw InvalidInput(std::string(field), std::string(field) + " " + quoted(text) +
                                               " is not an IPv6 prefix: " + quoted(addrText) +
                                               " is not an IPv6 address (e.g. fd00:10::/48)");
  }
  checkIpv6Prefix(prefix, field, text);
  return prefix;
}

Ipv4Subnet parseIpv4Subnet(std::string_view text, std::string_view field) {
  Ipv4Subnet subnet;
  const std::string_view addrText = splitLength(text, field, 32, "10.20.0.0/16", subnet.len);
  if (!tryParseIpv4(addrText, subnet.addr)) {
    throw InvalidInput(std::string(field), std::string(field) + " " + quoted(text) +
                                               " is not an IPv4 subnet: " + quoted(addrText) +
                                               " is not an IPv4 address (e.g. 10.20.0.0/16)");
  }
  checkIpv4Subnet(subnet, field, text);
  return subnet;
}

std::string formatIpv6(const Ipv6Addr& addr) {
  // The text glibc's inet_ntop gives (RFC 5952: lowercase, no leading zeros, the longest run of
  // two or more zero groups, the first of equals, as "::"; ::a.b.c.d and ::ffff:a.b.c.d dotted),
  // written here without it: inet_ntop prints each group through sprintf, about 5000 instructions
  // an address, and an ADD formats a dozen.
  std::array<unsigned, 8> group{};
  for (std::size_t i = 0; i < group.size(); ++i) {
    group[i] = (static_cast<unsigned>(addr[2 * i]) << 8) | addr[2 * i + 1];
  }
  int bestStart = -1;
  int bestLen = 0;
  for (int i = 0; i < 8;) {
    if (group[i] != 0) {
      ++i;
      continue;
    }
    int end = i;
    while (end < 8 && group[end] == 0) ++end;
    if (end - i > bestLen) {
      bestStart = i;
      bestLen = end - i;
    }
    i = end;
  }
  if (bestLen < 2) bestStart = -1;

  // Into a buffer on the stack, the string made once: appending to a std::string one character
  // at a time cost each address as much as the rest of this function.
  std::array<char, INET6_ADDRSTRLEN> out{};
  std::size_t n = 0;
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i) {
    if (i == bestStart) {
      out[n++] = ':';
      i += bestLen - 1;
      if (i == 7) out[n++] = ':';
      continue;
    }
    if (i != 0) out[n++] = ':';
    if (i == 6 && bestStart == 0 && (bestLen == 6 || (bestLen == 5 && group[5] == 0xffff))) {
      for (int b = 12; b < 16; ++b) {
        if (b != 12) out[n++] = '.';
        const unsigned octet = addr[b];
        if (octet >= 100) out[n++] = static_cast<char>('0' + octet / 100);
        if (octet >= 10) out[n++] = static_cast<char>('0' + octet / 10 % 10);
        out[n++] = static_cast<char>('0' + octet % 10);
      }
      break;
    }
    bool digits = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned nibble = (group[i] >> shift) & 0xfU;
      if (nibble == 0 && !digits && shift != 0) continue;
      digits = true;
      out[n++] = kHex[nibble];
    }
  }
  return {out.data(), n};
}

std::string formatIpv4List(const std::vector<Ipv4Addr>& addrs) {
  std::string out;
  for (const Ipv4Addr addr : addrs) {
    if (!out.empty()) out += ", ";
    out += formatIpv4(addr);
  }
  return out;
}

std::string formatIpv4(Ipv4Addr addr) {
  // Dotted quad, as inet_ntop writes it (without its sprintf).
  std::string out;
  out.reserve(INET_ADDRSTRLEN);
  for (int shift = 24; shift >= 0; shift -= 8) {
    if (shift != 24) out += '.';
    out += std::to_string((addr >> shift) & 0xffU);
  }
  return out;
}

std::string formatPrefix(const Ipv6Prefix& prefix) {
  return formatIpv6(prefix.addr) + "/" + std::to_string(prefix.len);
}

std::string formatSubnet(const Ipv4Subnet& subnet) {
  return formatIpv4(subnet.addr) + "/" + std::to_string(subnet.len);
}

bool contains(const Ipv6Prefix& prefix, const Ipv6Addr& addr) {
  return masked(addr, prefix.len) == masked(prefix.addr, prefix.len);
}

bool contains(const Ipv4Subnet& subnet, Ipv4Addr addr) {
  const std::uint32_t mask = ipv4Mask(subnet.len);
  return (addr & mask) == (subnet.addr & mask);
}

SixrdPlan SixrdPlan::make(const Ipv6Prefix& prefix, const Ipv4Subnet& underlay) {
  if (prefix.len < 1 || prefix.len > 128) {
    throw InvalidInput("prefix", "prefix " + formatPrefix(prefix) +
                                     " has an unusable length: 6rd needs a prefix from /1 to /64 "
                                     "(typically /32 to /56)");
  }
  if (underlay.len < 0 || underlay.len > 32) {
    throw InvalidInput("underlay", "underlay " + formatSubnet(underlay) +
                                       " has an invalid length: expected /0 to /32");
  }
  checkIpv6Prefix(prefix, "prefix", formatPrefix(prefix));
  checkIpv4Subnet(underlay, "underlay", formatSubnet(underlay));

  const int hostBits = 32 - underlay.len;
  const int needed = prefix.len + hostBits;
  if (needed > kNode64Len) {
    std::string message =
        "prefix " + formatPrefix(prefix) + " with underlay " + formatSubnet(underlay) + " needs " +
        std::to_string(prefix.len) + " + " + std::to_string(hostBits) + " = " +
        std::to_string(needed) + " bits, more than the 64 of a node /64: use a prefix of /" +
        std::to_string(kNode64Len - hostBits) + " or shorter, or a longer underlay";
    // Past /64 no underlay can help, so only name one when it exists.
    if (prefix.len <= kNode64Len) {
      message += " (/" + std::to_string(prefix.len - 32) + " or longer)";
    }
    throw InvalidInput("prefix", message);
  }
  return SixrdPlan{prefix, underlay};
}

NodePrefix nodePrefix(const SixrdPlan& plan, Ipv4Addr nodeIp) {
  checked(plan);
  const Ipv4Subnet& underlay = plan.underlay;
  if (!contains(underlay, nodeIp)) {
    throw InvalidInput("nodeIP", "nodeIP " + formatIpv4(nodeIp) + " is outside underlay " +
                                     formatSubnet(underlay) +
                                     ": every node's IPv4 address must be inside the underlay; "
                                     "set nodeIP to this node's address in it, or widen underlay");
  }
  const std::uint32_t hostMask = ~ipv4Mask(underlay.len);
  const std::uint32_t host = nodeIp & hostMask;
  // /31 (RFC 3021) and /32 have no network or broadcast address; shorter subnets do, and the
  // node /64 derived from one would belong to no real node.
  if (underlay.len <= 30 && (host == 0 || host == hostMask)) {
    const char* what = host == 0 ? "network" : "broadcast";
    throw InvalidInput("nodeIP", "nodeIP " + formatIpv4(nodeIp) + " is the " + what +
                                     " address of underlay " + formatSubnet(underlay) +
                                     ", not a node address: set nodeIP to this node's own IPv4 "
                                     "address");
  }

  const int shift = hostShift(plan);
  const std::uint64_t high = high64(plan.prefix.addr) | (static_cast<std::uint64_t>(host) << shift);
  NodePrefix out;
  out.nodeIp = nodeIp;
  out.node64 = Ipv6Prefix{fromHalves(high, 0), kNode64Len};
  out.overlayAddr = withInterfaceId(out.node64, 1);
  return out;
}

WhoIs whois(const SixrdPlan& plan, const Ipv6Addr& addr) {
  checked(plan);
  if (!contains(plan.prefix, addr)) {
    throw InvalidInput("address", "address " + formatIpv6(addr) + " is outside prefix " +
                                      formatPrefix(plan.prefix) +
                                      ": it is not a sixrd overlay "
                                      "address of this cluster");
  }
  const int shift = hostShift(plan);
  const std::uint64_t high = high64(addr);
  // Node /64s are zero-padded after the host bits, so an address with padding bits set is in no
  // node's /64; answering with a node would send the operator to the wrong machine.
  const std::uint64_t padding = shift == 0 ? 0 : (std::uint64_t{1} << shift) - 1;
  if ((high & padding) != 0) {
    throw InvalidInput("address", "address " + formatIpv6(addr) + " has bits set between /" +
                                      std::to_string(kNode64Len - shift) +
                                      " and /64, where every node /64 of prefix " +
                                      formatPrefix(plan.prefix) + " is zero: no node owns it");
  }
  const std::uint64_t hostMask = (std::uint64_t{1} << plan.hostBits()) - 1;
  const auto host = static_cast<std::uint32_t>((high >> shift) & hostMask);

  WhoIs out;
  out.nodeIp = plan.underlay.addr | host;
  out.node64 = Ipv6Prefix{fromHalves(high, 0), kNode64Len};
  out.interfaceId = low64(addr);
  return out;
}

Ipv6Addr withInterfaceId(const Ipv6Prefix& node64, std::uint64_t interfaceId) {
  return fromHalves(high64(node64.addr), interfaceId);
}

}  // namespace sixrd::ipam
