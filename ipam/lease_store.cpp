#include "ipam/lease_store.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <system_error>

#include "ipam/interface_id.hpp"
#include "util/owner.hpp"
#include "util/scope_guard.hpp"

namespace sixrd::ipam {
namespace fs = std::filesystem;
namespace {

// A lease file holds two short names and an address; anything larger is not ours, and the cap keeps
// a stray huge file from being read into memory.
constexpr std::size_t kMaxLeaseFileSize = 4096;
// Lease files are named by 16 hex digits, so a leading dot can never clash with one and keeps
// temp files out of every lookup.
constexpr std::string_view kTempPrefix = ".tmp-";
// A temp file lives for the microseconds between its write and its link(); one this old was left
// by a process that died in between.
constexpr std::time_t kStaleTempSeconds = 60;
// How often acquire re-tries one candidate whose holder keeps releasing it under our feet.
constexpr int kClaimRetries = 8;
// A lease being reclaimed: ".reclaim-<16 hex>-<pid>-<n>". The leading dot keeps it out of every
// lookup, like a temp file.
constexpr std::string_view kTombPrefix = ".reclaim-";
// Owner locks: ".lock-00" to ".lock-ff". Never removed (256 empty files at most), so a waiter never
// holds a lock on a file someone unlinked meanwhile.
constexpr std::string_view kLockPrefix = ".lock-";
// Present when a lease of this store may sit on a candidate other than its owner's first: made
// before such a lease is claimed (and by gc() for one an older release made), never removed. While
// it is absent, find() probes the owner's first candidate alone: a lease lands on a later one only
// when the first is held by another owner (a 64-bit collision) or by a file that is not a lease.
constexpr std::string_view kSpilledMarker = ".spilled";

[[noreturn]] void throwStoreError(std::string_view what, const fs::path& path, int err) {
  throw StoreError("lease store: cannot " + std::string(what) + " " + path.string() + ": " +
                   std::generic_category().message(err));
}

std::string hex16(std::uint64_t value) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[value & 0xf];
    value >>= 4;
  }
  return out;
}

// Only the exact canonical spelling counts, so that one interface id has exactly one file name.
std::optional<std::uint64_t> parseHex16(std::string_view name) {
  if (name.size() != 16) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : name) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  return value;
}

// A newline would split a field when the file is read back, and the lease would then never be
// found again (leaked); a NUL would be cut by every C API on the way.
bool storable(std::string_view field) {
  return field.find('\n') == std::string_view::npos && field.find('\0') == std::string_view::npos;
}

bool storable(const Owner& owner) { return storable(owner.containerId) && storable(owner.ifname); }

// The names hostVethName() makes: anything else in a lease was not written by acquire().
bool isHostVethName(std::string_view name) {
  const std::string_view prefix = hostVethPrefix();
  return name.size() == prefix.size() + 12 && name.starts_with(prefix) &&
         name.find_first_not_of("0123456789abcdef", prefix.size()) == std::string_view::npos;
}

std::string leaseText(const Lease& lease) {
  std::string text =
      lease.owner.containerId + "\n" + lease.owner.ifname + "\n" + formatIpv6(lease.address) + "\n";
  if (!lease.hostVeth.empty()) text += lease.hostVeth + "\n";
  return text;
}

