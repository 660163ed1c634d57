// The lease store: one file per leased address under <dataDir>/<network>/, named by the address's
// interface id (16 lowercase hex digits) and holding "containerId\nifname\naddress\nhostVeth\n"
// (leases written before the host veth name was recorded lack the last line; they are read as
// naming ipam::hostVethName(containerId, ifname)).
// The store belongs to one node, so the interface id alone identifies the address; naming files by
// it keeps lookups independent of the node /64 (which follows the node IPv4).
// The file system is the lock: many plugin processes may run at once (runtimes call plugins in
// parallel) and none takes a global lock on the fast path. A lease is written to an unnamed
// O_TMPFILE inode and published under its name with linkat(), which fails atomically when the name
// is taken, so a lease file is never seen empty or half-written, and a process killed mid-write
// leaves nothing. Where O_TMPFILE or /proc is missing, the fallback writes a named temp file
// (".tmp-*", O_CREAT|O_EXCL) and link()s that; gc() removes such a file a killed process left.
//
// Reclaim (the daemon, install/reclaim.hpp) takes a lease back in steps an ADD can race safely:
// scan() reports each file's age; bury() renames one lease to a tombstone (".reclaim-*", invisible
// to find/list like temp files) only when the file is still the one scanned and no ADD touched it
// since; then the caller re-checks the pod and either discard()s the tombstone or exhume()s it.
// acquire() touches (mtime) a lease it reuses, through its name: an ADD that reuses a lease just
// before bury() shows up as a changed mtime on the tombstone, and one just after finds no file
// under the name and claims a fresh lease there, which exhume() never overwrites.
//
// An owner's lease sits on its first candidate interface id unless that one was held when it was
// made (by another owner's lease: a 64-bit collision; or by a file that is not a lease). Such a
// lease is made only after a marker file (".spilled") exists, and find() looks past the first
// candidate only while it does: one probe and one marker check per look-up instead of 16.
//
// ADD and DEL of one attachment serialize on an owner lock (lock()): flock on one of 256 lock files
// (".lock-XX", chosen by a hash of the owner) in the store directory. Two ADDs for one container,
// or an ADD racing its DEL, then see each other's finished work, never half of it; attachments of
// different pods share a lock file only by chance, and then only wait for each other.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ipam/sixrd_math.hpp"
#include "util/owner.hpp"

namespace sixrd::ipam {

// I/O failure of the store (permission, disk full, ...). what() names the path and strerror;
// details() is "lease store".
class StoreError : public Error {
 public:
  explicit StoreError(const std::string& message) : Error(Kind::kStore, message, "lease store") {}
};

// Every candidate interface id for this attachment is taken by another owner.
class AddressesExhausted : public Error {
 public:
  explicit AddressesExhausted(const std::string& message)
      : Error(Kind::kAddressesExhausted, message) {}
};

struct Owner {
  std::string containerId;
  std::string ifname;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend auto operator<=>(const Owner&, const Owner&) = default;
};

struct Lease {
  std::uint64_t interfaceId = 0;
  Ipv6Addr address{};
  Owner owner;
  std::string hostVeth;  // the host veth ADD chose; empty in a lease written before it was recorded
};

// The host veth a lease's attachment has: the recorded one, else the name every sixrd release
// before the record used (ipam::hostVethName(containerId, ifname)).
std::string hostVethOf(const Lease& lease);

class LeaseStore {
 public:
  // dataDir/network is created on first acquire (mode 0700). Throws InvalidInput (field "name")
  // when network could escape dataDir (empty, ".", "..", contains '/' or NUL). Owner strings are
  // not validated here beyond what storage needs (the CNI layer checks the container id).
  LeaseStore(std::filesystem::path dataDir, std::string network);

  // The lease of this owner, if any: one probe of the owner's first candidate and one of the
  // store's spill marker; all kMaxCandidates only in a store where a lease was ever made past its
  // owner's first (a collision). Independent of pod count.
  // A missing store directory means no lease. Throws StoreError on I/O failure.
  [[nodiscard]] std::optional<Lease> find(const Owner& owner) const;

  // Returns the owner's existing lease (as stored, its mtime set to now: a reused lease is young
  // again for reclaim), else claims the first free candidate address inside node64. Concurrent
  // calls for one owner return the same lease. Throws
  // AddressesExhausted or StoreError; InvalidInput when node64 is not a /64 or an owner
  // field contains a newline or NUL (it could not be read back). When `created` is given it is set
  // to whether this call made the lease (false: it existed, or a concurrent call made it).
  // A lease this call makes records `hostVeth` (when not empty); an existing one keeps its own.
  Lease acquire(const Owner& owner, const Ipv6Prefix& node64, bool* created = nullptr,
                const std::string& hostVeth = {});
  // The same, with the host veth asked of `chooseHostVeth` only when a new lease is made (an ADD
  // looks for a free device name only then), and the owner's candidates probed once.
  Lease acquire(const Owner& owner, const Ipv6Prefix& node64, bool* created,
                const std::function<std::string()>& chooseHostVeth);

