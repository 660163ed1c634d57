// The lease store: one O_EXCL-published file per address, safe under concurrent plugin processes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ipam/interface_id.hpp"
#include "ipam/lease_store.hpp"
#include "ipam/sixrd_math.hpp"
#include "test_files.hpp"

namespace sixrd::ipam {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kNetwork[] = "sixrd";

std::string hex16(std::uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::uint64_t candidate(const Owner& owner, unsigned attempt) {
  return interfaceIdCandidate(kNetwork, owner.containerId, owner.ifname, attempt);
}

void writeFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

using test::readFile;

class LeaseStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::makeTempDir("lease-test");
    dataDir_ = root_ / "data";
    node64_ = parseIpv6Prefix("fd00:10:0:307::/64", "node64");
  }
  void TearDown() override { fs::remove_all(root_); }

  [[nodiscard]] LeaseStore store() const { return LeaseStore(dataDir_, kNetwork); }
  [[nodiscard]] fs::path dir() const { return dataDir_ / kNetwork; }
  [[nodiscard]] fs::path fileOf(const Owner& owner, unsigned attempt) const {
    return dir() / hex16(candidate(owner, attempt));
  }

  // `owner`'s lease, acquired through one store and found by another, as DEL's store finds it.
  struct StoreThatFound {
    LeaseStore store;
    Lease lease;
  };
  [[nodiscard]] StoreThatFound acquiredAndFound(const Owner& owner) const {
    store().acquire(owner, node64_);
    LeaseStore s = store();
    const std::optional<Lease> found = s.find(owner);
    EXPECT_TRUE(found.has_value()) << owner.containerId;
    return {std::move(s), found.value_or(Lease{})};
  }

  // A lease file exactly as another owner's acquire() would have written it.
  void plantLease(const Owner& holder, std::uint64_t iid) const {
    fs::create_directories(dir());
    writeFile(dir() / hex16(iid), holder.containerId + "\n" + holder.ifname + "\n" +
                                      formatIpv6(withInterfaceId(node64_, iid)) + "\n");
  }

  [[nodiscard]] std::vector<std::string> tempFiles() const {
    std::vector<std::string> out;
    if (!fs::exists(dir())) return out;
    for (const auto& entry : fs::directory_iterator(dir())) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(".tmp-")) out.push_back(name);
    }
    return out;
  }

  fs::path root_;
  fs::path dataDir_;
  Ipv6Prefix node64_;
};

// --- acquire -------------------------------------------------------------------------------------

TEST_F(LeaseStoreTest, AcquireClaimsTheFirstCandidateInsideTheNode64) {
  const Owner owner{"c0ffee", "eth0"};
  const Lease lease = store().acquire(owner, node64_);
  EXPECT_EQ(lease.interfaceId, candidate(owner, 0));
  EXPECT_EQ(lease.address, withInterfaceId(node64_, lease.interfaceId));
  EXPECT_TRUE(contains(node64_, lease.address));
  EXPECT_EQ(lease.owner, owner);
  EXPECT_EQ(readFile(fileOf(owner, 0)), "c0ffee\neth0\n" + formatIpv6(lease.address) + "\n");
}

TEST_F(LeaseStoreTest, AcquireCreatesPrivateDirectoriesAndFiles) {
  dataDir_ = root_ / "a" / "b" / "data";
  const Owner owner{"c0ffee", "eth0"};
  store().acquire(owner, node64_);
  for (const fs::path& path : {root_ / "a", root_ / "a" / "b", dataDir_, dir()}) {
    EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_all) << path;
  }
  EXPECT_EQ(fs::status(fileOf(owner, 0)).permissions(),
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(store().dir(), dir());
}

TEST_F(LeaseStoreTest, AcquireIsIdempotentPerOwner) {
  const Owner owner{"c0ffee", "eth0"};
  bool created = false;
  const Lease first = store().acquire(owner, node64_, &created);
  EXPECT_TRUE(created) << "the first acquire makes the lease";
  const Lease again = store().acquire(owner, node64_, &created);
  EXPECT_FALSE(created) << "a repeated acquire returns the existing lease";
  EXPECT_EQ(again.interfaceId, first.interfaceId);
  EXPECT_EQ(again.address, first.address);
  EXPECT_EQ(store().list().size(), 1u);
}

TEST_F(LeaseStoreTest, DistinctOwnersGetDistinctAddresses) {
  LeaseStore leases = store();
  std::set<Ipv6Addr> addresses;
  for (int pod = 0; pod < 100; ++pod) {
    for (const char* ifname : {"eth0", "net1"}) {
      addresses.insert(leases.acquire({"pod" + std::to_string(pod), ifname}, node64_).address);
    }
  }
  EXPECT_EQ(addresses.size(), 200u);
  EXPECT_EQ(leases.list().size(), 200u);
}

