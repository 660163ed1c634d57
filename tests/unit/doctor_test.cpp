// sixrd doctor's decisions, against an in-memory datapath and a scripted prober: which verdict a
// peer gets from what answers, the path MTU found by the search, the mtu it tells the operator to
// set, and the local checks. The probes themselves run for real in tests/e2e/doctor.sh.
#include "install/doctor.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "fake_datapath.hpp"
#include "ipam/lease_store.hpp"
#include "test_files.hpp"

namespace sixrd::install {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Answers as a network would: echo6 up to `pathMtu` bytes to the overlay addresses of `sitPeers`,
// echo4 from `ipv4Peers`, TCP from `tcpPeers`. Counts every probe.
class ScriptedProber : public tunnel::Prober {
 public:
  std::map<ipam::Ipv4Addr, int> pathMtu;  // node IPv4 -> largest IPv6 packet that gets through
  std::set<ipam::Ipv4Addr> ipv4Peers;
  std::set<ipam::Ipv4Addr> tcpPeers;
  ipam::SixrdPlan plan;
  int probes = 0;

  std::optional<microseconds> echo6(const ipam::Ipv6Addr& dst, int size, milliseconds) override {
    ++probes;
    const ipam::Ipv4Addr node = ipam::whois(plan, dst).nodeIp;
    const auto it = pathMtu.find(node);
    if (it == pathMtu.end() || size > it->second) return std::nullopt;
    return microseconds(1500);
  }
  std::optional<microseconds> echo4(ipam::Ipv4Addr dst, milliseconds) override {
    ++probes;
    if (!ipv4Peers.contains(dst)) return std::nullopt;
    return microseconds(1000);
  }
  std::optional<microseconds> tcpConnect(ipam::Ipv4Addr dst, int, milliseconds) override {
    ++probes;
    if (!tcpPeers.contains(dst)) return std::nullopt;
    return microseconds(1200);
  }
};

ipam::Ipv4Addr v4(const char* text) { return ipam::parseIpv4(text, "test"); }

class DoctorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::makeTempDir("doctor");
    config_ = cni::parseConfig(nlohmann::json{{"cniVersion", "1.1.0"},
                                              {"name", "k8s"},
                                              {"type", "sixrd"},
                                              {"prefix", "fd00:10::/48"},
                                              {"underlay", "198.18.0.0/16"},
                                              {"dataDir", (dir_ / "data").string()}});
    datapath_.hostIp = v4("198.18.1.11");
    prober_.plan = config_.plan;
    settings_.readSysctl = [this](std::string_view) { return forwarding_; };
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  DoctorReport run(std::vector<std::string> peers) {
    settings_.peers = std::move(peers);
    return doctor(config_, settings_, datapath_, prober_);
  }
  static const DoctorCheck& check(const std::vector<DoctorCheck>& checks, std::string_view name) {
    for (const auto& c : checks) {
      if (c.name == name) return c;
    }
    throw std::runtime_error("no check " + std::string(name));
  }

  std::filesystem::path dir_;
  cni::PluginConfig config_;
  fake::FakeDatapath datapath_;
  ScriptedProber prober_;
  DoctorSettings settings_;
  std::optional<std::string> forwarding_ = "1";
};

TEST(LargestPassing, FindsTheLimitExactly) {
  for (int limit = 1280; limit <= 1480; ++limit) {
    int calls = 0;
    const auto got = largestPassing(1280, 1480, [&](int n) {
      ++calls;
      return n <= limit;
    });
    ASSERT_EQ(got, limit);
    EXPECT_LE(calls, 10);  // log2(201) + 1: a dead size costs a timeout each
  }
}

TEST(LargestPassing, NothingPassesOrEmptyRange) {
  EXPECT_EQ(largestPassing(1280, 1480, [](int) { return false; }), std::nullopt);
  EXPECT_EQ(largestPassing(1480, 1280, [](int) { return true; }), std::nullopt);
  EXPECT_EQ(largestPassing(1280, 1280, [](int) { return true; }), 1280);
}

TEST(PeerNode, MapsIpv4AndOverlayAddresses) {
  const auto plan = ipam::SixrdPlan::make(ipam::parseIpv6Prefix("fd00:10::/48", "p"),
                                          ipam::parseIpv4Subnet("198.18.0.0/16", "u"));
  EXPECT_EQ(peerNode(plan, "198.18.3.13"), v4("198.18.3.13"));
  // A pod address on node 198.18.3.13: the node's host bits follow the prefix.
  const auto pod = ipam::withInterfaceId(ipam::nodePrefix(plan, v4("198.18.3.13")).node64, 0x5a1c);
  EXPECT_EQ(peerNode(plan, ipam::formatIpv6(pod)), v4("198.18.3.13"));
}

