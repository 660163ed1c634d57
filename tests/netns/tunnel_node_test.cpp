// The node side on the host kernel: finding the node IPv4 and underlay MTU, and how the tunnel
// calls behave on a kernel without sit (the tunnel itself is tested in the VM).
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"
#include "tunnel/nl.hpp"

namespace sixrd::netns_test {
namespace {

using ::testing::HasSubstr;

class NodeResolution : public NodeTest {};
class TunnelWithoutSit : public NodeTest {};

// A second underlay interface ul1 (198.18.0.12/16, MTU 1400), so "which one" is a real question.
void addSecondUnderlay(const std::string& node) {
  const std::string ip = "ip -n " + node;
  must(ip + " link add name ul1 mtu 1400 type veth peer name ul1p mtu 1400");
  must(ip + " addr add 198.18.0.12/16 dev ul1");
  must(ip + " link set dev ul1 up");
}

TEST_F(NodeResolution, FindsTheOneAddressInsideTheUnderlayAndItsInterfaceMtu) {
  const tunnel::Node node = datapath().resolveNode(nodeSpec());
  EXPECT_EQ(ipam::formatIpv4(node.prefix.nodeIp), kNodeIp);
  EXPECT_EQ(ipam::formatPrefix(node.prefix.node64), kNode64);
  EXPECT_EQ(ipam::formatIpv6(node.prefix.overlayAddr), "fd00:10:0:b::1");
  EXPECT_EQ(node.underlayInterface, "ul0");
  EXPECT_EQ(node.underlayMtu, 1500);
  EXPECT_EQ(node.tunnelMtu(), 1480);
}

// A link dump turns strict checking on for the datapath's socket; the IPv4 address dump after it
// must still be one the kernel accepts (an rtgenmsg header it refuses, and the refusal read as an
// empty dump said "no IPv4 address": sixrd doctor, which probes sit before it resolves the node).
TEST_F(NodeResolution, FindsTheNodeAddressAfterAnotherDumpOnTheSameSocket) {
  EXPECT_TRUE(datapath().listHostVeths().empty());
  const tunnel::Node node = datapath().resolveNode(nodeSpec());
  EXPECT_EQ(ipam::formatIpv4(node.prefix.nodeIp), kNodeIp);
}

// The kernel refuses a dump of a table that does not exist (ENOENT in the dump's NLMSG_DONE, which
// the socket now reports instead of reading it as empty): that is no egress route, not an error.
TEST_F(NodeResolution, AnEgressTableThatDoesNotExistMeansNoRelaysInUse) {
  EXPECT_TRUE(datapath().egressRelaysInUse().empty());
  EXPECT_EQ(ipam::formatIpv4(datapath().resolveNode(nodeSpec()).prefix.nodeIp), kNodeIp);
}

// Every ADD asks over netlink (RTM_GETNETCONF) whether IPv6 forwarding is on, and reads and
// writes /proc/sys only when the answer is not yes: the answer must be the sysctl's, both ways.
TEST_F(NodeResolution, Ipv6ForwardingOverNetlinkIsTheSysctls) {
  const tunnel::nl::Socket sock = tunnel::nl::openRouteSocket();
  const std::string sysctl =
      "ip netns exec " + node() + " sysctl -qw net.ipv6.conf.all.forwarding=";
  EXPECT_EQ(tunnel::nl::ipv6Forwarding(sock.get()), std::optional<bool>(true));  // the fixture's
  must(sysctl + "0");
  EXPECT_EQ(tunnel::nl::ipv6Forwarding(sock.get()), std::optional<bool>(false));
  must(sysctl + "1");
  EXPECT_EQ(tunnel::nl::ipv6Forwarding(sock.get()), std::optional<bool>(true));
}

// sixrd reads every reply itself (tunnel/nl.cpp receive): one buffer per thread for datagrams,
// one kept nl_msg for parsing. A link message larger than that nl_msg (40 alternative names of
// 100 bytes each) is still read whole; a dump that spans many datagrams is read to its end, and
// the next request on the same socket is answered in step (no message of the dump left behind).
TEST_F(NodeResolution, TheNetlinkReaderTakesMessagesLargerThanItsParseBufferAndLongDumps) {
  const tunnel::nl::Socket sock = tunnel::nl::openRouteSocket();
  must("ip -n " + node() + " link add name big0 type veth peer name big0p");
  std::string batch;
  for (int i = 0; i < 40; ++i) {
    batch += fmt::format("link property add dev big0 altname {:02d}{}\n", i, std::string(98, 'a'));
  }
  for (int i = 0; i < 100; ++i) {
    batch += fmt::format("link add name many{} type veth peer name many{}p\n", i, i);
  }
  const std::string file = "/tmp/sixrd-netns-batch-" + std::to_string(getpid());
  { std::ofstream(file) << batch; }
  const CommandResult made = run("ip -n " + node() + " -batch " + file, true);
  std::remove(file.c_str());
  ASSERT_EQ(made.status, 0) << made.out;

  const tunnel::nl::Link big = tunnel::nl::findLink(sock.get(), "big0");
  ASSERT_TRUE(big);
  EXPECT_EQ(std::string(rtnl_link_get_name(big.get())), "big0");
  int links = 0;
  for (nl_object* o : tunnel::nl::dumpLinks(sock.get())) {
    static_cast<void>(o);
    ++links;
  }
  const CommandResult listed = run("ip -n " + node() + " -o link show | wc -l");
  EXPECT_EQ(links, std::stoi(listed.out));
  EXPECT_GT(links, 200);
  const tunnel::nl::Link ul0 = tunnel::nl::findLink(sock.get(), "ul0");
  ASSERT_TRUE(ul0);
  EXPECT_EQ(std::string(rtnl_link_get_name(ul0.get())), "ul0");
  EXPECT_FALSE(tunnel::nl::findLink(sock.get(), "nosuch0"));
  // A change the kernel refuses is its error, and the socket stays in step after it.
  const auto absent = tunnel::nl::alloc<tunnel::nl::Link>();
  rtnl_link_set_name(absent.get(), "nosuch0");
  const int rc = tunnel::nl::deleteLink(sock.get(), absent.get());
  EXPECT_TRUE(rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) << nl_geterror(rc);
  EXPECT_TRUE(tunnel::nl::findLink(sock.get(), "big0"));
}

// Requests are built in one buffer kept for the thread (tunnel/nl.cpp, nl::Request): a request
// made while another is still alive gets a buffer of its own, so neither overwrites the other, and
// the kept buffer serves the next request once both are gone. A shorter request after a longer one
// carries nothing of it (each starts from its header).
TEST_F(NodeResolution, RequestsMadeWhileAnotherIsAliveKeepTheirOwnContent) {
  const tunnel::nl::Socket sock = tunnel::nl::openRouteSocket();
  const ifinfomsg ifi{};
  const auto newLink = [&ifi] {
    return std::make_unique<tunnel::nl::Request>(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi,
                                                 sizeof ifi, "test link");
  };
  {
    const auto first = newLink();
    first->putString(IFLA_IFNAME, "reqa0");
    nlattr* info = first->nest(IFLA_LINKINFO);
    first->putString(IFLA_INFO_KIND, "veth");
    first->end(info);
    const auto second = newLink();
    second->putString(IFLA_IFNAME, "reqb0");
    info = second->nest(IFLA_LINKINFO);
    second->putString(IFLA_INFO_KIND, "veth");
    second->end(info);
    EXPECT_NE(first->msg(), second->msg());
    EXPECT_EQ(tunnel::nl::sendAcked(sock.get(), *second), 0);
    EXPECT_EQ(tunnel::nl::sendAcked(sock.get(), *first), 0);
  }
  EXPECT_TRUE(link(node(), "reqa0"));
  EXPECT_TRUE(link(node(), "reqb0"));
  // The kept buffer again, after a longer request: a delete by name carries only that name.
  tunnel::nl::Request del(RTM_DELLINK, 0, &ifi, sizeof ifi, "test delete");
  del.putString(IFLA_IFNAME, "reqa0");
  EXPECT_EQ(tunnel::nl::sendAcked(sock.get(), del), 0);
  EXPECT_FALSE(link(node(), "reqa0"));
  EXPECT_TRUE(link(node(), "reqb0"));
}

TEST_F(NodeResolution, ReadsTheRealMtuOfTheUnderlayInterface) {
  must("ip -n " + node() + " link set dev ul0 mtu 9000");
  const tunnel::Node node = datapath().resolveNode(nodeSpec());
  EXPECT_EQ(node.underlayMtu, 9000);
  EXPECT_EQ(node.tunnelMtu(), 8980);
}

// What sixrd could change on a node: links, IPv4 addresses, routes it would add (not the ones the
// kernel maintains by itself as links settle, like link-local prefixes).
json configuredState(const std::string& ns) {
  json links = json::array();
  for (const json& l : ipJson(ns, "-d link show")) links.push_back(identity(l));
  json routes = json::array();
  for (const json& r : ipJson(ns, "-6 route show table all")) {
    if (r.value("protocol", "") != "kernel" && r.value("table", "") != "local") routes.push_back(r);
  }
  json ipv4 = json::array();
  for (const json& l : ipJson(ns, "-4 addr show")) {
    for (const json& a : l.value("addr_info", json::array())) {
      ipv4.push_back({l.value("ifname", ""), a.value("local", ""), a.value("prefixlen", 0)});
    }
  }
  return {{"links", links}, {"ipv4", ipv4}, {"ipv6 routes", routes}};
}

TEST_F(NodeResolution, ChangesNothingOnTheNode) {
  const json before = configuredState(node());
  static_cast<void>(datapath().resolveNode(nodeSpec()));
  EXPECT_EQ(configuredState(node()), before);
}

TEST_F(NodeResolution, NodeIpPicksAmongSeveralUnderlayAddresses) {
  addSecondUnderlay(node());
  tunnel::NodeSpec spec = nodeSpec();
  spec.nodeIp = ipam::parseIpv4("198.18.0.12", "nodeIP");
  const tunnel::Node node = datapath().resolveNode(spec);
  EXPECT_EQ(ipam::formatIpv4(node.prefix.nodeIp), "198.18.0.12");
  EXPECT_EQ(ipam::formatPrefix(node.prefix.node64), "fd00:10:0:c::/64");
  EXPECT_EQ(node.underlayInterface, "ul1");
  EXPECT_EQ(node.underlayMtu, 1400);
}

TEST_F(NodeResolution, UnderlayInterfacePicksAmongSeveralUnderlayAddresses) {
  addSecondUnderlay(node());
  tunnel::NodeSpec spec = nodeSpec();
  spec.underlayInterface = "ul1";
  const tunnel::Node node = datapath().resolveNode(spec);
  EXPECT_EQ(ipam::formatIpv4(node.prefix.nodeIp), "198.18.0.12");
  EXPECT_EQ(node.underlayInterface, "ul1");
  EXPECT_EQ(node.underlayMtu, 1400);
}

// With underlayInterface pinned, node resolution reads only that link's IPv4 addresses: the kernel
// looks the one link up instead of walking every link (each pod's host veth among them).
TEST_F(NodeResolution, TheIpv4AddressesOfOneLinkAreThatLinksOnly) {
  addSecondUnderlay(node());
  must("ip -n " + node() + " addr add 198.18.0.100/32 dev ul1");
  const tunnel::nl::Socket sock = tunnel::nl::openRouteSocket();
  const int ul1 = tunnel::nl::getLinkBrief(sock.get(), "ul1").ifindex;
  std::vector<std::string> seen;
  for (const auto& a : tunnel::nl::dumpIpv4Addresses(sock.get(), ul1)) {
    EXPECT_EQ(a.ifindex, ul1);
    seen.push_back(fmt::format("{}/{}", ipam::formatIpv4(a.local), a.prefixLen));
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"198.18.0.100/32", "198.18.0.12/16"}));
  std::vector<std::string> all;
  for (const auto& a : tunnel::nl::dumpIpv4Addresses(sock.get())) {
    all.push_back(ipam::formatIpv4(a.local));
  }
  for (const char* want : {kNodeIp, "198.18.0.12", "198.18.0.100"}) {
    EXPECT_NE(std::find(all.begin(), all.end(), want), all.end()) << want << " in every link's";
  }
  // A link deleted since its ifindex was read holds no address (the kernel answers ENODEV).
  must("ip -n " + node() + " link del ul1");
  EXPECT_TRUE(tunnel::nl::dumpIpv4Addresses(sock.get(), ul1).empty());
  // The socket stays in step after a filtered dump and after a refused one.
  EXPECT_EQ(tunnel::nl::dumpIpv4Addresses(sock.get(), 1).size(), 1U);  // lo: 127.0.0.1
}