TEST_F(LeaseStoreTest, CollisionWithAnotherOwnerMovesToTheNextCandidate) {
  const Owner owner{"c0ffee", "eth0"};
  const Owner other{"other", "eth0"};
  plantLease(other, candidate(owner, 0));

  const Lease lease = store().acquire(owner, node64_);
  EXPECT_EQ(lease.interfaceId, candidate(owner, 1));
  ASSERT_TRUE(store().find(owner).has_value());
  EXPECT_EQ(store().find(owner)->interfaceId, candidate(owner, 1));
  EXPECT_THAT(readFile(fileOf(owner, 0)), HasSubstr("other\n"));  // untouched
}

TEST_F(LeaseStoreTest, FindLooksPastAFreedEarlierCandidate) {
  const Owner owner{"c0ffee", "eth0"};
  plantLease({"other", "eth0"}, candidate(owner, 0));
  const Lease lease = store().acquire(owner, node64_);
  fs::remove(fileOf(owner, 0));

  ASSERT_TRUE(store().find(owner).has_value());
  EXPECT_EQ(store().find(owner)->interfaceId, lease.interfaceId);
  EXPECT_EQ(store().acquire(owner, node64_).interfaceId, lease.interfaceId);
  EXPECT_EQ(store().list().size(), 1u);
}

// find() looks past an owner's first candidate only in a store marked as holding a lease there:
// a store without collisions costs one probe (and one marker check) per look-up, not 16.
TEST_F(LeaseStoreTest, OnlyALeasePastTheFirstCandidateMarksTheStore) {
  const Owner owner{"c0ffee", "eth0"};
  store().acquire(owner, node64_);
  store().acquire({"pod2", "eth0"}, node64_);
  EXPECT_FALSE(fs::exists(dir() / ".spilled"));

  const Owner collided{"deadbeef", "eth0"};
  plantLease({"other", "eth0"}, candidate(collided, 0));
  EXPECT_EQ(store().acquire(collided, node64_).interfaceId, candidate(collided, 1));
  EXPECT_TRUE(fs::is_regular_file(dir() / ".spilled"));
  // The marker is neither a lease nor anything reclaim should report.
  EXPECT_EQ(store().list().size(), 4u);
  for (const auto& file : store().scan()) EXPECT_NE(file.name, ".spilled");
}

// A lease past the first candidate that a release before the marker made (no marker in its store)
// is not found until gc() sees it among the valid attachments and marks the store.
TEST_F(LeaseStoreTest, GcMarksAStoreWhoseLeaseSitsPastTheFirstCandidate) {
  const Owner owner{"c0ffee", "eth0"};
  plantLease(owner, candidate(owner, 1));
  EXPECT_FALSE(store().find(owner).has_value());

  EXPECT_TRUE(store().gc({owner}).empty());
  EXPECT_TRUE(fs::is_regular_file(dir() / ".spilled"));
  ASSERT_TRUE(store().find(owner).has_value());
  EXPECT_EQ(store().find(owner)->interfaceId, candidate(owner, 1));
  EXPECT_EQ(store().acquire(owner, node64_).interfaceId, candidate(owner, 1));
  EXPECT_TRUE(store().release(owner));
  EXPECT_TRUE(store().list().empty());
}

// Anything at the marker's name counts as the marker: find() then looks at every candidate, and a
// spilling acquire() neither opens it (a FIFO would block) nor fails on it.
TEST_F(LeaseStoreTest, AnythingAtTheMarkersNameSendsFindPastTheFirstCandidate) {
  const Owner owner{"c0ffee", "eth0"};
  plantLease(owner, candidate(owner, 2));
  fs::create_symlink(root_ / "nowhere", dir() / ".spilled");
  ASSERT_TRUE(store().find(owner).has_value());
  EXPECT_EQ(store().find(owner)->interfaceId, candidate(owner, 2));

  fs::remove(dir() / ".spilled");
  ASSERT_EQ(::mkfifo((dir() / ".spilled").c_str(), 0600), 0);
  const Owner collided{"deadbeef", "eth0"};
  plantLease({"other", "eth0"}, candidate(collided, 0));
  EXPECT_EQ(store().acquire(collided, node64_).interfaceId, candidate(collided, 1));
  EXPECT_EQ(store().find(collided)->interfaceId, candidate(collided, 1));
}

TEST_F(LeaseStoreTest, AllCandidatesTakenThrowsAddressesExhausted) {
  const Owner owner{"c0ffee", "eth0"};
  for (unsigned attempt = 0; attempt < kMaxCandidates; ++attempt) {
    plantLease({"other" + std::to_string(attempt), "eth0"}, candidate(owner, attempt));
  }
  EXPECT_THROW(store().acquire(owner, node64_), AddressesExhausted);
  EXPECT_TRUE(tempFiles().empty());
}

