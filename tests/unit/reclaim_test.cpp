// The daemon's reclaim pass (install/reclaim.hpp) over a real lease store in a temp directory and
// the in-memory datapath: what a DEL that never reached sixrd leaves behind is taken back after
// the grace period, and nothing of a live pod or an ADD in flight ever is, whichever way an ADD
// interleaves with the pass.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cni/plugin.hpp"
#include "cni/request.hpp"
#include "fake_datapath.hpp"
#include "install/installer.hpp"
#include "install/reclaim.hpp"
#include "ipam/interface_id.hpp"
#include "ipam/lease_store.hpp"
#include "ipam/sixrd_math.hpp"
#include "test_files.hpp"
#include "tunnel/datapath.hpp"

namespace sixrd::install {
namespace {

namespace fs = std::filesystem;
using Peer = tunnel::Datapath::HostVeth::Peer;
using std::chrono::seconds;

constexpr char kNetwork[] = "sixrd-test";
const ipam::Owner kPod{"c0ffee0123456789", "eth0"};
const ipam::Owner kOtherPod{"beef0123456789ab", "eth0"};

ipam::Ipv6Prefix node64() { return ipam::parseIpv6Prefix("fd00:10:0:307::/64", "node64"); }

std::string vethOf(const ipam::Owner& owner) {
  return ipam::hostVethName(owner.containerId, owner.ifname);
}

std::string aliasOf(const ipam::Owner& owner, const std::string& network = kNetwork) {
  return cni::hostVethAlias(network, owner.containerId, owner.ifname);
}

// Sets a file's mtime `age` into the past (as if the lease was written then).
void age(const fs::path& file, seconds by) {
  const auto then = std::chrono::system_clock::now() - by;
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(then.time_since_epoch()).count();
  const timespec at{ns / 1000000000, ns % 1000000000};
  const timespec times[2] = {at, at};
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << file;
}

std::set<std::string> namesIn(const fs::path& dir) {
  std::set<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

class ReclaimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::makeTempDir("reclaim-test");
    captureLog();
  }
  void TearDown() override {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("null"));
    fs::remove_all(root_);
  }

  // Log lines of the pass go to log_ (runPlugin installs its own logger: call again after it).
  void captureLog() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%l %v");
    auto logger = std::make_shared<spdlog::logger>("reclaim-test", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }

  ipam::LeaseStore store() const { return {root_, kNetwork}; }
  fs::path dir() const { return root_ / kNetwork; }

  // The lease file of an owner, which must exist.
  fs::path leaseFile(const ipam::Owner& owner) const {
    const auto lease = store().find(owner);
    EXPECT_TRUE(lease.has_value()) << owner.containerId;
    char name[17];
    std::snprintf(name, sizeof name, "%016llx",
                  static_cast<unsigned long long>(lease ? lease->interfaceId : 0));
    return dir() / name;
  }

  // What a successful ADD leaves: the lease, then the veth (alias set, peer in the pod netns).
  ipam::Lease addPod(const ipam::Owner& owner, const std::string& netns = "/run/netns/pod") {
    auto s = store();
    const ipam::Lease lease = s.acquire(owner, node64());
    plumb(owner, lease, netns);
    return lease;
  }
  void plumb(const ipam::Owner& owner, const ipam::Lease& lease,
             const std::string& netns = "/run/netns/pod") {
    tunnel::PodSpec spec;
    spec.netns = netns;
    spec.ifname = owner.ifname;
    spec.hostVeth = vethOf(owner);
    spec.alias = aliasOf(owner);
    spec.address = lease.address;
    spec.mtu = 1480;
    fake_.addPod(spec);
  }

  ReclaimReport pass(Reclaimer& reclaimer) { return reclaimer.run(root_, kNetwork, fake_); }
  ReclaimReport pass(seconds grace = seconds(60)) {
    Reclaimer reclaimer(grace);
    return pass(reclaimer);
  }