TEST_F(NodeResolution, NoAddressInsideTheUnderlayIsANodeErrorNamingNodeIpAndUnderlayInterface) {
  must("ip -n " + node() + " addr flush dev ul0");
  must("ip -n " + node() + " addr add 192.0.2.7/24 dev ul0");
  try {
    static_cast<void>(datapath().resolveNode(nodeSpec()));
    FAIL() << "resolveNode succeeded without an address inside the underlay";
  } catch (const tunnel::NodeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no IPv4 address inside underlay 198.18.0.0/16"));
    EXPECT_THAT(e.what(), HasSubstr("192.0.2.7"));  // what is there, to help the operator
    EXPECT_THAT(e.what(), HasSubstr("nodeIP"));
    EXPECT_THAT(e.what(), HasSubstr("underlayInterface"));
  }
}

TEST_F(NodeResolution, TwoAddressesInsideTheUnderlayAreANodeErrorAskingWhichOne) {
  addSecondUnderlay(node());
  try {
    static_cast<void>(datapath().resolveNode(nodeSpec()));
    FAIL() << "resolveNode picked one of two underlay addresses by itself";
  } catch (const tunnel::NodeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than one IPv4 address inside underlay"));
    EXPECT_THAT(e.what(), HasSubstr("198.18.0.11/16 on ul0"));
    EXPECT_THAT(e.what(), HasSubstr("198.18.0.12/16 on ul1"));
    EXPECT_THAT(e.what(), HasSubstr("nodeIP"));
    EXPECT_THAT(e.what(), HasSubstr("underlayInterface"));
  }
}