std::optional<Lease> parseLease(std::string_view text, std::uint64_t iid) {
  const auto first = text.find('\n');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = text.find('\n', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const auto third = text.find('\n', second + 1);
  if (third == std::string_view::npos) return std::nullopt;

  Lease lease;
  if (third + 1 != text.size()) {
    // The host veth line; a lease written before it was recorded ends after the address.
    const auto fourth = text.find('\n', third + 1);
    if (fourth == std::string_view::npos || fourth + 1 != text.size() || fourth == third + 1) {
      return std::nullopt;
    }
    lease.hostVeth = std::string(text.substr(third + 1, fourth - third - 1));
    if (!isHostVethName(lease.hostVeth)) return std::nullopt;
  }
  lease.interfaceId = iid;
  lease.owner.containerId = std::string(text.substr(0, first));
  lease.owner.ifname = std::string(text.substr(first + 1, second - first - 1));
  const std::string addr(text.substr(second + 1, third - second - 1));
  if (inet_pton(AF_INET6, addr.c_str(), lease.address.data()) != 1) return std::nullopt;
  // A file whose address disagrees with its name was not written by acquire(); trusting either
  // half could hand out an address twice.
  std::uint64_t low = 0;
  for (int i = 8; i < 16; ++i) low = (low << 8) | lease.address[i];
  if (low != iid) return std::nullopt;
  return lease;
}

struct Probe {
  bool exists = false;         // a file (of any kind) holds the name
  std::optional<Lease> lease;  // set when it reads as a complete lease
  struct stat st {};           // of the file read, when it could be opened
  util::UniqueFd fd;           // that file, still open
};

// `path` names the file in errors; `dirFd` and `name`, when given, are what is opened (openat:
// the kernel walks one name, not every component of the store's path).
Probe probe(const std::string& path, std::uint64_t iid, int dirFd = AT_FDCWD,
            const char* name = nullptr) {
  // O_NOFOLLOW and O_NONBLOCK: a planted symlink or FIFO must neither redirect nor hang us.
  util::UniqueFd fd(::openat(dirFd, name != nullptr ? name : path.c_str(),
                             O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return {};
    if (err == ELOOP) return {true, std::nullopt, {}, {}};
    throwStoreError("open", path, err);
  }
  Probe out{true, std::nullopt, {}, {}};
  struct stat& st = out.st;
  if (::fstat(fd.get(), &st) != 0) throwStoreError("stat", path, errno);
  if (!S_ISREG(st.st_mode)) return out;

  std::string text;
  char buf[512];
  while (text.size() <= kMaxLeaseFileSize) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throwStoreError("read", path, errno);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    // Everything fstat counted is in: no further read to be told so (a lease file is written
    // whole before it is linked in, never in place). A size of 0 proves nothing on some
    // filesystems, so such a file is read to its end.
    if (st.st_size > 0 && text.size() >= static_cast<std::size_t>(st.st_size)) break;
  }
  if (text.size() <= kMaxLeaseFileSize) out.lease = parseLease(text, iid);
  out.fd = std::move(fd);
  return out;
}

void writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throwStoreError("write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// mkdir per component instead of fs::create_directories, which cannot set the mode: lease files
// name every pod on the node and stay private to root. EEXIST from a racing process is success.
// Called where a missing directory made an open fail (ENOENT): the store's directory exists on
// every call but a node's first, and a mkdir that answers EEXIST is a system call for nothing.
void ensureDir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return;
  if (errno != ENOENT) throwStoreError("create directory", dir, errno);
  fs::path current;
  for (const auto& part : dir) {
    current /= part;
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) {
      throwStoreError("create directory", current, errno);
    }
  }
}

// open(path, flags) for a file in `dir`, creating `dir` first when the open says it is missing.
int openInDir(const fs::path& dir, const char* path, int flags) {
  int fd = ::open(path, flags, 0600);
  if (fd < 0 && errno == ENOENT) {
    ensureDir(dir);
    fd = ::open(path, flags, 0600);
  }
  return fd;
}