  // Held for as long as the object lives (the lock goes with its file descriptor, also when the
  // process dies).
  class OwnerLock {
   public:
    explicit OwnerLock(util::UniqueFd fd) noexcept : fd_(std::move(fd)) {}

   private:
    util::UniqueFd fd_;
  };
  // Waits for and takes the owner's lock (see the top of this file), creating the store directory
  // and the lock file when missing. Throws StoreError.
  [[nodiscard]] OwnerLock lock(const Owner& owner);

  // Removes the owner's lease. Idempotent: no lease is not an error.
  // Returns true when a lease was removed.
  bool release(const Owner& owner);
  // Removes `lease`, as find() returned it, when its file still holds that owner's lease (GC may
  // have released it since, and another owner taken the address): one stat of that name when this
  // store's last find() returned the lease (it keeps that file open), else one probe of it.
  bool release(const Lease& lease);

  // Every lease in the store, ordered by interface id (temp files and files that cannot be read
  // as a lease are skipped).
  [[nodiscard]] std::vector<Lease> list() const;

  // Releases every lease whose owner is not in `valid`; returns what it released. Also removes
  // temp files left by a process that died mid-acquire (older than a minute).
  std::vector<Lease> gc(const std::set<Owner>& valid);

  // --- reclaim (see the top of this file) ---

  using Clock = std::chrono::system_clock;

  // One entry of the store directory, as scan() saw it.
  struct File {
    enum class Kind {
      kLease,      // a lease file (lease is set)
      kTemp,       // ".tmp-*": an ADD publishing a lease (or one that died doing so)
      kTombstone,  // ".reclaim-*": a lease being reclaimed (lease is set when it reads as one)
      kForeign,    // anything else: not written by sixrd, or not readable as a lease
    };
    Kind kind = Kind::kForeign;
    std::string name;            // file name inside dir()
    std::optional<Lease> lease;  // kLease; kTombstone when readable
    Clock::time_point modified;  // mtime: when the lease was written or last reused by an ADD
    Clock::time_point changed;   // ctime: for a tombstone, when it was buried
    dev_t device = 0;            // identity of the file scanned, so that bury() moves that file
    ino_t inode = 0;             // and not one published under the same name since
    std::string why;             // kForeign: why it is not a lease
  };

  // Every entry of the store directory but the lock files (lstat, no symlink followed), in name
  // order. A missing directory is an empty store. Throws StoreError when the directory cannot be
  // read.
  [[nodiscard]] std::vector<File> scan() const;

  // A lease moved aside by bury().
  struct Tombstone {
    std::filesystem::path path;
    Lease lease;
  };
  // Renames the lease file `seen` (a kLease from scan()) to a tombstone, atomically: from here
  // find(), list() and acquire() no longer see it. nullopt, with the file back under its name or
  // gone, when it is no longer the file scanned (released, or re-published) or an ADD reused it
  // since the scan (its mtime moved): `why` (when given) then says which. Throws StoreError;
  // InvalidInput when `seen` is not a kLease with its lease.
  std::optional<Tombstone> bury(const File& seen, std::string* why = nullptr);

  // Drops a tombstone: the lease is gone for good.
  void discard(const Tombstone& tombstone);

  // Puts a tombstone's lease back under its name, unless a fresh lease took the name meanwhile
  // (then the fresh one stays and the tombstone is dropped). Returns true when it was put back.
  bool exhume(const Tombstone& tombstone);

  // A tombstone found by scan() (a reclaim that died between bury and discard/exhume).
  // Throws InvalidInput when `file` is not a readable kTombstone.
  [[nodiscard]] Tombstone tombstoneOf(const File& file) const;

  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  // dir_/<16 hex digits>, as a plain string: an ADD names 16 candidates, and building each as a
  // std::filesystem::path (which splits it into components) cost more than probing it.
  [[nodiscard]] std::string leasePath(std::uint64_t interfaceId) const;
  // Creates the marker that sends find() past an owner's first candidate (see lease_store.cpp).
  void markSpilled();
  // Unlinks the lease's file; false when it is gone already.
  bool removeLease(const Lease& lease);

  std::filesystem::path dir_;
  std::string network_;
  // The file of the lease find() last returned, kept open for release(const Lease&).
  struct Found {
    std::uint64_t interfaceId = 0;
    Owner owner;
    dev_t device = 0;
    ino_t inode = 0;
    util::UniqueFd fd;
  };
  mutable std::optional<Found> found_;
};

}  // namespace sixrd::ipam
