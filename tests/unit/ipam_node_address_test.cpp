// Which local IPv4 is the node's own (ipam/node_address.hpp), on the addresses real nodes carry.
#include "ipam/node_address.hpp"

#include <gtest/gtest.h>

namespace sixrd::ipam {
namespace {

LocalIpv4 addr(const char* text, int len, int ifindex = 2, const char* ifname = "eth0",
               bool secondary = false) {
  return {parseIpv4(text, "test"), len, secondary, ifindex, ifname};
}

NodeAddressQuery underlay16() {
  NodeAddressQuery q;
  q.underlay = parseIpv4Subnet("10.20.0.0/16", "underlay");
  return q;
}

std::string chosen(const NodeAddressChoice& c) {
  return c.chosen ? formatIpv4(c.chosen->addr) : "none: " + c.error;
}

TEST(NodeAddress, TheOneAddressInsideTheUnderlay) {
  const auto c = chooseNodeAddress(
      underlay16(),
      {addr("127.0.0.1", 8, 1, "lo"), addr("192.168.1.5", 24, 3, "mgmt"), addr("10.20.3.7", 16)});
  EXPECT_EQ(chosen(c), "10.20.3.7");
}

TEST(NodeAddress, A32VipNextToTheNodeAddressIsPassedOver) {
  // keepalived / kube-vip: the VIP on the same interface, listed first.
  const auto c = chooseNodeAddress(underlay16(), {addr("10.20.0.100", 32), addr("10.20.3.7", 16)});
  EXPECT_EQ(chosen(c), "10.20.3.7");
  ASSERT_EQ(c.passedOver.size(), 1U);
  EXPECT_NE(c.passedOver[0].find("10.20.0.100/32 on eth0 is a /32"), std::string::npos);
}

TEST(NodeAddress, A32VipWithUnderlayInterfaceSetIsPassedOver) {
  auto q = underlay16();
  q.underlayInterface = "eth0";
  q.underlayIfindex = 2;
  const auto c = chooseNodeAddress(q, {addr("10.20.3.7", 16), addr("10.20.0.100", 32)});
  EXPECT_EQ(chosen(c), "10.20.3.7");
}

TEST(NodeAddress, ASecondaryAddressIsPassedOver) {
  const auto c = chooseNodeAddress(underlay16(),
                                   {addr("10.20.3.7", 16), addr("10.20.9.9", 16, 2, "eth0", true)});
  EXPECT_EQ(chosen(c), "10.20.3.7");
}

TEST(NodeAddress, TheUnderlaysPrefixLengthDecidesBetweenPrimaries) {
  // A /24 VIP subnet on another interface inside the /16 underlay.
  const auto c = chooseNodeAddress(
      underlay16(), {addr("10.20.200.1", 24, 5, "vip0"), addr("10.20.3.7", 16, 2, "eth0")});
  EXPECT_EQ(chosen(c), "10.20.3.7");
}

TEST(NodeAddress, NodeIpMayNameAVip) {
  auto q = underlay16();
  q.nodeIp = parseIpv4("10.20.0.100", "nodeIP");
  const auto c = chooseNodeAddress(q, {addr("10.20.3.7", 16), addr("10.20.0.100", 32)});
  EXPECT_EQ(chosen(c), "10.20.0.100");
}

TEST(NodeAddress, NodeIpMayNameASecondary) {
  auto q = underlay16();
  q.nodeIp = parseIpv4("10.20.9.9", "nodeIP");
  const auto c =
      chooseNodeAddress(q, {addr("10.20.3.7", 16), addr("10.20.9.9", 16, 2, "eth0", true)});
  EXPECT_EQ(chosen(c), "10.20.9.9");
}

TEST(NodeAddress, NodeIpThatIsNotLocalNamesWhatIsThere) {
  auto q = underlay16();
  q.nodeIp = parseIpv4("10.20.1.1", "nodeIP");
  const auto c = chooseNodeAddress(q, {addr("10.20.3.7", 16)});
  ASSERT_FALSE(c.chosen);
  EXPECT_NE(c.error.find("nodeIP 10.20.1.1 is not an address of this node"), std::string::npos);
  EXPECT_NE(c.error.find("10.20.3.7/16 on eth0"), std::string::npos);
}

TEST(NodeAddress, OnlyAVipInsideTheUnderlayIsNotTaken) {
  const auto c = chooseNodeAddress(underlay16(),
                                   {addr("10.20.0.100", 32), addr("192.168.1.5", 24, 3, "mgmt")});
  ASSERT_FALSE(c.chosen);
  EXPECT_NE(c.error.find("10.20.0.100/32 on eth0"), std::string::npos) << c.error;
  EXPECT_NE(c.error.find("set nodeIP"), std::string::npos) << c.error;
}

TEST(NodeAddress, TrulyAmbiguousListsTheCandidates) {
  const auto c = chooseNodeAddress(
      underlay16(), {addr("10.20.3.7", 16, 2, "eth0"), addr("10.20.4.7", 16, 3, "eth1")});
  ASSERT_FALSE(c.chosen);
  EXPECT_NE(c.error.find("10.20.3.7/16 on eth0, 10.20.4.7/16 on eth1"), std::string::npos)
      << c.error;
  EXPECT_NE(c.error.find("set nodeIP"), std::string::npos);
  EXPECT_NE(c.error.find("underlayInterface"), std::string::npos);
}

TEST(NodeAddress, AmbiguousOnTheUnderlayInterfaceDoesNotAskToSetIt) {
  auto q = underlay16();
  q.underlayInterface = "eth0";
  q.underlayIfindex = 2;
  // Two primaries of different subnets inside the underlay on eth0, neither of the underlay's
  // length.
  const auto c = chooseNodeAddress(
      q, {addr("10.20.3.7", 24), addr("10.20.4.7", 24), addr("10.20.5.7", 16, 3, "eth1")});
  ASSERT_FALSE(c.chosen);
  EXPECT_NE(c.error.find("10.20.3.7/24 on eth0, 10.20.4.7/24 on eth0"), std::string::npos)
      << c.error;
  EXPECT_EQ(c.error.find("eth1"), std::string::npos) << c.error;
  EXPECT_EQ(c.error.find("set nodeIP or underlayInterface"), std::string::npos) << c.error;
  EXPECT_EQ(c.error.find("underlayInterface to"), std::string::npos) << c.error;
}

TEST(NodeAddress, UnderlayInterfaceRestrictsTheSearch) {
  auto q = underlay16();
  q.underlayInterface = "eth1";
  q.underlayIfindex = 3;
  const auto c =
      chooseNodeAddress(q, {addr("10.20.3.7", 16, 2, "eth0"), addr("10.20.4.7", 16, 3, "eth1")});
  EXPECT_EQ(chosen(c), "10.20.4.7");
}

TEST(NodeAddress, NothingInsideTheUnderlay) {
  const auto c = chooseNodeAddress(underlay16(), {addr("192.168.1.5", 24, 3, "mgmt")});
  ASSERT_FALSE(c.chosen);
  EXPECT_NE(c.error.find("no IPv4 address inside underlay 10.20.0.0/16 on this node"),
            std::string::npos);
  EXPECT_NE(c.error.find("192.168.1.5/24 on mgmt"), std::string::npos);
}

}  // namespace
}  // namespace sixrd::ipam