// The content is written to a private temp file and published with link(), which fails with
// EEXIST atomically like O_EXCL but never exposes an empty or half-written lease: a concurrent ADD
// of the same owner that found a partial file would skip to the next candidate and lease a second
// address.
fs::path writeTemp(const fs::path& dir, std::string_view content) {
  static std::atomic<unsigned> counter{0};
  for (int tries = 0;; ++tries) {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    // pid alone is not unique across pid namespaces sharing the data dir; O_EXCL settles the rest.
    fs::path temp =
        dir / (std::string(kTempPrefix) + std::to_string(::getpid()) + "-" +
               std::to_string(counter.fetch_add(1)) + "-" + std::to_string(now.tv_nsec));
    util::UniqueFd fd(
        openInDir(dir, temp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) {
      if (errno == EEXIST && tries < 100) continue;
      throwStoreError("create", temp, errno);
    }
    util::ScopeGuard removeTemp([&]() noexcept { ::unlink(temp.c_str()); });
    writeAll(fd.get(), content, temp);
    if (fd.close() != 0) throwStoreError("write", temp, errno);
    removeTemp.dismiss();
    return temp;
  }
}

// The same publication through an unnamed O_TMPFILE inode, linked in through /proc/self/fd (plain
// linkat with AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH): a process killed at any point leaves
// no temp file behind, since an unlinked inode dies with its last descriptor. nullopt when the
// filesystem or the kernel has no O_TMPFILE, or /proc is not mounted: the caller then falls back
// to a named temp file.
std::optional<bool> claimUnnamed(const fs::path& dir, const std::string& path,
                                 std::string_view content) {
  util::UniqueFd fd(openInDir(dir, dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) return std::nullopt;
    throwStoreError("create a temp file in", dir, errno);
  }
  writeAll(fd.get(), content, path);
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) return true;
  if (errno == EEXIST) return false;
  if (errno == ENOENT && ::access(self.c_str(), F_OK) != 0) return std::nullopt;  // no /proc
  throwStoreError("create", path, errno);
}

// True when this call created `path`; false when the name was already taken.
bool claim(const fs::path& dir, const std::string& path, std::string_view content) {
  if (const auto claimed = claimUnnamed(dir, path, content)) return *claimed;
  const fs::path temp = writeTemp(dir, content);
  const int rc = ::link(temp.c_str(), path.c_str());
  const int err = errno;
  // A temp file left behind here (killed in between) is only clutter: list() skips it and gc()
  // removes it later.
  ::unlink(temp.c_str());
  if (rc == 0) return true;
  if (err == EEXIST) return false;
  throwStoreError("create", path, err);
}

LeaseStore::Clock::time_point timeOf(const timespec& ts) {
  return LeaseStore::Clock::time_point(std::chrono::duration_cast<LeaseStore::Clock::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

// Marks a reused lease as young again (its mtime), through its name: when reclaim has moved the
// file aside meanwhile, the name is empty (false) and the caller claims a fresh lease there.
bool touch(const std::string& path) {
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno == ENOENT) return false;
  throwStoreError("touch", path, errno);
}

// link() then unlink(): unlike rename() it never replaces a file that took the name meanwhile.
bool putBack(const fs::path& from, const fs::path& to) {
  bool restored = true;
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno != EEXIST) throwStoreError("restore", to, errno);
    restored = false;
  }
  if (::unlink(from.c_str()) != 0 && errno != ENOENT) throwStoreError("remove", from, errno);
  return restored;
}

// Calls visit(entry) for every entry of `dir`; a directory that does not exist (or is not one)
// has none. Throws StoreError when the directory cannot be read.
template <class Visit>
void forEachEntry(const fs::path& dir, Visit&& visit) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return;
    throwStoreError("list", dir, ec.value());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throwStoreError("list", dir, ec.value());
    visit(*it);
  }
}

void removeStaleTemps(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return;
  const std::time_t now = std::time(nullptr);
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return;
    const std::string name = it->path().filename().string();
    if (!name.starts_with(kTempPrefix)) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && now - st.st_mtime > kStaleTempSeconds) {
      ::unlink(it->path().c_str());
    }
  }
}

}  // namespace

LeaseStore::LeaseStore(std::filesystem::path dataDir, std::string network)
    : network_(std::move(network)) {
  if (network_.empty() || network_ == "." || network_ == ".." ||
      network_.find('/') != std::string::npos || network_.find('\0') != std::string::npos) {
    throw InvalidInput("name", "lease store: network name \"" + network_ +
                                   "\" cannot be a directory name (empty, \".\", \"..\", or "
                                   "contains '/' or NUL)");
  }
  dataDir /= network_;
  dir_ = std::move(dataDir);
}

std::string LeaseStore::leasePath(std::uint64_t interfaceId) const {
  std::string path = dir_.native();
  path += '/';
  path += hex16(interfaceId);
  return path;
}