// keepalived / kube-vip put a floating /32 next to the node's address: it is never the node's.
TEST_F(NodeResolution, A32VipInsideTheUnderlayIsNotTheNodeAddress) {
  must("ip -n " + node() + " addr add 198.18.0.100/32 dev ul0");
  EXPECT_EQ(ipam::formatIpv4(datapath().resolveNode(nodeSpec()).prefix.nodeIp), kNodeIp);
  tunnel::NodeSpec spec = nodeSpec();
  spec.underlayInterface = "ul0";
  EXPECT_EQ(ipam::formatIpv4(datapath().resolveNode(spec).prefix.nodeIp), kNodeIp);
  spec.nodeIp = ipam::parseIpv4("198.18.0.100", "nodeIP");
  EXPECT_EQ(ipam::formatIpv4(datapath().resolveNode(spec).prefix.nodeIp), "198.18.0.100");
}

// A second address of the same subnet on the same interface is secondary (IFA_F_SECONDARY).
TEST_F(NodeResolution, ASecondaryAddressInsideTheUnderlayIsNotTheNodeAddress) {
  must("ip -n " + node() + " addr add 198.18.0.12/16 dev ul0");
  EXPECT_EQ(ipam::formatIpv4(datapath().resolveNode(nodeSpec()).prefix.nodeIp), kNodeIp);
}

