// Pod plumbing on the host kernel: Datapath::addPod / delPod / checkPod / listHostVeths, checked
// through `ip -j` and /proc/sys of the namespaces, and with real ICMPv6 traffic.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "ipam/interface_id.hpp"
#include "support.hpp"

namespace sixrd::netns_test {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kPodAddress[] = "fd00:10:0:b::1234";
constexpr char kContainer[] = "cid";
// Neighbour discovery retries after 1 s (RetransTimer) when its first solicitation is lost to
// kernel work still pending right after the links came up; two rounds fit comfortably.
constexpr auto kPingTimeout = 3s;
const std::vector<std::string> kHealthy;  // checkPod findings of a pod as it should be

class Pod : public NodeTest {
 protected:
  // The pod every test starts from, made by addPod in the fixture's pod namespace.
  tunnel::PodSpec spec() { return podSpec(pod(), kContainer, kPodAddress); }
  tunnel::PodLinks add() { return datapath().addPod(spec()); }
  std::string hostVeth() { return spec().hostVeth; }
};

class PodCheck : public Pod {
 protected:
  void SetUp() override {
    Pod::SetUp();
    add();
    ASSERT_EQ(datapath().checkPod(spec()), kHealthy);
  }
};

// --- Host side -----------------------------------------------------------------------------------

TEST_F(Pod, HostVethIsAVethUpWithTheMtuAndTheOwnerAlias) {
  add();
  const auto host = link(node(), hostVeth());
  ASSERT_TRUE(host) << hostVeth() << " missing in the node namespace";
  EXPECT_EQ(hostVeth(), ipam::hostVethName(kContainer, "eth0"));
  EXPECT_EQ(linkKind(*host), "veth");
  EXPECT_EQ(host->value("mtu", 0), kPodMtu);
  EXPECT_TRUE(isUp(*host));
  EXPECT_EQ(host->value("ifalias", ""), "sixrd/net/eth0/cid");
}

TEST_F(Pod, HostVethCarriesTheLinkLocalGatewayWithoutDad) {
  add();
  const auto gw = address6(node(), hostVeth(), "fe80::1", 64);
  ASSERT_TRUE(gw) << addresses6(node(), hostVeth()).dump();
  EXPECT_EQ(gw->value("scope", ""), "link");
  EXPECT_TRUE(gw->value("nodad", false));
  EXPECT_FALSE(gw->value("tentative", false));
}

TEST_F(Pod, HostRouteSendsThePodAddressToTheHostVeth) {
  add();
  const auto route = route6(node(), kPodAddress);
  ASSERT_TRUE(route) << routes6(node()).dump();
  EXPECT_EQ(route->value("dev", ""), hostVeth());
  EXPECT_FALSE(route->contains("gateway"));
  EXPECT_EQ(sysctl(node(), "net/ipv6/conf/" + hostVeth() + "/accept_dad"), "0");
  EXPECT_EQ(sysctl(node(), "net/ipv6/conf/" + hostVeth() + "/accept_ra"), "0");
}

// --- Pod side ------------------------------------------------------------------------------------

TEST_F(Pod, PodInterfaceIsUpWithTheMtuUnderCniIfname) {
  add();
  const auto eth0 = link(pod().name(), "eth0");
  ASSERT_TRUE(eth0) << "eth0 missing in the pod namespace";
  EXPECT_EQ(linkKind(*eth0), "veth");
  EXPECT_EQ(eth0->value("mtu", 0), kPodMtu);
  EXPECT_TRUE(isUp(*eth0));
  // The peer was born in the pod namespace: nothing but lo and eth0 there, no eth0 on the node.
  EXPECT_EQ(linkNames(pod().name()), (std::vector<std::string>{"eth0", "lo"}));
  EXPECT_FALSE(link(node(), "eth0"));
}

TEST_F(Pod, PodAddressIsASlash128WithDadDisabled) {
  add();
  const auto address = address6(pod().name(), "eth0", kPodAddress, 128);
  ASSERT_TRUE(address) << addresses6(pod().name(), "eth0").dump();
  EXPECT_EQ(address->value("scope", ""), "global");
  EXPECT_TRUE(address->value("nodad", false));
  EXPECT_FALSE(address->value("tentative", false));
}

TEST_F(Pod, PodDefaultRouteGoesViaTheLinkLocalGateway) {
  add();
  const auto route = route6(pod().name(), "default");
  ASSERT_TRUE(route) << routes6(pod().name()).dump();
  EXPECT_EQ(route->value("gateway", ""), "fe80::1");
  EXPECT_EQ(route->value("dev", ""), "eth0");
}

TEST_F(Pod, PodSysctlsDisableDadAndRouterAdvertisements) {
  add();
  EXPECT_EQ(sysctl(pod().name(), "net/ipv6/conf/eth0/accept_dad"), "0");
  EXPECT_EQ(sysctl(pod().name(), "net/ipv6/conf/eth0/accept_ra"), "0");
}

TEST_F(Pod, PodLoopbackIsUp) {
  ASSERT_FALSE(isUp(*link(pod().name(), "lo")));  // a fresh namespace starts with lo down
  add();
  EXPECT_TRUE(isUp(*link(pod().name(), "lo")));
}

TEST_F(Pod, TcpMtuProbingIsSetInThePodNamespaceOnly) {
  ASSERT_EQ(sysctl(node(), "net/ipv4/tcp_mtu_probing"), "0");
  tunnel::PodSpec s = spec();
  s.tcpMtuProbing = true;
  datapath().addPod(s);
  EXPECT_EQ(sysctl(pod().name(), "net/ipv4/tcp_mtu_probing"), "1");
  EXPECT_EQ(sysctl(node(), "net/ipv4/tcp_mtu_probing"), "0");
}

TEST_F(Pod, TcpMtuProbingStaysOffWhenNotAsked) {
  add();
  EXPECT_EQ(sysctl(pod().name(), "net/ipv4/tcp_mtu_probing"), "0");
}

TEST_F(Pod, ReturnedMacsAreTheKernelsOnBothEnds) {
  const tunnel::PodLinks links = add();
  EXPECT_EQ(links.hostMac, link(node(), hostVeth())->value("address", ""));
  EXPECT_EQ(links.podMac, link(pod().name(), "eth0")->value("address", ""));
  EXPECT_NE(links.hostMac, links.podMac);
}

// --- Traffic -------------------------------------------------------------------------------------

TEST_F(Pod, PodReachesItsLinkLocalGateway) {
  add();
  const auto rtt = ping6(pod().name(), "fe80::1", "eth0", kPingTimeout);
  EXPECT_TRUE(rtt) << "no echo reply from fe80::1%eth0";
}

TEST_F(Pod, NodeReachesThePodThroughTheHostRoute) {
  add();
  const auto rtt = ping6(node(), kPodAddress, "", kPingTimeout);
  EXPECT_TRUE(rtt) << "no echo reply from " << kPodAddress;
}

TEST_F(Pod, TwoPodsOnOneNodeReachEachOther) {
  add();
  NamedNetns& second = addPodNamespace();
  datapath().addPod(podSpec(second, "cid2", "fd00:10:0:b::5678"));
  const auto there = ping6(pod().name(), "fd00:10:0:b::5678", "", kPingTimeout);
  EXPECT_TRUE(there) << "first pod cannot reach the second";
  const auto back = ping6(second.name(), kPodAddress, "", kPingTimeout);
  EXPECT_TRUE(back) << "second pod cannot reach the first";
}

TEST_F(Pod, SecondAttachmentInOnePodLeavesTheFirstsDefaultRouteAlone) {
  EXPECT_TRUE(add().defaultRoute);
  const tunnel::PodSpec net1 = podSpec(pod(), kContainer, "fd00:10:0:b::5678", "net1");
  const tunnel::PodLinks second = datapath().addPod(net1);
  EXPECT_FALSE(second.defaultRoute) << "the pod already had a default route via eth0";
  EXPECT_EQ(datapath().checkPod(spec()), kHealthy) << "eth0 keeps the default route";
  tunnel::PodSpec net1Check = net1;
  net1Check.defaultRoute = false;
  EXPECT_EQ(datapath().checkPod(net1Check), kHealthy);
  EXPECT_TRUE(address6(pod().name(), "net1", "fd00:10:0:b::5678", 128));
  EXPECT_TRUE(ping6(node(), "fd00:10:0:b::5678", "", kPingTimeout)) << "net1's address answers";
  EXPECT_TRUE(datapath().delPod(net1.hostVeth));
  EXPECT_EQ(datapath().checkPod(spec()), kHealthy) << "removing net1 left eth0 whole";
}

// --- Refusals ------------------------------------------------------------------------------------

TEST_F(Pod, IfnameTakenInThePodIsAConflictAndCreatesNothingOnTheNode) {
  must("ip -n " + pod().name() + " link add name eth0 mtu 1400 type veth peer name eth0p");
  const auto nodeBefore = linkNames(node());
  const json eth0Before = identity(*link(pod().name(), "eth0"));
  try {
    add();
    FAIL() << "addPod reused an interface name that was taken";
  } catch (const tunnel::Conflict& e) {
    EXPECT_THAT(e.what(), HasSubstr("interface eth0 already exists in netns " + pod().path()));
  }
  EXPECT_EQ(linkNames(node()), nodeBefore);
  EXPECT_FALSE(route6(node(), kPodAddress));
  EXPECT_EQ(identity(*link(pod().name(), "eth0")), eth0Before);
  EXPECT_FALSE(address6(pod().name(), "eth0", kPodAddress, 128));
}

TEST_F(Pod, SecondAddForTheSameHostVethIsAConflictAndLeavesTheFirstPodAlone) {
  add();
  const json hostBefore = identity(*link(node(), hostVeth()));
  NamedNetns& second = addPodNamespace();
  tunnel::PodSpec again = podSpec(second, kContainer, "fd00:10:0:b::9999");
  try {
    datapath().addPod(again);
    FAIL() << "addPod made a second pod under a host veth name in use";
  } catch (const tunnel::Conflict& e) {
    EXPECT_THAT(e.what(), HasSubstr("host veth " + hostVeth() + " already exists"));
  }
  EXPECT_EQ(identity(*link(node(), hostVeth())), hostBefore);
  EXPECT_EQ(datapath().checkPod(spec()), kHealthy);
  EXPECT_EQ(linkNames(second.name()), std::vector<std::string>{"lo"});
  EXPECT_FALSE(route6(node(), "fd00:10:0:b::9999"));
  EXPECT_TRUE(ping6(node(), kPodAddress, "", kPingTimeout))
      << "the first pod lost its connectivity";
}

TEST_F(Pod, NetnsThatIsARegularFileIsANetnsErrorNotMissing) {
  TempDir dir;
  const std::string file = (dir.path() / "not-a-netns").string();
  std::ofstream(file) << "hello\n";
  const auto before = linkNames(node());
  tunnel::PodSpec s = spec();
  s.netns = file;
  try {
    datapath().addPod(s);
    FAIL() << "addPod accepted a regular file as a network namespace";
  } catch (const tunnel::NetnsError& e) {
    EXPECT_FALSE(e.missing());
    EXPECT_THAT(e.what(), HasSubstr("not a network namespace"));
  }
  EXPECT_EQ(linkNames(node()), before);
}

TEST_F(Pod, NetnsThatDoesNotExistIsAMissingNetnsError) {
  const auto before = linkNames(node());
  tunnel::PodSpec s = spec();
  s.netns = "/var/run/netns/" + uniqueName("never");
  try {
    datapath().addPod(s);
    FAIL() << "addPod accepted a namespace path that does not exist";
  } catch (const tunnel::NetnsError& e) {
    EXPECT_TRUE(e.missing());
  }
  EXPECT_EQ(linkNames(node()), before);
}

// --- checkPod ------------------------------------------------------------------------------------

TEST_F(PodCheck, HealthyPodHasNoFindings) { EXPECT_EQ(datapath().checkPod(spec()), kHealthy); }

TEST_F(PodCheck, MissingPodAddressIsReported) {
  must("ip -n " + pod().name() + " addr del " + kPodAddress + "/128 dev eth0");
  EXPECT_EQ(datapath().checkPod(spec()),
            std::vector<std::string>{"pod interface eth0 lacks address fd00:10:0:b::1234/128"});
}

TEST_F(PodCheck, PodMtuChangeIsReported) {
  must("ip -n " + pod().name() + " link set dev eth0 mtu 1500");
  EXPECT_EQ(datapath().checkPod(spec()),
            std::vector<std::string>{"pod interface eth0 mtu is 1500, want at most 1480"});
}

TEST_F(PodCheck, HostMtuChangeIsReported) {
  must("ip -n " + node() + " link set dev " + hostVeth() + " mtu 1400");
  EXPECT_EQ(datapath().checkPod(spec()),
            std::vector<std::string>{"host veth " + hostVeth() + " mtu is 1400, want 1480"});
}

TEST_F(PodCheck, MissingDefaultRouteIsReported) {
  must("ip -n " + pod().name() + " -6 route del default");
  EXPECT_EQ(datapath().checkPod(spec()),
            std::vector<std::string>{"pod default route via fe80::1 dev eth0 is missing"});
}

TEST_F(PodCheck, MissingHostRouteIsReported) {
  must("ip -n " + node() + " -6 route del " + kPodAddress + "/128 dev " + hostVeth());
  EXPECT_EQ(datapath().checkPod(spec()),
            std::vector<std::string>{"host route fd00:10:0:b::1234/128 dev " + hostVeth() +
                                     " is missing"});
}

TEST_F(PodCheck, MissingGatewayAddressIsReported) {
  must("ip -n " + node() + " addr del fe80::1/64 dev " + hostVeth());
  EXPECT_EQ(
      datapath().checkPod(spec()),
      std::vector<std::string>{"host veth " + hostVeth() + " lacks gateway address fe80::1/64"});
}

TEST_F(PodCheck, HostVethDownIsReported) {
  must("ip -n " + node() + " link set dev " + hostVeth() + " down");
  // Taking the link down also flushes its routes and addresses; "down" is the finding that names
  // the cause.
  EXPECT_THAT(datapath().checkPod(spec()), Contains("host veth " + hostVeth() + " is down"));
}

TEST_F(PodCheck, PodInterfaceDownIsReported) {
  must("ip -n " + pod().name() + " link set dev eth0 down");
  EXPECT_THAT(datapath().checkPod(spec()), Contains("pod interface eth0 is down"));
}

TEST_F(PodCheck, MissingHostVethIsReported) {
  must("ip -n " + node() + " link del dev " + hostVeth());
  EXPECT_EQ(datapath().checkPod(spec()),
            std::vector<std::string>{"host veth " + hostVeth() + " does not exist"});
}

// --- delPod --------------------------------------------------------------------------------------

TEST_F(Pod, DelPodRemovesBothEndsAndTheHostRoute) {
  add();
  EXPECT_TRUE(datapath().delPod(hostVeth()));
  EXPECT_FALSE(link(node(), hostVeth()));
  EXPECT_FALSE(link(pod().name(), "eth0"));
  EXPECT_FALSE(route6(node(), kPodAddress));
}

TEST_F(Pod, DelPodIsIdempotent) {
  add();
  EXPECT_TRUE(datapath().delPod(hostVeth()));
  EXPECT_FALSE(datapath().delPod(hostVeth()));
  EXPECT_FALSE(datapath().delPod(ipam::hostVethName("never-added", "eth0")));
}

TEST_F(Pod, DelPodWorksAfterThePodNamespaceIsGone) {
  add();
  pod().remove();
  EXPECT_NO_THROW(datapath().delPod(hostVeth()));
  EXPECT_FALSE(link(node(), hostVeth()));
  EXPECT_FALSE(datapath().delPod(hostVeth()));
}

TEST_F(Pod, DelPodRefusesToDeleteSomethingThatIsNotAVeth) {
  const std::string name = ipam::hostVethName("someone", "eth0");
  must("ip -n " + node() + " link add name " + name + " type bridge");
  EXPECT_THROW(datapath().delPod(name), tunnel::Conflict);
  EXPECT_TRUE(link(node(), name));
}

TEST_F(Pod, AddAfterDelWorksAgain) {
  add();
  ASSERT_TRUE(datapath().delPod(hostVeth()));
  add();
  EXPECT_EQ(datapath().checkPod(spec()), kHealthy);
  EXPECT_TRUE(ping6(node(), kPodAddress, "", kPingTimeout));
}

// --- listHostVeths -------------------------------------------------------------------------------

TEST_F(Pod, ListHostVethsListsSixrdVethsOnly) {
  add();
  const std::string ip = "ip -n " + node();
  must(ip + " link add name sx0123456789ab type veth peer name x1");  // sixrd-named veth
  must(ip + " link set dev sx0123456789ab alias sixrd/other/eth0/zzz");
  must(ip + " link add name vethfoo type veth peer name x2");          // other name
  must(ip + " link add name sx0123456789ac type bridge");              // sixrd name, not a veth
  must(ip + " link add name sxABCDEF012345 type veth peer name x3");   // not lowercase hex
  must(ip + " link add name sx0123456789abc type veth peer name x4");  // 13 hex digits
  auto listed = datapath().listHostVeths();
  std::sort(listed.begin(), listed.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& v : listed) got.emplace_back(v.name, v.alias);
  std::vector<std::pair<std::string, std::string>> want{{hostVeth(), "sixrd/net/eth0/cid"},
                                                        {"sx0123456789ab", "sixrd/other/eth0/zzz"}};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

TEST_F(Pod, ListHostVethsIsEmptyOnAFreshNode) { EXPECT_TRUE(datapath().listHostVeths().empty()); }

}  // namespace
}  // namespace sixrd::netns_test