std::optional<Lease> LeaseStore::find(const Owner& owner) const {
  if (!storable(owner)) return std::nullopt;
  // The candidates are opened relative to the store's directory: an open of a full path walks
  // every component of it again.
  util::UniqueFd dir(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    // No store directory, no lease; anything else is reported as a probe would report it.
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throwStoreError("open", dir_, errno);
  }
  // Past the first candidate only when the store says a lease may sit there (kSpilledMarker);
  // then every candidate is probed, not just up to the first free one: an earlier candidate may
  // have been released after this owner's lease was made on a later one. A marker that cannot be
  // told absent (any error but ENOENT) counts as present.
  for (unsigned attempt = 0; attempt < kMaxCandidates; ++attempt) {
    if (attempt == 1 &&
        ::faccessat(dir.get(), kSpilledMarker.data(), F_OK, AT_SYMLINK_NOFOLLOW) != 0 &&
        errno == ENOENT) {
      break;
    }
    const std::uint64_t iid =
        interfaceIdCandidate(network_, owner.containerId, owner.ifname, attempt);
    const std::string name = hex16(iid);
    Probe held = probe(dir_.native() + '/' + name, iid, dir.get(), name.c_str());
    if (held.lease && held.lease->owner == owner) {
      found_ = Found{iid, owner, held.st.st_dev, held.st.st_ino, std::move(held.fd)};
      return std::move(held.lease);
    }
  }
  return std::nullopt;
}

std::string hostVethOf(const Lease& lease) {
  return lease.hostVeth.empty() ? hostVethName(lease.owner.containerId, lease.owner.ifname)
                                : lease.hostVeth;
}

LeaseStore::OwnerLock LeaseStore::lock(const Owner& owner) {
  const std::uint64_t hash = attachmentHash(owner.containerId, owner.ifname);
  const fs::path path = dir_ / (std::string(kLockPrefix) + hex16(hash).substr(14));
  util::UniqueFd fd(openInDir(dir_, path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) throwStoreError("open lock", path, errno);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throwStoreError("lock", path, errno);
  }
  return OwnerLock(std::move(fd));
}

Lease LeaseStore::acquire(const Owner& owner, const Ipv6Prefix& node64, bool* created,
                          const std::string& hostVeth) {
  return acquire(owner, node64, created, [&hostVeth] { return hostVeth; });
}

Lease LeaseStore::acquire(const Owner& owner, const Ipv6Prefix& node64, bool* created,
                          const std::function<std::string()>& chooseHostVeth) {
  if (created != nullptr) *created = false;
  if (!storable(owner)) {
    throw InvalidInput("owner", "lease store: container id or ifname contains a newline or NUL");
  }
  if (node64.len != 64) {
    throw InvalidInput("node64",
                       "lease store: node prefix " + formatPrefix(node64) + " is not a /64");
  }
  if (auto existing = find(owner)) {
    if (touch(leasePath(existing->interfaceId))) return *existing;
    // Reclaim buried it between our read and our touch: claim afresh below.
  }
  const std::string hostVeth = chooseHostVeth();
  if (!hostVeth.empty() && !isHostVethName(hostVeth)) {
    throw InvalidInput("hostVeth", "lease store: \"" + hostVeth + "\" is not a host veth name");
  }

  // Two concurrent ADDs of one owner walk the same candidate sequence and the first link() wins,
  // so the loser reads the winner's lease and returns it. They could only part ways if a lease of
  // another owner on one of this owner's candidates were released between their two walks, which
  // needs a 64-bit interface id collision to begin with.
  for (unsigned attempt = 0; attempt < kMaxCandidates; ++attempt) {
    // Before a lease can sit past its owner's first candidate, find() must know to look there.
    if (attempt == 1) markSpilled();
    Lease lease;
    lease.interfaceId = interfaceIdCandidate(network_, owner.containerId, owner.ifname, attempt);
    lease.address = withInterfaceId(node64, lease.interfaceId);
    lease.owner = owner;
    lease.hostVeth = hostVeth;
    const std::string path = leasePath(lease.interfaceId);
    const std::string content = leaseText(lease);
    for (int tries = 0; tries < kClaimRetries; ++tries) {
      if (claim(dir_, path, content)) {
        if (created != nullptr) *created = true;
        return lease;
      }
      Probe held = probe(path, lease.interfaceId);
      // Released between our link() and our read: the candidate is free again, and skipping it
      // would break the agreement between racing ADDs described above.
      if (!held.exists) continue;
      if (held.lease && held.lease->owner == owner) return std::move(*held.lease);
      break;
    }
  }
  throw AddressesExhausted("lease store: no address for container " + owner.containerId +
                           " ifname " + owner.ifname + ": all " + std::to_string(kMaxCandidates) +
                           " candidate interface ids are held by other owners or unreadable files "
                           "in " +
                           dir_.string() + "; remove stale files there");
}