TEST_F(LeaseStoreTest, AcquireLeavesNoTempFiles) {
  for (int pod = 0; pod < 20; ++pod)
    store().acquire({"pod" + std::to_string(pod), "eth0"}, node64_);
  EXPECT_TRUE(tempFiles().empty());
}

TEST_F(LeaseStoreTest, AcquireRefusesOwnersThatCannotBeStored) {
  EXPECT_THROW(store().acquire({"c0\nffee", "eth0"}, node64_), InvalidInput);
  EXPECT_THROW(store().acquire({"c0ffee", std::string("eth\0", 4)}, node64_), InvalidInput);
  EXPECT_FALSE(store().find({"c0\nffee", "eth0"}).has_value());
}

TEST_F(LeaseStoreTest, AcquireRefusesANodePrefixThatIsNotA64) {
  EXPECT_THROW(store().acquire({"c0ffee", "eth0"}, parseIpv6Prefix("fd00:10::/48", "p")),
               InvalidInput);
}

TEST_F(LeaseStoreTest, IoFailureThrowsStoreErrorNamingThePath) {
  writeFile(root_ / "file", "not a directory");
  dataDir_ = root_ / "file" / "data";
  try {
    store().acquire({"c0ffee", "eth0"}, node64_);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr((root_ / "file").string()));
    EXPECT_THAT(e.what(), HasSubstr("Not a directory"));
  }
}

// --- release, list, gc ---------------------------------------------------------------------------

TEST_F(LeaseStoreTest, ReleaseRemovesTheLeaseAndIsIdempotent) {
  const Owner owner{"c0ffee", "eth0"};
  store().acquire(owner, node64_);
  EXPECT_TRUE(store().release(owner));
  EXPECT_FALSE(store().find(owner).has_value());
  EXPECT_FALSE(fs::exists(fileOf(owner, 0)));
  EXPECT_FALSE(store().release(owner));
  EXPECT_TRUE(store().list().empty());
}

TEST_F(LeaseStoreTest, ReleaseTouchesOnlyTheOwnersLease) {
  const Owner owner{"c0ffee", "eth0"};
  plantLease({"other", "eth0"}, candidate(owner, 0));
  store().acquire(owner, node64_);
  store().acquire({"c0ffee", "net1"}, node64_);

  EXPECT_TRUE(store().release(owner));
  std::set<Owner> left;
  for (const Lease& lease : store().list()) left.insert(lease.owner);
  EXPECT_EQ(left, (std::set<Owner>{{"other", "eth0"}, {"c0ffee", "net1"}}));
}

TEST_F(LeaseStoreTest, ReleaseOfAFoundLeaseRemovesItsFileOnce) {
  const Owner owner{"c0ffee", "eth0"};
  plantLease({"other", "eth0"}, candidate(owner, 0));
  store().acquire(owner, node64_);
  const std::optional<Lease> found = store().find(owner);
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(store().release(*found));
  EXPECT_FALSE(store().find(owner).has_value());
  EXPECT_FALSE(store().release(*found));
  ASSERT_EQ(store().list().size(), 1U);
  EXPECT_EQ(store().list().front().owner, (Owner{"other", "eth0"}));
}

TEST_F(LeaseStoreTest, ReleaseOfAFoundLeaseLeavesAnotherOwnersFileAlone) {
  // GC released the lease after DEL found it, and another owner's ADD took the same address.
  const Owner owner{"c0ffee", "eth0"};
  store().acquire(owner, node64_);
  const std::optional<Lease> found = store().find(owner);
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(store().release(owner));
  plantLease({"other", "eth0"}, candidate(owner, 0));
  EXPECT_FALSE(store().release(*found));
  ASSERT_EQ(store().list().size(), 1U);
  EXPECT_EQ(store().list().front().owner, (Owner{"other", "eth0"}));
}

// DEL's path: one store finds the lease and releases it (it holds the file find() read open and
// compares that inode with the one at the name, instead of reading the file again).
TEST_F(LeaseStoreTest, ReleaseByTheStoreThatFoundItRemovesItsFileOnce) {
  auto [del, found] = acquiredAndFound({"c0ffee", "eth0"});
  EXPECT_TRUE(del.release(found));
  EXPECT_FALSE(store().find(found.owner).has_value());
  EXPECT_FALSE(del.release(found));
  EXPECT_TRUE(store().list().empty());
}

TEST_F(LeaseStoreTest, ReleaseByTheStoreThatFoundItLeavesAnotherOwnersFileAlone) {
  // GC (another process: another store) released the lease after DEL found it, and another
  // owner's ADD took the same address: same name, another file.
  auto [del, found] = acquiredAndFound({"c0ffee", "eth0"});
  ASSERT_TRUE(store().release(found.owner));
  plantLease({"other", "eth0"}, candidate(found.owner, 0));
  EXPECT_FALSE(del.release(found));
  ASSERT_EQ(store().list().size(), 1U);
  EXPECT_EQ(store().list().front().owner, (Owner{"other", "eth0"}));
}