TEST_F(NodeResolution, NodeIpThatIsNotLocalIsANodeError) {
  tunnel::NodeSpec spec = nodeSpec();
  spec.nodeIp = ipam::parseIpv4("198.18.0.99", "nodeIP");
  try {
    static_cast<void>(datapath().resolveNode(spec));
    FAIL() << "resolveNode accepted a nodeIP this node does not have";
  } catch (const tunnel::NodeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nodeIP 198.18.0.99 is not an address of this node"));
    EXPECT_THAT(e.what(), HasSubstr(kNodeIp));
  }
}

TEST_F(NodeResolution, UnderlayInterfaceThatDoesNotExistIsANodeError) {
  tunnel::NodeSpec spec = nodeSpec();
  spec.underlayInterface = "nosuch0";
  try {
    static_cast<void>(datapath().resolveNode(spec));
    FAIL() << "resolveNode accepted a missing underlayInterface";
  } catch (const tunnel::NodeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("underlayInterface nosuch0 does not exist"));
  }
}

TEST_F(NodeResolution, UnderlayInterfaceWithoutAnUnderlayAddressIsANodeError) {
  must("ip -n " + node() + " link add name other0 type veth peer name other0p");
  tunnel::NodeSpec spec = nodeSpec();
  spec.underlayInterface = "other0";
  try {
    static_cast<void>(datapath().resolveNode(spec));
    FAIL() << "resolveNode took an address from another interface than underlayInterface";
  } catch (const tunnel::NodeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("underlayInterface other0"));
  }
}

