// Pod interface ids: deterministic from (network name, container id, ifname) so that a retried ADD
// gets the same address and CHECK can recompute it without asking anyone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sixrd::ipam {

// The node's own overlay address uses ::1.
inline constexpr std::uint64_t kNodeInterfaceId = 1;
// How many candidates ADD tries before giving up (a collision in 2^64 is already astronomically
// rare; more than a handful means something is wrong with the lease store).
inline constexpr unsigned kMaxCandidates = 16;

// True for 0 (subnet-router anycast), ::1 (the node), and the RFC 5453 reserved interface ids
// (0200:5EFF:FE00:0000-0200:5EFF:FEFF:FFFF and FDFF:FFFF:FFFF:FF80-FDFF:FFFF:FFFF:FFFF).
bool isReservedInterfaceId(std::uint64_t iid) noexcept;

// Candidate number `attempt` (0, 1, ...) for an attachment. Never reserved. Stable across releases,
// builds and machines (a fixed hash, not std::hash).
std::uint64_t interfaceIdCandidate(std::string_view network, std::string_view containerId,
                                   std::string_view ifname, unsigned attempt) noexcept;

// How many host veth names ADD tries for one attachment before giving up: a later one is used only
// when the earlier ones are taken by devices that are not this attachment's.
inline constexpr unsigned kMaxHostVethCandidates = 8;

// A short stable hash used to name the host-side veth ("sx" + 12 hex digits). Candidate 0 is the
// name every sixrd release used; later ones mix the attempt number in.
std::string_view hostVethPrefix() noexcept;
std::uint64_t attachmentHash(std::string_view containerId, std::string_view ifname,
                             unsigned attempt = 0) noexcept;
// Host-side veth name candidate `attempt`: hostVethPrefix() + the low 48 bits of attachmentHash()
// as 12 lowercase hex digits, e.g. "sx3f09a1c47b2e" (14 characters, fits IFNAMSIZ).
std::string hostVethName(std::string_view containerId, std::string_view ifname,
                         unsigned attempt = 0);

}  // namespace sixrd::ipam
