// The daemon's egress steering and `sixrd status`'s relay lines, against the in-memory datapath
// and a prober that answers for the relays a test says are up. The kernel side (rule, table,
// ECMP route) runs for real in tests/e2e/egress.sh.
#include "install/egress.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "cni/plugin.hpp"
#include "fake_datapath.hpp"

namespace sixrd::install {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

ipam::Ipv4Addr v4(const char* text) { return ipam::parseIpv4(text, "test"); }

class RelaysUp : public tunnel::Prober {
 public:
  ipam::SixrdPlan plan;
  std::set<ipam::Ipv4Addr> up;
  std::vector<ipam::Ipv4Addr> asked;  // every echo, in order
  std::optional<microseconds> echo6(const ipam::Ipv6Addr& dst, int, milliseconds) override {
    asked.push_back(ipam::whois(plan, dst).nodeIp);
    if (!up.contains(asked.back())) return std::nullopt;
    return microseconds(800);
  }
  std::optional<microseconds> echo4(ipam::Ipv4Addr, milliseconds) override { return {}; }
  std::optional<microseconds> tcpConnect(ipam::Ipv4Addr, int, milliseconds) override { return {}; }
};

// Records what the daemon asks for and reports it back as the route in use.
class SteeredDatapath : public fake::FakeDatapath {
 public:
  std::vector<std::vector<ipam::Ipv4Addr>> set;
  std::vector<ipam::Ipv4Addr> inUse;
  std::vector<std::string> setEgressRelays(const tunnel::NodeSpec&, const tunnel::Node&,
                                           const std::vector<ipam::Ipv4Addr>& active) override {
    set.push_back(active);
    inUse = active;
    return {"egress via ..."};
  }
  std::vector<ipam::Ipv4Addr> egressRelaysInUse() override { return inUse; }
};

class EgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = cni::parseConfig(nlohmann::json{{"cniVersion", "1.1.0"},
                                              {"name", "k8s"},
                                              {"type", "sixrd"},
                                              {"prefix", "fd00:10::/48"},
                                              {"underlay", "198.18.0.0/16"},
                                              {"relay", {"198.18.9.1", "198.18.9.2"}}});
    prober_.plan = config_.plan;
    datapath_.hostIp = v4("198.18.1.11");
    node_ = datapath_.resolveNode(cni::nodeSpec(config_));
  }
  cni::PluginConfig config_;
  SteeredDatapath datapath_;
  RelaysUp prober_;
  tunnel::Node node_;
};

TEST_F(EgressTest, RoutesThroughTheRelaysThatAnswer) {
  prober_.up = {v4("198.18.9.1"), v4("198.18.9.2")};
  steerEgress(config_, node_, datapath_, prober_);
  ASSERT_EQ(datapath_.set.size(), 1U);
  EXPECT_EQ(datapath_.set[0], (std::vector{v4("198.18.9.1"), v4("198.18.9.2")}));

  prober_.up = {v4("198.18.9.2")};  // relay 1 goes down
  steerEgress(config_, node_, datapath_, prober_);
  ASSERT_EQ(datapath_.set.size(), 2U);
  EXPECT_EQ(datapath_.set[1], std::vector{v4("198.18.9.2")});
}

TEST_F(EgressTest, NoRelayAnsweringKeepsTheRouteAsItIs) {
  prober_.up = {};
  EXPECT_TRUE(steerEgress(config_, node_, datapath_, prober_).empty());
  EXPECT_TRUE(datapath_.set.empty());
}

TEST_F(EgressTest, ARelayNodeIsNotSteered) {
  datapath_.hostIp = v4("198.18.9.1");
  const tunnel::Node relay = datapath_.resolveNode(cni::nodeSpec(config_));
  prober_.up = {v4("198.18.9.2")};
  EXPECT_TRUE(steerEgress(config_, relay, datapath_, prober_).empty());
  EXPECT_TRUE(datapath_.set.empty());
}

TEST_F(EgressTest, NoRelaysConfiguredDoesNothing) {
  config_.relays.clear();
  EXPECT_TRUE(steerEgress(config_, node_, datapath_, prober_).empty());
  EXPECT_TRUE(relayStatusLines(config_, datapath_, prober_).empty());
}

TEST_F(EgressTest, StatusSaysWhichRelayIsInUseAndWhichDoesNotAnswer) {
  prober_.up = {v4("198.18.9.2")};
  datapath_.inUse = {v4("198.18.9.2")};
  const auto lines = relayStatusLines(config_, datapath_, prober_);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0], "relay 198.18.9.1 does not answer (unreachable)");
  EXPECT_EQ(lines[1], "relay 198.18.9.2 answers, in use");
}

TEST_F(EgressTest, ASilentRelayGetsThreeTriesAndAnAnsweringOneOne) {
  prober_.up = {v4("198.18.9.2")};
  const auto probes = probeRelays(config_, datapath_, prober_);
  ASSERT_EQ(probes.size(), 2U);
  EXPECT_FALSE(probes[0].answers);
  EXPECT_TRUE(probes[1].answers);
  // Round robin: both once, then the silent one twice more (2.1 s of timeouts, the budget).
  EXPECT_EQ(prober_.asked,
            (std::vector{v4("198.18.9.1"), v4("198.18.9.2"), v4("198.18.9.1"), v4("198.18.9.1")}));
}

TEST_F(EgressTest, ManySilentRelaysGetOneTryEachWithinTheBudget) {
  std::vector<std::string> relays;
  for (int i = 1; i <= 6; ++i) relays.push_back(fmt::format("198.18.9.{}", i));
  config_ = cni::parseConfig(nlohmann::json{{"cniVersion", "1.1.0"},
                                            {"name", "k8s"},
                                            {"type", "sixrd"},
                                            {"prefix", "fd00:10::/48"},
                                            {"underlay", "198.18.0.0/16"},
                                            {"relay", relays}});
  prober_.up = {v4("198.18.9.6")};
  const auto probes = probeRelays(config_, datapath_, prober_);
  ASSERT_EQ(probes.size(), 6U);
  EXPECT_TRUE(probes[5].answers) << "the last relay still gets its try";
  // Five silent relays cost 3.5 s in the first round: past the budget, no second round. The
  // readiness probe (10 s) is not at risk: at most one timeout per relay beyond the budget.
  EXPECT_EQ(prober_.asked.size(), 6U);
}

}  // namespace
}  // namespace sixrd::install
