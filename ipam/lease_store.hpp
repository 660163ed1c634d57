// The lease store: one file per leased address under <dataDir>/<network>/, named by the address's
// interface id (16 lowercase hex digits) and holding "containerId\nifname\naddress\n".
// The store belongs to one node, so the interface id alone identifies the address; naming files by
// it keeps lookups independent of the node /64 (which follows the node IPv4).
// The file system is the lock: many plugin processes may run at once (runtimes call plugins in
// parallel) and none takes a global lock on the fast path. A lease is written to a temp file
// (".tmp-*", O_CREAT|O_EXCL) and published with link(), which fails atomically when the name is
// taken, so a lease file is never seen empty or half-written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ipam/sixrd_math.hpp"

namespace sixrd::ipam {

// I/O failure of the store (permission, disk full, ...). what() names the path and strerror.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every candidate interface id for this attachment is taken by another owner.
class AddressesExhausted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Owner {
  std::string containerId;
  std::string ifname;
  friend auto operator<=>(const Owner&, const Owner&) = default;
};

struct Lease {
  std::uint64_t interfaceId = 0;
  Ipv6Addr address{};
  Owner owner;
};

class LeaseStore {
 public:
  // dataDir/network is created on first acquire (mode 0700). Throws std::invalid_argument when
  // network could escape dataDir (empty, ".", "..", contains '/' or NUL). Owner strings are not
  // validated here beyond what storage needs (the CNI layer checks the container id).
  LeaseStore(std::filesystem::path dataDir, std::string network);

  // The lease of this owner, if any. O(kMaxCandidates) file probes, independent of pod count.
  // A missing store directory means no lease. Throws StoreError on I/O failure.
  [[nodiscard]] std::optional<Lease> find(const Owner& owner) const;

  // Returns the owner's existing lease (as stored), else claims the first free candidate address
  // inside node64. Concurrent calls for one owner return the same lease. Throws
  // AddressesExhausted or StoreError; std::invalid_argument when node64 is not a /64 or an owner
  // field contains a newline or NUL (it could not be read back). When `created` is given it is set
  // to whether this call made the lease (false: it existed, or a concurrent call made it).
  Lease acquire(const Owner& owner, const Ipv6Prefix& node64, bool* created = nullptr);

  // Removes the owner's lease. Idempotent: no lease is not an error.
  // Returns true when a lease was removed.
  bool release(const Owner& owner);

  // Every lease in the store, ordered by interface id (temp files and files that cannot be read
  // as a lease are skipped).
  [[nodiscard]] std::vector<Lease> list() const;

  // Releases every lease whose owner is not in `valid`; returns what it released. Also removes
  // temp files left by a process that died mid-acquire (older than a minute).
  std::vector<Lease> gc(const std::set<Owner>& valid);

  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
  std::string network_;
};

}  // namespace sixrd::ipam