TEST_F(LeaseStoreTest, ReleaseByTheStoreThatFoundItOfALeaseGoneMeanwhileIsFalse) {
  auto [del, found] = acquiredAndFound({"c0ffee", "eth0"});
  ASSERT_TRUE(store().release(found.owner));
  EXPECT_FALSE(del.release(found));
  EXPECT_TRUE(store().list().empty());
}

// The held file vouches only for the lease find() returned: the same interface id under another
// owner is probed, and the file, which is the found owner's, stays.
TEST_F(LeaseStoreTest, ReleaseByTheStoreThatFoundItChecksTheOwnerToo) {
  auto [s, found] = acquiredAndFound({"c0ffee", "eth0"});
  Lease other = found;
  other.owner = Owner{"other", "eth0"};
  EXPECT_FALSE(s.release(other));
  ASSERT_EQ(store().list().size(), 1U);
  EXPECT_EQ(store().list().front().owner, found.owner);
}

// A lease find() did not return last (another owner's, found by an earlier find) is probed as
// before.
TEST_F(LeaseStoreTest, ReleaseOfAnEarlierFoundLeaseProbesItsFile) {
  const Owner first{"c0ffee", "eth0"};
  const Owner second{"beef", "eth0"};
  store().acquire(first, node64_);
  store().acquire(second, node64_);
  LeaseStore s = store();
  const std::optional<Lease> a = s.find(first);
  const std::optional<Lease> b = s.find(second);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_TRUE(s.release(*a));
  EXPECT_TRUE(s.release(*b));
  EXPECT_TRUE(store().list().empty());
}

TEST_F(LeaseStoreTest, ListReturnsEveryLeaseOrderedByInterfaceId) {
  std::map<Owner, Lease> acquired;
  for (int pod = 0; pod < 10; ++pod) {
    const Owner owner{"pod" + std::to_string(pod), "eth0"};
    acquired[owner] = store().acquire(owner, node64_);
  }
  const std::vector<Lease> listed = store().list();
  ASSERT_EQ(listed.size(), acquired.size());
  for (std::size_t i = 0; i < listed.size(); ++i) {
    const Lease& want = acquired.at(listed[i].owner);
    EXPECT_EQ(listed[i].interfaceId, want.interfaceId);
    EXPECT_EQ(listed[i].address, want.address);
    if (i > 0) {
      EXPECT_LT(listed[i - 1].interfaceId, listed[i].interfaceId);
    }
  }
}

TEST_F(LeaseStoreTest, ListSkipsTempFilesAndForeignNames) {
  const Lease lease = store().acquire({"c0ffee", "eth0"}, node64_);
  const std::string content = readFile(dir() / hex16(lease.interfaceId));
  // Same content under names that are not the canonical 16 lowercase hex digits.
  for (const char* name :
       {".tmp-1-2-3", "README", "0123", "0123456789ABCDEF", "0123456789abcdef0"}) {
    writeFile(dir() / name, content);
  }
  fs::create_directory(dir() / "0123456789abcdef");
  ASSERT_EQ(store().list().size(), 1u);
  EXPECT_EQ(store().list()[0].interfaceId, lease.interfaceId);
}

TEST_F(LeaseStoreTest, GcKeepsExactlyTheValidOwners) {
  std::set<Owner> all;
  std::set<Owner> valid;
  for (int pod = 0; pod < 12; ++pod) {
    const Owner owner{"pod" + std::to_string(pod), pod % 2 ? "net1" : "eth0"};
    store().acquire(owner, node64_);
    all.insert(owner);
    if (pod % 3 == 0) valid.insert(owner);
  }
  valid.insert({"not-leased", "eth0"});  // valid owners without a lease are fine

  std::set<Owner> released;
  for (const Lease& lease : store().gc(valid)) released.insert(lease.owner);
  std::set<Owner> kept;
  for (const Lease& lease : store().list()) kept.insert(lease.owner);

  std::set<Owner> expectedKept;
  std::set<Owner> expectedReleased;
  for (const Owner& owner : all)
    (valid.contains(owner) ? expectedKept : expectedReleased).insert(owner);
  EXPECT_EQ(kept, expectedKept);
  EXPECT_EQ(released, expectedReleased);
  EXPECT_TRUE(store().gc(valid).empty());
}