TEST(PeerNode, RefusesWhatIsNotThisCluster) {
  const auto plan = ipam::SixrdPlan::make(ipam::parseIpv6Prefix("fd00:10::/48", "p"),
                                          ipam::parseIpv4Subnet("198.18.0.0/16", "u"));
  for (const char* bad : {"10.0.0.1", "fd00:99::1", "not-an-address", "", "198.18.3"}) {
    try {
      (void)peerNode(plan, bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const ipam::InvalidInput& e) {
      EXPECT_EQ(e.field(), "--peer") << bad;
    }
  }
}

TEST_F(DoctorTest, HealthyPeerPassesEveryCheck) {
  prober_.pathMtu[v4("198.18.2.12")] = 1480;
  prober_.ipv4Peers.insert(v4("198.18.2.12"));
  const DoctorReport r = run({"198.18.2.12"});
  EXPECT_TRUE(r.ok()) << r.text();
  ASSERT_EQ(r.peers.size(), 1U);
  EXPECT_EQ(r.peers[0].verdict, "ok");
  EXPECT_EQ(r.peers[0].pathMtu, 1480);
  EXPECT_EQ(r.peers[0].overlay, "fd00:10:0:20c::1");
  ASSERT_TRUE(r.peers[0].rttTunnelMs && r.peers[0].rttIpv4Ms);
  EXPECT_DOUBLE_EQ(*r.peers[0].rttTunnelMs, 1.5);
  EXPECT_DOUBLE_EQ(*r.peers[0].rttIpv4Ms, 1.0);
  EXPECT_EQ(r.nodeIp, "198.18.1.11");
  EXPECT_EQ(r.tunnelMtu, 1480);
}

TEST_F(DoctorTest, Protocol41FilteredWhenTheNodeAnswersOverIpv4) {
  prober_.ipv4Peers.insert(v4("198.18.3.13"));
  const DoctorReport r = run({"198.18.3.13"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.peers[0].verdict, "protocol 41 filtered");
  const DoctorCheck& c = check(r.peers[0].checks, "protocol 41");
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.detail.find("protocol 41 filtered or peer not running sixrd"), std::string::npos);
  EXPECT_NE(c.fix.find("ip protocol 41 accept"), std::string::npos);
  EXPECT_FALSE(r.peers[0].pathMtu);  // nothing to measure without the tunnel
}

TEST_F(DoctorTest, TcpPortTellsFilteringWhenIcmpv4IsDropped) {
  prober_.tcpPeers.insert(v4("198.18.3.13"));
  settings_.tcpPort = 10250;
  const DoctorReport r = run({"198.18.3.13"});
  EXPECT_EQ(r.peers[0].verdict, "protocol 41 filtered");
  EXPECT_NE(check(r.peers[0].checks, "protocol 41").detail.find("TCP port 10250"),
            std::string::npos);
}

TEST_F(DoctorTest, SilentPeerIsUnreachableAndSaysHowToTell) {
  const DoctorReport r = run({"198.18.9.19"});
  EXPECT_EQ(r.peers[0].verdict, "peer IPv4 unreachable");
  EXPECT_NE(check(r.peers[0].checks, "protocol 41").fix.find("--tcp-port"), std::string::npos);
  // Bounded: a dead peer costs a handful of probes, each bounded by the timeout.
  EXPECT_LE(prober_.probes, 6);
}

TEST_F(DoctorTest, MtuBlackHoleFindsTheLimitAndTheMtuToSet) {
  prober_.pathMtu[v4("198.18.4.14")] = 1380;  // a 1400-byte link in between, ICMP dropped
  const DoctorReport r = run({"198.18.4.14"});
  EXPECT_FALSE(r.ok());
  const PeerReport& p = r.peers[0];
  EXPECT_EQ(p.verdict, "MTU black hole");
  EXPECT_EQ(p.pathMtu, 1380);
  EXPECT_EQ(p.setMtu, 1380);
  const DoctorCheck& c = check(p.checks, "path MTU");
  EXPECT_NE(c.detail.find("MTU black hole above 1380"), std::string::npos) << c.detail;
  EXPECT_NE(c.detail.find("packets above 1380 bytes to 198.18.4.14 vanish"), std::string::npos);
  EXPECT_NE(c.fix.find("set mtu to 1380"), std::string::npos);
  EXPECT_FALSE(p.rttIpv4Ms);  // ICMPv4 dropped: latency reported through the tunnel only
  EXPECT_TRUE(check(p.checks, "latency").ok);
}

TEST_F(DoctorTest, PathBelowIpv6MinimumCannotBeFixedByMtu) {
  prober_.pathMtu[v4("198.18.4.14")] = 1200;
  // Small echoes pass, 1280 does not.
  const DoctorReport r = run({"198.18.4.14"});
  EXPECT_EQ(r.peers[0].verdict, "MTU black hole");
  EXPECT_FALSE(r.peers[0].setMtu);
  EXPECT_NE(check(r.peers[0].checks, "path MTU").detail.find("even 1280-byte"), std::string::npos);
}

TEST_F(DoctorTest, ConfiguredMtuBelowThePathIsFine) {
  config_.mtu = 1380;
  prober_.pathMtu[v4("198.18.4.14")] = 1380;
  const DoctorReport r = run({"198.18.4.14"});
  EXPECT_TRUE(r.ok()) << r.text();
  EXPECT_EQ(r.peers[0].pathMtu, 1380);
  EXPECT_EQ(r.podMtu, 1380);
}

TEST_F(DoctorTest, PodAddressAsPeerProbesItsNode) {
  prober_.pathMtu[v4("198.18.2.12")] = 1480;
  const auto node64 = ipam::nodePrefix(config_.plan, v4("198.18.2.12")).node64;
  const DoctorReport r = run({ipam::formatIpv6(ipam::withInterfaceId(node64, 0x1234))});
  EXPECT_EQ(r.peers[0].nodeIp, "198.18.2.12");
  EXPECT_EQ(r.peers[0].verdict, "ok");
}

TEST_F(DoctorTest, ThisNodeIsNotProbed) {
  const DoctorReport r = run({"198.18.1.11"});
  EXPECT_EQ(r.peers[0].verdict, "this node");
  EXPECT_EQ(prober_.probes, 0);
}

TEST_F(DoctorTest, BadPeerFailsBeforeAnyProbe) {
  prober_.pathMtu[v4("198.18.2.12")] = 1480;
  EXPECT_THROW(run({"198.18.2.12", "192.0.2.1"}), ipam::InvalidInput);
  EXPECT_EQ(prober_.probes, 0);
}

TEST_F(DoctorTest, LocalChecksPassOnAHealthyNode) {
  const DoctorReport r = run({});
  EXPECT_TRUE(r.ok()) << r.text();
  for (const char* name : {"sit", "node", "tunnel", "forwarding", "pod MTU", "stale"}) {
    EXPECT_TRUE(check(r.local, name).ok) << name;
  }
}

TEST_F(DoctorTest, LocalFailuresNameTheFix) {
  datapath_.sit = false;
  datapath_.tunnelProblems = {"sixrd0 local is 198.18.1.99, want 198.18.1.11"};
  forwarding_ = "0";
  config_.mtu = 1490;
  const DoctorReport r = run({});
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(check(r.local, "sit").ok);
  EXPECT_NE(check(r.local, "tunnel").detail.find("local is 198.18.1.99"), std::string::npos);
  EXPECT_FALSE(check(r.local, "forwarding").ok);
  EXPECT_NE(check(r.local, "pod MTU").fix.find("set mtu to 1480"), std::string::npos);
}

TEST_F(DoctorTest, UnresolvedNodeSkipsPeers) {
  datapath_.nodeError = "no IPv4 address inside the underlay 198.18.0.0/16: set nodeIP";
  const DoctorReport r = run({"198.18.2.12"});
  EXPECT_FALSE(check(r.local, "node").ok);
  EXPECT_EQ(r.peers[0].verdict, "not checked");
  EXPECT_EQ(prober_.probes, 0);
}

TEST_F(DoctorTest, StaleVethsAndLeasesAreWhatGcWouldRemove) {
  datapath_.plantVeth("sx0123456789ab", "sixrd/k8s/eth0/gone",
                      tunnel::Datapath::HostVeth::Peer::kNetnsGone);
  datapath_.plantVeth("sxffffffffffff", "sixrd/other/eth0/x",
                      tunnel::Datapath::HostVeth::Peer::kNetnsGone);  // another network's
  ipam::LeaseStore store(dir_ / "data", "k8s");
  const auto node64 = ipam::nodePrefix(config_.plan, datapath_.hostIp).node64;
  store.acquire({"lonely", "eth0"}, node64);
  const DoctorReport r = run({});
  const DoctorCheck& c = check(r.local, "stale");
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.detail.find("sx0123456789ab"), std::string::npos);
  EXPECT_EQ(c.detail.find("sxffffffffffff"), std::string::npos);
  EXPECT_NE(c.detail.find("container lonely"), std::string::npos);
}

TEST_F(DoctorTest, JsonCarriesVerdictsAndNumbers) {
  prober_.pathMtu[v4("198.18.4.14")] = 1380;
  const auto j = run({"198.18.4.14"}).toJson();
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["tunnelMTU"], 1480);
  EXPECT_EQ(j["peers"][0]["verdict"], "MTU black hole");
  EXPECT_EQ(j["peers"][0]["pathMTU"], 1380);
  EXPECT_EQ(j["peers"][0]["setMTU"], 1380);
  EXPECT_EQ(j["peers"][0]["ok"], false);
  EXPECT_TRUE(j["checks"].is_array());
}

}  // namespace
}  // namespace sixrd::install