  [[nodiscard]] std::string log() const { return log_.str(); }
  [[nodiscard]] bool logged(const std::string& fragment) const {
    return log().find(fragment) != std::string::npos;
  }
  [[nodiscard]] std::size_t timesLogged(const std::string& fragment) const {
    std::size_t n = 0;
    const std::string text = log();
    for (auto at = text.find(fragment); at != std::string::npos; at = text.find(fragment, at + 1)) {
      ++n;
    }
    return n;
  }

  fs::path root_;
  fake::FakeDatapath fake_;
  std::ostringstream log_;
};

// --- the rule: a lease without its host veth, older than the grace period, is released ---------

TEST_F(ReclaimTest, StaleLeaseWithoutVethIsReleasedAfterGraceAndLogged) {
  const ipam::Lease lease = store().acquire(kPod, node64());
  age(leaseFile(kPod), seconds(61));
  const ReclaimReport r = pass();
  ASSERT_EQ(r.leasesReleased.size(), 1U);
  EXPECT_EQ(r.leasesReleased[0].owner, kPod);
  EXPECT_FALSE(store().find(kPod).has_value());
  EXPECT_TRUE(namesIn(dir()).empty()) << "no tombstone is left";
  EXPECT_TRUE(logged("info reclaim: released lease " + ipam::formatIpv6(lease.address) +
                     " of container " + kPod.containerId + " ifname eth0"))
      << log();
}

TEST_F(ReclaimTest, YoungLeaseWithoutVethIsKeptAsAnAddInFlight) {
  store().acquire(kPod, node64());  // the ADD wrote its lease and has not made the veth yet
  age(leaseFile(kPod), seconds(59));
  const ReclaimReport r = pass();
  EXPECT_TRUE(r.leasesReleased.empty());
  EXPECT_TRUE(store().find(kPod).has_value());
  EXPECT_EQ(namesIn(dir()).size(), 1U);
}

TEST_F(ReclaimTest, LeaseWithItsVethIsKeptHoweverOld) {
  addPod(kPod);
  age(leaseFile(kPod), seconds(24 * 3600));
  const ReclaimReport r = pass();
  EXPECT_TRUE(r.leasesReleased.empty());
  EXPECT_TRUE(r.vethsRemoved.empty());
  EXPECT_TRUE(store().find(kPod).has_value());
  EXPECT_TRUE(fake_.pods.contains(vethOf(kPod)));
  EXPECT_EQ(fake_.count("delPod"), 0U);
}

TEST_F(ReclaimTest, VethOfAPinnedNamespaceAndItsLeaseAreKept) {
  // A runtime keeps the namespace mounted after the failed DEL: the pair lives on, and nothing
  // here can tell that pod from a running one.
  addPod(kPod);
  age(leaseFile(kPod), seconds(3600));
  fake_.peers[vethOf(kPod)] = Peer::kOtherNetns;
  const ReclaimReport r = pass();
  EXPECT_TRUE(r.vethsRemoved.empty());
  EXPECT_TRUE(r.leasesReleased.empty());
  EXPECT_TRUE(fake_.pods.contains(vethOf(kPod)));
}

TEST_F(ReclaimTest, VethWhosePodNamespaceIsGoneIsRemovedAndItsStaleLeaseReleasedInOnePass) {
  addPod(kPod);
  age(leaseFile(kPod), seconds(120));
  fake_.peers[vethOf(kPod)] = Peer::kNetnsGone;
  const ReclaimReport r = pass();
  ASSERT_EQ(r.vethsRemoved.size(), 1U);
  EXPECT_EQ(r.vethsRemoved[0].name, vethOf(kPod));
  EXPECT_FALSE(fake_.pods.contains(vethOf(kPod)));
  ASSERT_EQ(r.leasesReleased.size(), 1U);
  EXPECT_FALSE(store().find(kPod).has_value());
  EXPECT_TRUE(logged("info reclaim: removed host veth " + vethOf(kPod) + " of container " +
                     kPod.containerId + " ifname eth0: its pod namespace is being destroyed"))
      << log();
}