bool LeaseStore::release(const Owner& owner) {
  const std::optional<Lease> lease = find(owner);
  return lease && removeLease(*lease);
}

bool LeaseStore::release(const Lease& lease) {
  const std::string path = leasePath(lease.interfaceId);
  if (found_ && found_->interfaceId == lease.interfaceId && found_->owner == lease.owner) {
    // find() read this lease from a file it still holds open, so that inode is alive and its
    // number names no other file on the device: the same number at the name is the same lease,
    // never rewritten in place. One stat instead of reading the file again.
    struct stat st {};
    if (::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return false;
      throwStoreError("stat", path, errno);
    }
    return st.st_dev == found_->device && st.st_ino == found_->inode && removeLease(lease);
  }
  const Probe held = probe(path, lease.interfaceId);
  return held.lease && held.lease->owner == lease.owner && removeLease(lease);
}

void LeaseStore::markSpilled() {
  const fs::path path = dir_ / kSpilledMarker;
  // O_EXCL: whatever holds the name already (a marker, or anything planted there: a FIFO would
  // block a plain open) counts as the marker, and is never opened.
  const util::UniqueFd fd(openInDir(dir_, path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC));
  if (fd.get() < 0 && errno != EEXIST) throwStoreError("create", path, errno);
}

bool LeaseStore::removeLease(const Lease& lease) {
  const std::string path = leasePath(lease.interfaceId);
  if (::unlink(path.c_str()) == 0) return true;
  // A concurrent DEL of the same owner got there first.
  if (errno == ENOENT) return false;
  throwStoreError("remove", path, errno);
}

std::vector<Lease> LeaseStore::list() const {
  std::vector<Lease> leases;
  forEachEntry(dir_, [&](const fs::directory_entry& entry) {
    const std::optional<std::uint64_t> iid = parseHex16(entry.path().filename().string());
    if (!iid) return;
    try {
      Probe held = probe(entry.path(), *iid);
      if (held.lease) leases.push_back(std::move(*held.lease));
    } catch (const StoreError&) {
      // One unreadable file must not hide every other lease from CHECK and GC.
    }
  });
  std::sort(leases.begin(), leases.end(),
            [](const Lease& a, const Lease& b) { return a.interfaceId < b.interfaceId; });
  return leases;
}

std::vector<Lease> LeaseStore::gc(const std::set<Owner>& valid) {
  std::vector<Lease> released;
  for (Lease& lease : list()) {
    if (valid.contains(lease.owner)) {
      // A lease past its owner's first candidate that an older release made without the marker:
      // find() would not see it until the marker is there.
      if (lease.interfaceId !=
          interfaceIdCandidate(network_, lease.owner.containerId, lease.owner.ifname, 0)) {
        markSpilled();
      }
      continue;
    }
    const fs::path path = dir_ / hex16(lease.interfaceId);
    if (::unlink(path.c_str()) == 0) {
      released.push_back(std::move(lease));
    } else if (errno != ENOENT) {
      throwStoreError("remove", path, errno);
    }
  }
  removeStaleTemps(dir_);
  return released;
}