TEST_F(LeaseStoreTest, GcRemovesOnlyStaleTempFiles) {
  store().acquire({"c0ffee", "eth0"}, node64_);
  writeFile(dir() / ".tmp-999-0-1", "dead process");
  writeFile(dir() / ".tmp-999-0-2", "in flight");
  const timespec twoMinutesAgo{std::time(nullptr) - 120, 0};
  const timespec times[2] = {twoMinutesAgo, twoMinutesAgo};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir() / ".tmp-999-0-1").c_str(), times, 0), 0);

  EXPECT_TRUE(store().gc({{"c0ffee", "eth0"}}).empty());
  EXPECT_EQ(tempFiles(), std::vector<std::string>{".tmp-999-0-2"});
}

// --- robustness ----------------------------------------------------------------------------------

TEST_F(LeaseStoreTest, MissingDirectoryMeansNoLeasesNotAnError) {
  const Owner owner{"c0ffee", "eth0"};
  LeaseStore leases = store();
  EXPECT_FALSE(leases.find(owner).has_value());
  EXPECT_TRUE(leases.list().empty());
  EXPECT_FALSE(leases.release(owner));
  EXPECT_TRUE(leases.gc({}).empty());
  EXPECT_FALSE(fs::exists(dir()));
}

TEST_F(LeaseStoreTest, NetworkNamesThatCouldEscapeTheDataDirAreRejected) {
  for (const std::string& network :
       {std::string(""), std::string("."), std::string(".."), std::string("a/b"),
        std::string("../x"), std::string("/abs"), std::string("a\0b", 3)}) {
    EXPECT_THROW(LeaseStore(dataDir_, network), InvalidInput) << network;
  }
  EXPECT_NO_THROW(LeaseStore(dataDir_, "..a"));
  EXPECT_NO_THROW(LeaseStore(dataDir_, "my-net.v6"));
}

TEST_F(LeaseStoreTest, ALeaseRecordsTheHostVethItsAddMadeAndAnOldOneMeansTheHashedName) {
  const Owner owner{"c0ffee", "eth0"};
  const std::string veth = hostVethName("c0ffee", "eth0", 3);
  const Lease made = store().acquire(owner, node64_, nullptr, veth);
  EXPECT_EQ(made.hostVeth, veth);
  EXPECT_EQ(readFile(fileOf(owner, 0)),
            "c0ffee\neth0\n" + formatIpv6(made.address) + "\n" + veth + "\n");
  ASSERT_TRUE(store().find(owner));
  EXPECT_EQ(store().find(owner)->hostVeth, veth);
  EXPECT_EQ(hostVethOf(*store().find(owner)), veth);
  // An existing lease keeps the name it recorded.
  EXPECT_EQ(store().acquire(owner, node64_, nullptr, hostVethName("c0ffee", "eth0", 5)).hostVeth,
            veth);
  // Written by a release before the record: three lines.
  writeFile(fileOf(owner, 0), "c0ffee\neth0\n" + formatIpv6(made.address) + "\n");
  ASSERT_TRUE(store().find(owner));
  EXPECT_EQ(store().find(owner)->hostVeth, "");
  EXPECT_EQ(hostVethOf(*store().find(owner)), hostVethName("c0ffee", "eth0"));
  EXPECT_THROW(store().acquire({"x", "eth0"}, node64_, nullptr, "eth0"), InvalidInput);
}

// ADD and DEL of one attachment take its lock for their whole run: a second one waits.
TEST_F(LeaseStoreTest, TheOwnerLockMakesASecondHolderWait) {
  const Owner owner{"c0ffee", "eth0"};
  // An owner on another of the 256 lock files does not wait.
  Owner other{"other", "eth0"};
  while ((attachmentHash(other.containerId, "eth0") & 0xff) ==
         (attachmentHash("c0ffee", "eth0") & 0xff)) {
    other.containerId += "x";
  }
  // The children are forked before the lock is taken (a child would otherwise inherit the held
  // lock's descriptor, and the lock with it); a byte on the pipe tells them to go.
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const auto waiter = [&](const Owner& who) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(go[1]);
      char c = 0;
      if (::read(go[0], &c, 1) != 1) ::_exit(2);
      const auto l = store().lock(who);
      ::_exit(0);
    }
    return pid;
  };
  const pid_t same = waiter(owner);
  const pid_t free = waiter(other);
  ASSERT_GT(same, 0);
  ASSERT_GT(free, 0);
  ::close(go[0]);
  std::optional<LeaseStore::OwnerLock> held(store().lock(owner));
  ASSERT_EQ(::write(go[1], "gg", 2), 2);
  ::close(go[1]);
  int status = 0;
  EXPECT_EQ(::waitpid(free, &status, 0), free);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::usleep(200 * 1000);
  EXPECT_EQ(::waitpid(same, &status, WNOHANG), 0) << "took a lock another holder has";
  held.reset();
  EXPECT_EQ(::waitpid(same, &status, 0), same);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Lock files are not leases, and scan() does not report them.
  EXPECT_TRUE(store().list().empty());
  EXPECT_TRUE(store().scan().empty());
}