TEST_F(ReclaimTest, VethWithoutPeerIsRemovedButItsYoungLeaseWaits) {
  addPod(kPod);
  fake_.peers[vethOf(kPod)] = Peer::kNone;
  const ReclaimReport r = pass();
  EXPECT_EQ(r.vethsRemoved.size(), 1U);
  EXPECT_TRUE(r.leasesReleased.empty());
  EXPECT_TRUE(store().find(kPod).has_value());
}

TEST_F(ReclaimTest, ForcedChainFailureIsReclaimedThroughThePluginsOwnAdd) {
  // ADD through the plugin (lease, then veth); the runtime's DEL stops at a chained plugin and
  // never reaches sixrd; the pod namespace goes, and the kernel takes the veth with it.
  const nlohmann::json conf = {{"cniVersion", "1.1.0"},
                               {"name", kNetwork},
                               {"type", "sixrd"},
                               {"prefix", "fd00:10::/48"},
                               {"underlay", "198.18.0.0/16"},
                               {"dataDir", root_.string()}};
  const cni::Environment env = [](const std::string& name) -> std::optional<std::string> {
    static const std::map<std::string, std::string> vars = {
        {"CNI_COMMAND", "ADD"},
        {"CNI_CONTAINERID", kPod.containerId},
        {"CNI_IFNAME", "eth0"},
        {"CNI_NETNS", "/var/run/netns/failed-pod"},
        {"CNI_PATH", "/opt/cni/bin"}};
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  cni::PluginOptions options;
  options.makeDatapath = [this] { return std::make_unique<fake::ForwardingDatapath>(fake_); };
  options.checkCapabilities = false;
  std::istringstream in(conf.dump());
  std::ostringstream out;
  ASSERT_EQ(cni::runPlugin(env, in, out, options), 0) << out.str();
  captureLog();
  ASSERT_TRUE(fake_.pods.contains(vethOf(kPod)));
  ASSERT_TRUE(store().find(kPod).has_value());

  EXPECT_EQ(fake_.destroyNetns("/var/run/netns/failed-pod"), 1U);
  Reclaimer reclaimer(seconds(60));
  EXPECT_TRUE(pass(reclaimer).leasesReleased.empty()) << "within the grace period";
  age(leaseFile(kPod), seconds(61));
  const ReclaimReport r = pass(reclaimer);
  ASSERT_EQ(r.leasesReleased.size(), 1U);
  EXPECT_FALSE(store().find(kPod).has_value());
}

// --- an ADD racing the pass never loses its lease ----------------------------------------------

TEST_F(ReclaimTest, AcquireMarksAReusedLeaseYoungAgain) {
  store().acquire(kPod, node64());
  age(leaseFile(kPod), seconds(3600));
  bool created = true;
  store().acquire(kPod, node64(), &created);  // a retried ADD for the same container
  EXPECT_FALSE(created);
  const ReclaimReport r = pass();
  EXPECT_TRUE(r.leasesReleased.empty());
  EXPECT_TRUE(store().find(kPod).has_value());
}

TEST_F(ReclaimTest, AddReusingTheLeaseBetweenScanAndBuryKeepsIt) {
  const ipam::Lease lease = store().acquire(kPod, node64());
  age(leaseFile(kPod), seconds(3600));
  // The pass has read the directory (the lease looked stale); the ADD reuses the lease now, and
  // makes the veth only after the pass has looked for it.
  Reclaimer reclaimer(seconds(60));
  bool reused = false;
  reclaimer.beforeBury = [&](const ipam::Lease&) {
    store().acquire(kPod, node64());
    reused = true;
  };
  const ReclaimReport r = pass(reclaimer);
  EXPECT_TRUE(reused);
  EXPECT_TRUE(r.leasesReleased.empty());
  ASSERT_EQ(r.leasesKept.size(), 1U);
  ASSERT_TRUE(store().find(kPod).has_value());
  EXPECT_EQ(store().find(kPod)->address, lease.address);
  EXPECT_EQ(namesIn(dir()).size(), 1U) << "no tombstone is left";
  EXPECT_TRUE(logged("reclaim: keeping lease " + ipam::formatIpv6(lease.address) +
                     " of container " + kPod.containerId + " ifname eth0: reused by an ADD"))
      << log();
}

TEST_F(ReclaimTest, VethAppearingAfterBuryPutsTheLeaseBack) {
  const ipam::Lease lease = store().acquire(kPod, node64());
  const std::string before = test::readFile(leaseFile(kPod));
  age(leaseFile(kPod), seconds(3600));
  Reclaimer reclaimer(seconds(60));
  // An ADD that read the lease before it was buried finishes its veth now.
  reclaimer.afterBury = [&](const ipam::Lease&) { plumb(kPod, lease); };
  const ReclaimReport r = pass(reclaimer);
  EXPECT_TRUE(r.leasesReleased.empty());
  ASSERT_EQ(r.leasesKept.size(), 1U);
  ASSERT_TRUE(store().find(kPod).has_value());
  EXPECT_EQ(test::readFile(leaseFile(kPod)), before);
  EXPECT_EQ(namesIn(dir()).size(), 1U) << "no tombstone is left";
  EXPECT_TRUE(logged("lease put back")) << log();
}

TEST_F(ReclaimTest, FreshLeaseAnAddMadeWhileTheOldOneWasBuriedStays) {
  const ipam::Lease lease = store().acquire(kPod, node64());
  age(leaseFile(kPod), seconds(3600));
  Reclaimer reclaimer(seconds(60));
  // A retried ADD finds no lease under the name, makes a fresh one there, and its veth.
  bool created = false;
  reclaimer.afterBury = [&](const ipam::Lease&) {
    plumb(kPod, store().acquire(kPod, node64(), &created));
  };
  const ReclaimReport r = pass(reclaimer);
  EXPECT_TRUE(created);
  EXPECT_TRUE(r.leasesReleased.empty());
  ASSERT_TRUE(store().find(kPod).has_value());
  EXPECT_EQ(store().find(kPod)->address, lease.address) << "the same stable address";
  struct stat st {};
  ASSERT_EQ(::stat(leaseFile(kPod).c_str(), &st), 0);
  EXPECT_GT(st.st_mtime, std::time(nullptr) - 60) << "the fresh lease, not the old one";
  EXPECT_EQ(namesIn(dir()).size(), 1U) << "no tombstone is left";
  EXPECT_TRUE(logged("the fresh lease that ADD made stays")) << log();
}

TEST_F(ReclaimTest, FreshLeaseWhoseVethIsNotThereYetStaysWhenTheOldOneIsDropped) {
  store().acquire(kPod, node64());
  age(leaseFile(kPod), seconds(3600));
  Reclaimer reclaimer(seconds(60));
  reclaimer.afterBury = [&](const ipam::Lease&) { store().acquire(kPod, node64()); };
  const ReclaimReport r = pass(reclaimer);
  EXPECT_EQ(r.leasesReleased.size(), 1U) << "the buried (old) one";
  ASSERT_TRUE(store().find(kPod).has_value()) << "the ADD's fresh lease";
  EXPECT_EQ(namesIn(dir()).size(), 1U);
  // And it is young: the next pass keeps it while the ADD makes the veth.
  EXPECT_TRUE(pass(reclaimer).leasesReleased.empty());
  EXPECT_TRUE(store().find(kPod).has_value());
}

TEST_F(ReclaimTest, LeaseReleasedAndTakenAgainSinceTheScanIsNotBuried) {
  store().acquire(kPod, node64());
  age(leaseFile(kPod), seconds(3600));
  Reclaimer reclaimer(seconds(60));
  reclaimer.beforeBury = [&](const ipam::Lease&) {
    store().release(kPod);                // DEL reached sixrd after all
    addPod(kPod);                         // and the pod was created again
    age(leaseFile(kPod), seconds(3600));  // even an old-looking file is another file
  };
  const ReclaimReport r = pass(reclaimer);
  EXPECT_TRUE(r.leasesReleased.empty());
  EXPECT_TRUE(store().find(kPod).has_value());
  ASSERT_EQ(r.leasesKept.size(), 1U);
  // "published anew" when the new file has another inode, "reused" when the file system gave it
  // the old one's number (its mtime differs all the same).
  EXPECT_TRUE(logged(" since the scan")) << log();
}

TEST_F(ReclaimTest, InterruptedReclaimIsFinished) {
  // A daemon died between bury and its decision: one tombstone whose pod lives, one whose is gone.
  addPod(kPod);
  store().acquire(kOtherPod, node64());
  for (const auto& owner : {kPod, kOtherPod}) {
    auto s = store();
    ipam::LeaseStore::File seen;
    for (auto& f : s.scan()) {
      if (f.lease && f.lease->owner == owner) seen = f;
    }
    ASSERT_TRUE(s.bury(seen).has_value());
  }
  ASSERT_FALSE(store().find(kPod).has_value());
  const ReclaimReport r = pass(seconds(0));  // tombstones older than the grace period
  ASSERT_EQ(r.leasesKept.size(), 1U);
  EXPECT_EQ(r.leasesKept[0].owner, kPod);
  ASSERT_EQ(r.leasesReleased.size(), 1U);
  EXPECT_EQ(r.leasesReleased[0].owner, kOtherPod);
  EXPECT_TRUE(store().find(kPod).has_value());
  EXPECT_FALSE(store().find(kOtherPod).has_value());
  EXPECT_EQ(namesIn(dir()).size(), 1U);
}

TEST_F(ReclaimTest, YoungTombstoneOfAnotherPassIsNotTouched) {
  store().acquire(kPod, node64());
  auto s = store();
  const auto files = s.scan();
  ASSERT_EQ(files.size(), 1U);
  ASSERT_TRUE(s.bury(files[0]).has_value());
  const auto names = namesIn(dir());
  const ReclaimReport r = pass();
  EXPECT_TRUE(r.leasesReleased.empty());
  EXPECT_TRUE(r.leasesKept.empty());
  EXPECT_EQ(namesIn(dir()), names);
}

// --- only sixrd's own leases and veths ---------------------------------------------------------

TEST_F(ReclaimTest, ForeignFilesAndVethsAreLeftAloneAndLogged) {
  store().acquire(kPod, node64());
  age(leaseFile(kPod), seconds(3600));
  std::ofstream(dir() / "README") << "someone's notes\n";
  std::ofstream(dir() / "00000000000000zz") << "x\n";
  std::ofstream(dir() / "0123456789abcdef") << "not\na lease\n";
  fs::create_symlink("/etc/passwd", dir() / "fedcba9876543210");
  for (const auto& name : namesIn(dir())) age(dir() / name, seconds(3600));
  auto left = namesIn(dir());
  left.erase(leaseFile(kPod).filename().string());

  fake_.plantVeth("sx000000000001", aliasOf(kOtherPod, "other-network"), Peer::kNetnsGone);
  fake_.plantVeth("sx000000000002", "made by hand", Peer::kNetnsGone);
  fake_.plantVeth("sx000000000003", "", Peer::kNetnsGone);
  fake_.plantVeth("sx000000000004", aliasOf(kOtherPod), Peer::kSameNetns);
  fake_.plantVeth("sx000000000005", aliasOf(kOtherPod), Peer::kUnknown);

  Reclaimer reclaimer(seconds(60));
  const ReclaimReport r = pass(reclaimer);
  EXPECT_EQ(r.leasesReleased.size(), 1U) << "only the stale lease of this network";
  EXPECT_TRUE(r.vethsRemoved.empty());
  EXPECT_EQ(fake_.count("delPod"), 0U);
  EXPECT_EQ(fake_.pods.size(), 5U);
  EXPECT_EQ(namesIn(dir()), left);
  EXPECT_EQ(r.leftAlone.size(), 9U);
  EXPECT_EQ(timesLogged("info reclaim: leaving alone "), 9U) << log();
  for (const auto& fragment :
       {std::string("README: not named by an interface id"),
        std::string("00000000000000zz: not named by an interface id"),
        std::string("0123456789abcdef: does not read as a lease"),
        std::string("fedcba9876543210: not a regular file"),
        std::string("host veth sx000000000001: of another sixrd network"),
        std::string("host veth sx000000000002: not sixrd's (alias made by hand)"),
        std::string("host veth sx000000000003: no alias"),
        std::string("host veth sx000000000004 of container " + kOtherPod.containerId +
                    " ifname eth0: its peer is in the node namespace"),
        std::string("host veth sx000000000005 of container " + kOtherPod.containerId +
                    " ifname eth0: its peer cannot be told")}) {
    EXPECT_TRUE(logged(fragment)) << fragment << "\n" << log();
  }
  EXPECT_EQ(test::readFile(dir() / "README"), "someone's notes\n");

  // Next round: still left alone, but not news at info any more.
  const ReclaimReport again = pass(reclaimer);
  EXPECT_EQ(again.leftAlone.size(), 9U);
  EXPECT_EQ(timesLogged("info reclaim: leaving alone "), 9U);
  EXPECT_EQ(timesLogged("debug reclaim: leaving alone "), 9U);
}

TEST_F(ReclaimTest, LeasesOfAnotherNetworkAreNotSeen) {
  ipam::LeaseStore other(root_, "other-network");
  other.acquire(kPod, node64());
  age(other.dir() / namesIn(other.dir()).begin()->c_str(), seconds(3600));
  const ReclaimReport r = pass();
  EXPECT_TRUE(r.leasesReleased.empty());
  EXPECT_TRUE(other.find(kPod).has_value());
}

TEST_F(ReclaimTest, MissingStoreIsNothingToDo) {
  const ReclaimReport r = pass();
  EXPECT_TRUE(r.leasesReleased.empty());
  EXPECT_FALSE(fs::exists(dir())) << "reclaim creates nothing";
}

// --- the daemon runs it every round ------------------------------------------------------------

TEST_F(ReclaimTest, DaemonRoundReclaimsUnderTheHostRoot) {
  const fs::path host = root_ / "host";
  const fs::path conf = root_ / "10-sixrd.conflist";
  std::ofstream(conf) << nlohmann::json{{"cniVersion", "1.1.0"},
                                        {"name", kNetwork},
                                        {"plugins", nlohmann::json::array({nlohmann::json{
                                                        {"type", "sixrd"},
                                                        {"prefix", "fd00:10::/48"},
                                                        {"underlay", "198.18.0.0/16"},
                                                        {"dataDir", "/run/sixrd"}}})}}
                             .dump();
  ipam::LeaseStore onNode(host / "run/sixrd", kNetwork);
  onNode.acquire(kPod, node64());
  age(onNode.dir() / *namesIn(onNode.dir()).begin(), seconds(3));

  Context context;
  context.makeDatapath = [this] { return std::make_unique<fake::ForwardingDatapath>(fake_); };
  DaemonSettings settings;
  settings.conf = conf;
  settings.hostRoot = host;
  settings.intervalSeconds = 1;
  settings.rounds = 1;
  settings.reclaimGraceSeconds = 2;
  EXPECT_EQ(runDaemon(settings, context), 0);
  EXPECT_FALSE(onNode.find(kPod).has_value());
  EXPECT_TRUE(logged("reclaim: released lease")) << log();
}

TEST_F(ReclaimTest, DaemonWithReclaimOffLeavesLeases) {
  const fs::path conf = root_ / "sixrd.conf";
  std::ofstream(conf) << nlohmann::json{
      {"cniVersion", "1.1.0"},
      {"name", kNetwork},
      {"type", "sixrd"},
      {"prefix", "fd00:10::/48"},
      {"underlay", "198.18.0.0/16"},
      {"dataDir",
       root_.string()}}.dump();
  store().acquire(kPod, node64());
  age(leaseFile(kPod), seconds(3600));
  Context context;
  context.makeDatapath = [this] { return std::make_unique<fake::ForwardingDatapath>(fake_); };
  DaemonSettings settings;
  settings.conf = conf;
  settings.rounds = 1;
  settings.reclaimGraceSeconds = 0;
  EXPECT_EQ(runDaemon(settings, context), 0);
  EXPECT_TRUE(store().find(kPod).has_value());
  settings.reclaimGraceSeconds = -1;
  EXPECT_THROW(runDaemon(settings, context), UsageError);
}

}  // namespace
}  // namespace sixrd::install