TEST_F(TunnelWithoutSit, SitIsReportedUnavailableAndTheProbeLeavesNoLink) {
  const auto before = linkNames(node());
  EXPECT_FALSE(datapath().sitAvailable(nodeSpec()));
  EXPECT_EQ(linkNames(node()), before);
}

TEST_F(TunnelWithoutSit, EnsureTunnelThrowsSitUnavailableNamingTheFixAndLeavesNoLink) {
  const auto before = linkNames(node());
  const tunnel::Node node = datapath().resolveNode(nodeSpec());
  try {
    datapath().ensureTunnel(nodeSpec(), node);
    FAIL() << "ensureTunnel succeeded on a kernel without sit";
  } catch (const tunnel::SitUnavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("sixrd0"));
    EXPECT_THAT(e.what(), HasSubstr("modprobe sit"));
    EXPECT_THAT(e.what(), HasSubstr("CONFIG_IPV6_SIT"));
  }
  EXPECT_EQ(linkNames(this->node()), before);
  EXPECT_FALSE(link(this->node(), "sixrd0"));
  // It failed before touching forwarding or routes: nothing for the node's /64 appeared.
  EXPECT_FALSE(route6(this->node(), kNode64));
}

TEST_F(TunnelWithoutSit, ANonSitDeviceUnderTheTunnelNameIsAConflictAndIsLeftAlone) {
  // No dummy driver on this kernel: a bridge is the stand-in for "some other device".
  must("ip -n " + node() + " link add name sixrd0 type bridge");
  const json before = identity(*link(node(), "sixrd0"));
  const tunnel::Node node = datapath().resolveNode(nodeSpec());
  try {
    datapath().ensureTunnel(nodeSpec(), node);
    FAIL() << "ensureTunnel accepted a bridge as its tunnel";
  } catch (const tunnel::Conflict& e) {
    EXPECT_THAT(e.what(), HasSubstr("tunnel sixrd0 exists but is a bridge device, not sit"));
    EXPECT_THAT(e.what(), HasSubstr("\"tunnel\""));
  }
  const auto after = link(this->node(), "sixrd0");
  ASSERT_TRUE(after);
  EXPECT_EQ(linkKind(*after), "bridge");
  EXPECT_EQ(identity(*after), before);
  EXPECT_TRUE(addresses6(this->node(), "sixrd0").empty());
}

TEST_F(TunnelWithoutSit, VerifyTunnelReportsAMissingTunnel) {
  const tunnel::Node node = datapath().resolveNode(nodeSpec());
  EXPECT_EQ(datapath().verifyTunnel(nodeSpec(), node),
            std::vector<std::string>{"tunnel sixrd0 does not exist"});
}

TEST_F(TunnelWithoutSit, VerifyTunnelReportsANonSitDeviceUnderTheTunnelName) {
  must("ip -n " + node() + " link add name sixrd0 type bridge");
  const tunnel::Node node = datapath().resolveNode(nodeSpec());
  EXPECT_EQ(datapath().verifyTunnel(nodeSpec(), node),
            std::vector<std::string>{"tunnel sixrd0 is not a sit device"});
}

}  // namespace
}  // namespace sixrd::netns_test