std::vector<LeaseStore::File> LeaseStore::scan() const {
  std::vector<File> files;
  forEachEntry(dir_, [&](const fs::directory_entry& entry) {
    File file;
    file.name = entry.path().filename().string();
    if (file.name.starts_with(kLockPrefix) || file.name == kSpilledMarker) return;
    std::optional<std::uint64_t> iid;
    if (file.name.starts_with(kTempPrefix)) {
      file.kind = File::Kind::kTemp;
    } else if (file.name.starts_with(kTombPrefix)) {
      file.kind = File::Kind::kTombstone;
      iid = parseHex16(std::string_view(file.name).substr(kTombPrefix.size(), 16));
    } else if ((iid = parseHex16(file.name))) {
      file.kind = File::Kind::kLease;
    } else {
      file.why = "not named by an interface id";
    }
    Probe held;
    try {
      if (iid) held = probe(entry.path(), *iid);
    } catch (const StoreError& e) {
      held.exists = false;
      file.why = e.what();
    }
    struct stat st {};
    if (held.exists && held.st.st_ino != 0) {
      st = held.st;
    } else if (::lstat(entry.path().c_str(), &st) != 0) {
      if (errno == ENOENT) return;  // gone since the listing
      throwStoreError("stat", entry.path(), errno);
    }
    file.modified = timeOf(st.st_mtim);
    file.changed = timeOf(st.st_ctim);
    file.device = st.st_dev;
    file.inode = st.st_ino;
    file.lease = std::move(held.lease);
    if (file.kind == File::Kind::kLease && !file.lease) {
      file.kind = File::Kind::kForeign;
      if (file.why.empty()) {
        file.why = S_ISREG(st.st_mode) ? "does not read as a lease" : "not a regular file";
      }
    }
    files.push_back(std::move(file));
  });
  std::sort(files.begin(), files.end(),
            [](const File& a, const File& b) { return a.name < b.name; });
  return files;
}

std::optional<LeaseStore::Tombstone> LeaseStore::bury(const File& seen, std::string* why) {
  if (seen.kind != File::Kind::kLease || !seen.lease) {
    throw InvalidInput("file", "lease store: bury needs a lease file, got " + seen.name);
  }
  const fs::path path = dir_ / seen.name;
  static std::atomic<unsigned> counter{0};
  fs::path tomb;
  for (int tries = 0;; ++tries) {
    tomb = dir_ / (std::string(kTombPrefix) + seen.name + "-" + std::to_string(::getpid()) + "-" +
                   std::to_string(counter.fetch_add(1)));
    // NOREPLACE: a daemon is often PID 1 of its container, so a tombstone a dead predecessor left
    // could carry the same name, and renaming over it would lose that lease.
    int rc = ::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, tomb.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) rc = ::rename(path.c_str(), tomb.c_str());
    if (rc == 0) break;
    if (errno == EEXIST && tries < 100) continue;
    if (errno == ENOENT) {
      if (why != nullptr) *why = "released since the scan";
      return std::nullopt;
    }
    throwStoreError("rename", path, errno);
  }
  struct stat st {};
  if (::lstat(tomb.c_str(), &st) != 0) throwStoreError("stat", tomb, errno);
  std::string_view changed;
  if (st.st_dev != seen.device || st.st_ino != seen.inode) {
    changed = "published anew since the scan";
  } else if (timeOf(st.st_mtim) != seen.modified) {
    changed = "reused by an ADD since the scan";
  }
  if (!changed.empty()) {
    putBack(tomb, path);
    if (why != nullptr) *why = changed;
    return std::nullopt;
  }
  return Tombstone{tomb, *seen.lease};
}

void LeaseStore::discard(const Tombstone& tombstone) {
  if (::unlink(tombstone.path.c_str()) != 0 && errno != ENOENT) {
    throwStoreError("remove", tombstone.path, errno);
  }
}

bool LeaseStore::exhume(const Tombstone& tombstone) {
  return putBack(tombstone.path, dir_ / hex16(tombstone.lease.interfaceId));
}

LeaseStore::Tombstone LeaseStore::tombstoneOf(const File& file) const {
  if (file.kind != File::Kind::kTombstone || !file.lease) {
    throw InvalidInput("file", "lease store: " + file.name + " is not a readable tombstone");
  }
  return Tombstone{dir_ / file.name, *file.lease};
}

}  // namespace sixrd::ipam