TEST_F(LeaseStoreTest, EmptyOrPartialLeaseFilesAreNotOursAndDoNotCrash) {
  const Owner owner{"c0ffee", "eth0"};
  const std::uint64_t iid0 = candidate(owner, 0);
  const std::string address = formatIpv6(withInterfaceId(node64_, iid0));
  const std::string wrongAddress = formatIpv6(withInterfaceId(node64_, iid0 ^ 1));
  for (const std::string& content :
       {std::string(""), std::string("c0f"), std::string("c0ffee\n"), std::string("c0ffee\neth0\n"),
        "c0ffee\neth0\n" + address, std::string("c0ffee\neth0\nnot-an-address\n"),
        "c0ffee\neth0\n" + wrongAddress + "\n", "c0ffee\neth0\n" + address + "\nextra\n",
        "c0ffee\neth0\n" + address + "\n" + std::string(5000, 'x')}) {
    fs::remove_all(dir());
    fs::create_directories(dir());
    writeFile(fileOf(owner, 0), content);
    EXPECT_FALSE(store().find(owner).has_value()) << content;
    EXPECT_TRUE(store().list().empty()) << content;
    EXPECT_EQ(store().acquire(owner, node64_).interfaceId, candidate(owner, 1)) << content;
  }
}

// A lease file longer than one read (the reader stops at the size fstat gave, not at a read
// that returns nothing) is read whole, found and released.
TEST_F(LeaseStoreTest, ALeaseLongerThanOneReadIsFoundAndReleased) {
  const Owner owner{std::string(1500, 'c'), "eth0"};
  const Lease taken = store().acquire(owner, node64_);
  ASSERT_GT(fs::file_size(fileOf(owner, 0)), 1024U);
  const auto found = store().find(owner);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->owner, owner);
  EXPECT_EQ(found->address, taken.address);
  EXPECT_TRUE(store().release(*found));
  EXPECT_FALSE(fs::exists(fileOf(owner, 0)));
}

TEST_F(LeaseStoreTest, SymlinksAndDirectoriesAtALeaseNameAreNotFollowed) {
  const Owner owner{"c0ffee", "eth0"};
  fs::create_directories(dir());
  // A symlink to a file that would read as our lease must not be trusted.
  writeFile(root_ / "elsewhere",
            "c0ffee\neth0\n" + formatIpv6(withInterfaceId(node64_, candidate(owner, 0))) + "\n");
  fs::create_symlink(root_ / "elsewhere", fileOf(owner, 0));
  fs::create_directory(fileOf(owner, 1));
  EXPECT_FALSE(store().find(owner).has_value());
  EXPECT_TRUE(store().list().empty());
  EXPECT_EQ(store().acquire(owner, node64_).interfaceId, candidate(owner, 2));
}

// --- many plugin processes at once ---------------------------------------------------------------

// One operation of a child process and, after it ran, what it returned.
struct Op {
  enum Kind { kAcquire, kRelease } kind;
  Owner owner;
};

struct Outcome {
  std::map<Owner, std::set<std::uint64_t>> acquired;  // every interface id acquire() returned
  std::map<Owner, int> releasedTrue;                  // how many release() calls returned true
  std::map<Owner, int> releasedCalls;
};

