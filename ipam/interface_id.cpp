#include "ipam/interface_id.hpp"

#include <string>

namespace sixrd::ipam {
namespace {

// FNV-1a and splitmix64 are fixed, published functions: the ids must come out the same from every
// build of every release on every machine, which std::hash does not promise.
constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ull;

class Fnv1a {
 public:
  void bytes(std::string_view data) noexcept {
    for (const char c : data) byte(static_cast<std::uint8_t>(c));
  }
  // The terminator keeps ("ab", "c") and ("a", "bc") apart.
  void field(std::string_view data) noexcept {
    bytes(data);
    byte(0);
  }
  // Little-endian regardless of the host, so the hash does not depend on the CPU.
  void u32(std::uint32_t value) noexcept {
    for (int i = 0; i < 4; ++i) byte(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  [[nodiscard]] std::uint64_t value() const noexcept { return state_; }

 private:
  void byte(std::uint8_t b) noexcept {
    state_ ^= b;
    state_ *= kFnvPrime;
  }
  std::uint64_t state_ = kFnvOffset;
};

// FNV-1a alone mixes the last bytes poorly into the high bits; the finalizer spreads every input
// bit over all 64 output bits.
constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr std::uint64_t kRfc5453EthernetFirst = 0x02005efffe000000ull;
constexpr std::uint64_t kRfc5453EthernetLast = 0x02005efffeffffffull;
constexpr std::uint64_t kRfc5453AnycastFirst = 0xfdffffffffffff80ull;
constexpr std::uint64_t kRfc5453AnycastLast = 0xfdffffffffffffffull;

}  // namespace

bool isReservedInterfaceId(std::uint64_t iid) noexcept {
  return iid == 0 || iid == kNodeInterfaceId ||
         (iid >= kRfc5453EthernetFirst && iid <= kRfc5453EthernetLast) ||
         (iid >= kRfc5453AnycastFirst && iid <= kRfc5453AnycastLast);
}

std::uint64_t interfaceIdCandidate(std::string_view network, std::string_view containerId,
                                   std::string_view ifname, unsigned attempt) noexcept {
  Fnv1a hash;
  hash.field(network);
  hash.field(containerId);
  hash.field(ifname);
  hash.u32(attempt);
  std::uint64_t iid = splitmix64(hash.value());
  // Re-mixing rather than skipping to the next attempt keeps candidate N a function of N alone,
  // so every process walks the same sequence. The reserved set holds about 2^24 of 2^64 ids, so
  // this loop runs once in about 2^40 calls and twice practically never.
  while (isReservedInterfaceId(iid)) iid = splitmix64(iid);
  return iid;
}

std::string_view hostVethPrefix() noexcept { return "sx"; }

std::string hostVethName(std::string_view containerId, std::string_view ifname, unsigned attempt) {
  constexpr char kHex[] = "0123456789abcdef";
  // 48 bits keep the name at 14 characters, under IFNAMSIZ - 1 = 15.
  const std::uint64_t hash = attachmentHash(containerId, ifname, attempt);
  std::string name(hostVethPrefix());
  for (int shift = 44; shift >= 0; shift -= 4) name += kHex[(hash >> shift) & 0xf];
  return name;
}

std::uint64_t attachmentHash(std::string_view containerId, std::string_view ifname,
                             unsigned attempt) noexcept {
  Fnv1a hash;
  hash.field("host-veth");
  hash.field(containerId);
  hash.field(ifname);
  // Attempt 0 hashes exactly what releases before the attempt number did: their veths keep their
  // names.
  if (attempt != 0) hash.u32(attempt);
  return splitmix64(hash.value());
}

}  // namespace sixrd::ipam