// Forks one process per op list; all start together on a shared pipe and report what each call
// returned through their own file. Returns false (with a failure recorded) if a child failed.
bool runConcurrently(const fs::path& dataDir, const Ipv6Prefix& node64,
                     const std::vector<std::vector<Op>>& perChild, const fs::path& outDir,
                     Outcome& outcome) {
  fs::create_directories(outDir);
  int start[2];
  if (::pipe(start) != 0) return false;
  std::vector<pid_t> children;
  for (std::size_t child = 0; child < perChild.size(); ++child) {
    const fs::path out = outDir / ("child-" + std::to_string(child));
    const pid_t pid = ::fork();
    if (pid < 0) {
      ADD_FAILURE() << "fork failed";
      break;
    }
    if (pid == 0) {
      ::close(start[1]);
      char byte;
      while (::read(start[0], &byte, 1) > 0) {
      }
      int status = 0;
      {
        std::ofstream report(out);
        try {
          LeaseStore leases(dataDir, kNetwork);
          for (const Op& op : perChild[child]) {
            if (op.kind == Op::kAcquire) {
              const Lease lease = leases.acquire(op.owner, node64);
              report << "A " << op.owner.containerId << " " << op.owner.ifname << " "
                     << hex16(lease.interfaceId) << "\n";
              if (lease.address != withInterfaceId(node64, lease.interfaceId)) {
                throw std::runtime_error("address does not match interface id");
              }
            } else {
              report << "R " << op.owner.containerId << " " << op.owner.ifname << " "
                     << leases.release(op.owner) << "\n";
            }
          }
        } catch (const std::exception& e) {
          report << "E " << e.what() << "\n";
          status = 1;
        }
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  ::close(start[0]);
  ::close(start[1]);  // releases every child at once

  bool ok = children.size() == perChild.size();
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ok = false;
  }
  for (std::size_t child = 0; child < children.size(); ++child) {
    std::ifstream report(outDir / ("child-" + std::to_string(child)));
    std::string kind;
    while (report >> kind) {
      if (kind == "E") {
        std::string rest;
        std::getline(report, rest);
        ADD_FAILURE() << "child " << child << ":" << rest;
        continue;
      }
      Owner owner;
      std::string value;
      report >> owner.containerId >> owner.ifname >> value;
      if (kind == "A") {
        outcome.acquired[owner].insert(std::stoull(value, nullptr, 16));
      } else {
        outcome.releasedCalls[owner] += 1;
        outcome.releasedTrue[owner] += value == "1" ? 1 : 0;
      }
    }
  }
  return ok;
}

// Every owner's interface ids on disk; the planted blockers are counted apart.
std::map<Owner, std::vector<std::uint64_t>> onDisk(const LeaseStore& leases,
                                                   std::set<Owner>* blockers = nullptr) {
  std::map<Owner, std::vector<std::uint64_t>> out;
  for (const Lease& lease : leases.list()) {
    if (!lease.owner.containerId.starts_with("blocker")) {
      out[lease.owner].push_back(lease.interfaceId);
    } else if (blockers != nullptr) {
      blockers->insert(lease.owner);
    }
  }
  return out;
}

TEST_F(LeaseStoreTest, ConcurrentProcessesNeverShareAnAddressOrLoseALease) {
  constexpr int kChildren = 16;
  constexpr int kOwnersPerChild = 50;
  constexpr int kSharedPerChild = 20;  // owners j < 20 are raced by children i and i ^ 1

  auto ownerOf = [](int child, int j) -> Owner {
    const std::string ifname = j % 2 ? "net1" : "eth0";
    if (j < kSharedPerChild) {
      return {"shared-" + std::to_string(child / 2) + "-" + std::to_string(j), ifname};
    }
    return {"own-" + std::to_string(child) + "-" + std::to_string(j), ifname};
  };

  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    fs::remove_all(dataDir_);
    LeaseStore leases = store();

    // Some shared owners find their first candidate taken, so the race moves to candidate 1.
    std::set<Owner> blockers;
    for (int pair = 0; pair < kChildren / 2; ++pair) {
      for (int j = 0; j < kSharedPerChild; j += 5) {
        const Owner blocker{"blocker-" + std::to_string(pair) + "-" + std::to_string(j), "eth0"};
        plantLease(blocker, candidate(ownerOf(pair * 2, j), 0));
        blockers.insert(blocker);
      }
    }

    // Phase 1: everyone acquires.
    std::vector<std::vector<Op>> phase1(kChildren);
    for (int child = 0; child < kChildren; ++child) {
      for (int j = 0; j < kOwnersPerChild; ++j) {
        phase1[child].push_back({Op::kAcquire, ownerOf(child, j)});
      }
    }
    Outcome first;
    ASSERT_TRUE(runConcurrently(dataDir_, node64_, phase1, root_ / "out1", first));

    const std::size_t distinctOwners =
        kChildren * (kOwnersPerChild - kSharedPerChild) + kChildren / 2 * kSharedPerChild;
    ASSERT_EQ(first.acquired.size(), distinctOwners);
    std::map<std::uint64_t, Owner> ownerOfIid;
    std::map<Owner, std::uint64_t> iidOf;
    for (const auto& [owner, iids] : first.acquired) {
      ASSERT_EQ(iids.size(), 1u) << "racing acquires of " << owner.containerId << " disagreed";
      const auto [it, fresh] = ownerOfIid.emplace(*iids.begin(), owner);
      ASSERT_TRUE(fresh) << owner.containerId << " and " << it->second.containerId
                         << " got the same address";
      iidOf[owner] = *iids.begin();
    }
    std::set<Owner> blockersLeft;
    const auto disk1 = onDisk(leases, &blockersLeft);
    EXPECT_EQ(blockersLeft, blockers);
    ASSERT_EQ(disk1.size(), distinctOwners);
    for (const auto& [owner, iids] : disk1) {
      ASSERT_EQ(iids, std::vector<std::uint64_t>{iidOf.at(owner)}) << owner.containerId;
    }
    for (int pair = 0; pair < kChildren / 2; ++pair) {
      EXPECT_EQ(iidOf.at(ownerOf(pair * 2, 0)), candidate(ownerOf(pair * 2, 0), 1));
    }
    EXPECT_TRUE(tempFiles().empty());

    // Phase 2: releases and acquires interleaved, some on the same owner at once.
    //   own j odd: released; own j even: acquired again (same address);
    //   shared j%4==0: both acquire; j%4 odd: both release (exactly one wins);
    //   shared j%4==2: one releases while the other acquires (either outcome, never two leases);
    //   new owners: acquired, some by both children of a pair.
    auto newOwner = [](int child, int k) -> Owner {
      return {"new-" + std::to_string(child) + "-" + std::to_string(k), "eth0"};
    };
    auto newShared = [](int child, int k) -> Owner {
      return {"newshared-" + std::to_string(child / 2) + "-" + std::to_string(k), "eth0"};
    };
    std::vector<std::vector<Op>> phase2(kChildren);
    for (int child = 0; child < kChildren; ++child) {
      for (int j = 0; j < kOwnersPerChild; ++j) {
        const Owner owner = ownerOf(child, j);
        bool release = j % 2 == 1;
        if (j < kSharedPerChild && j % 4 == 2) release = child % 2 == 0;
        phase2[child].push_back({release ? Op::kRelease : Op::kAcquire, owner});
        if (j < 25) phase2[child].push_back({Op::kAcquire, newOwner(child, j)});
        if (j < 10) phase2[child].push_back({Op::kAcquire, newShared(child, j)});
      }
    }
    Outcome second;
    ASSERT_TRUE(runConcurrently(dataDir_, node64_, phase2, root_ / "out2", second));

    blockersLeft.clear();
    const auto disk2 = onDisk(leases, &blockersLeft);
    EXPECT_EQ(blockersLeft, blockers);
    for (const auto& [owner, iids] : disk2) {
      ASSERT_EQ(iids.size(), 1u) << owner.containerId << " holds two leases";
    }
    for (int child = 0; child < kChildren; ++child) {
      for (int j = 0; j < kOwnersPerChild; ++j) {
        const Owner owner = ownerOf(child, j);
        const bool shared = j < kSharedPerChild;
        if (shared && j % 4 == 2) {
          // Whichever order they ran in, the acquirer got the phase-1 address, and at most that
          // lease is left.
          EXPECT_EQ(second.acquired.at(owner), std::set<std::uint64_t>{iidOf.at(owner)});
          if (disk2.contains(owner)) {
            EXPECT_EQ(disk2.at(owner)[0], iidOf.at(owner));
          }
        } else if (j % 2 == 1) {
          EXPECT_FALSE(disk2.contains(owner)) << owner.containerId;
          EXPECT_EQ(second.releasedTrue[owner], 1) << owner.containerId;
          EXPECT_EQ(second.releasedCalls[owner], shared ? 2 : 1) << owner.containerId;
        } else {
          EXPECT_EQ(second.acquired.at(owner), std::set<std::uint64_t>{iidOf.at(owner)});
          ASSERT_TRUE(disk2.contains(owner)) << owner.containerId;
          EXPECT_EQ(disk2.at(owner)[0], iidOf.at(owner));
        }
      }
      for (int k = 0; k < 25; ++k) {
        const Owner owner = newOwner(child, k);
        ASSERT_EQ(second.acquired.at(owner).size(), 1u);
        ASSERT_TRUE(disk2.contains(owner)) << owner.containerId;
        EXPECT_EQ(disk2.at(owner)[0], *second.acquired.at(owner).begin());
      }
      for (int k = 0; k < 10; ++k) {
        const Owner owner = newShared(child, k);
        ASSERT_EQ(second.acquired.at(owner).size(), 1u) << "racing acquires disagreed";
        ASSERT_TRUE(disk2.contains(owner)) << owner.containerId;
        EXPECT_EQ(disk2.at(owner)[0], *second.acquired.at(owner).begin());
      }
    }
    // Nothing on disk that nobody asked for, and no address handed to two owners.
    std::map<std::uint64_t, Owner> holder;
    for (const auto& [owner, iids] : disk2) {
      EXPECT_TRUE(first.acquired.contains(owner) || second.acquired.contains(owner))
          << owner.containerId;
      EXPECT_TRUE(holder.emplace(iids[0], owner).second);
    }
    std::map<std::uint64_t, Owner> reported;
    for (const auto& [owner, iids] : second.acquired) {
      ASSERT_EQ(iids.size(), 1u) << owner.containerId;
      EXPECT_TRUE(reported.emplace(*iids.begin(), owner).second)
          << owner.containerId << " got the address of " << reported.at(*iids.begin()).containerId;
    }
    EXPECT_TRUE(tempFiles().empty());
    fs::remove_all(root_ / "out1");
    fs::remove_all(root_ / "out2");
  }
}

}  // namespace
}  // namespace sixrd::ipam
