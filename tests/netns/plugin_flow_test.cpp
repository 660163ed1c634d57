// The whole CNI flow of cni::runPlugin on the host kernel: real veths, routes, sysctls and lease
// files. Only the tunnel step is bypassed (this kernel has no sit): the datapath forwards every
// call to the kernel datapath except ensureTunnel (a no-op) and verifyTunnel (healthy).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

#include "../faults/fault.hpp"
#include "cni/plugin.hpp"
#include "ipam/interface_id.hpp"
#include "ipam/lease_store.hpp"
#include "support.hpp"

namespace sixrd::netns_test {
namespace {

using ::testing::HasSubstr;

constexpr char kNetwork[] = "flow";
constexpr char kContainer[] = "c0ffee";

class TunnelBypass final : public tunnel::Datapath {
 public:
  explicit TunnelBypass(tunnel::StepHook afterStep = {})
      : kernel_(tunnel::makeKernelDatapathWithHook(std::move(afterStep))) {}
  tunnel::Node resolveNode(const tunnel::NodeSpec& spec) override {
    return kernel_->resolveNode(spec);
  }
  void ensureTunnel(const tunnel::NodeSpec& /*spec*/, const tunnel::Node& /*node*/) override {}
  std::vector<std::string> verifyTunnel(const tunnel::NodeSpec& /*spec*/,
                                        const tunnel::Node& /*node*/) override {
    return {};
  }
  bool sitAvailable(const tunnel::NodeSpec& spec) override { return kernel_->sitAvailable(spec); }
  tunnel::PodLinks addPod(const tunnel::PodSpec& spec) override { return kernel_->addPod(spec); }
  bool delPod(const std::string& hostVeth) override { return kernel_->delPod(hostVeth); }
  std::vector<std::string> checkPod(const tunnel::PodSpec& spec) override {
    return kernel_->checkPod(spec);
  }
  std::vector<HostVeth> listHostVeths() override { return kernel_->listHostVeths(); }
  std::optional<HostVeth> findHostVeth(const std::string& name) override {
    return kernel_->findHostVeth(name);
  }
  std::optional<std::string> linkAlias(const std::string& name) override {
    return kernel_->linkAlias(name);
  }

 private:
  std::unique_ptr<tunnel::Datapath> kernel_;
};

struct Outcome {
  int status = -1;
  std::string out;
  [[nodiscard]] json doc() const { return json::parse(out); }
};

class PluginFlow : public NodeTest {
 protected:
  [[nodiscard]] json config(const std::string& version = "1.1.0") const {
    return {{"cniVersion", version}, {"name", kNetwork},      {"type", "sixrd"},
            {"prefix", kPrefix},     {"underlay", kUnderlay}, {"dataDir", data_.path().string()},
            {"tcpMTUProbing", true}};
  }

  Outcome invoke(const std::string& verb, const json& stdinJson,
                 std::map<std::string, std::string> overrides = {}) {
    std::map<std::string, std::string> env{{"CNI_COMMAND", verb},
                                           {"CNI_CONTAINERID", kContainer},
                                           {"CNI_NETNS", pod().path()},
                                           {"CNI_IFNAME", "eth0"}};
    for (auto& [k, v] : overrides) env[k] = v;
    std::istringstream in(stdinJson.dump());
    std::ostringstream out;
    cni::PluginOptions options;
    options.makeDatapath = [this] { return std::make_unique<TunnelBypass>(afterStep_); };
    options.checkCapabilities = false;
    const int status = cni::runPlugin(
        [env](const std::string& name) -> std::optional<std::string> {
          const auto it = env.find(name);
          if (it == env.end()) return std::nullopt;
          return it->second;
        },
        in, out, options);
    return {status, out.str()};
  }

  [[nodiscard]] std::string hostVeth() const { return ipam::hostVethName(kContainer, "eth0"); }
  [[nodiscard]] ipam::LeaseStore store() const { return ipam::LeaseStore(data_.path(), kNetwork); }
  // The lease files: one per leased address.
  [[nodiscard]] std::vector<std::string> leaseFiles() const {
    return filesUnder(data_.path() / kNetwork);
  }

  TempDir data_;
  tunnel::StepHook afterStep_;  // the datapath's: tests inject faults through it
};

TEST_F(PluginFlow, AddPlumbsThePodAndReturnsWhatTheKernelHas) {
  const Outcome add = invoke("ADD", config());
  ASSERT_EQ(add.status, 0) << add.out;
  const json result = add.doc();

  const auto lease = store().find({kContainer, "eth0"});
  ASSERT_TRUE(lease) << "ADD left no lease";
  EXPECT_EQ(leaseFiles().size(), 1U);
  const std::string address = ipam::formatIpv6(lease->address);
  EXPECT_TRUE(ipam::contains(ipam::parseIpv6Prefix(kNode64, "node64"), lease->address));

  EXPECT_EQ(result.value("cniVersion", ""), "1.1.0");
  ASSERT_EQ(result["ips"].size(), 1U);
  EXPECT_EQ(result["ips"][0].value("address", ""), address + "/128");
  EXPECT_EQ(result["ips"][0].value("gateway", ""), "fe80::1");
  ASSERT_EQ(result["interfaces"].size(), 2U);
  EXPECT_EQ(result["interfaces"][0].value("name", ""), hostVeth());
  EXPECT_EQ(result["interfaces"][0].value("mac", ""),
            link(node(), hostVeth())->value("address", ""));
  EXPECT_EQ(result["interfaces"][1].value("name", ""), "eth0");
  EXPECT_EQ(result["interfaces"][1].value("mac", ""),
            link(pod().name(), "eth0")->value("address", ""));
  EXPECT_EQ(result["interfaces"][1].value("sandbox", ""), pod().path());
  EXPECT_EQ(result["ips"][0].value("interface", -1), 1);

  // The kernel agrees with the result.
  EXPECT_TRUE(address6(pod().name(), "eth0", address, 128));
  EXPECT_EQ(link(pod().name(), "eth0")->value("mtu", 0), 1480);  // underlay 1500 - 20
  EXPECT_EQ(route6(node(), address)->value("dev", ""), hostVeth());
  EXPECT_EQ(link(node(), hostVeth())->value("ifalias", ""),
            std::string("sixrd/") + kNetwork + "/eth0/" + kContainer);
  EXPECT_EQ(sysctl(pod().name(), "net/ipv4/tcp_mtu_probing"), "1");
  EXPECT_TRUE(ping6(node(), address, "", std::chrono::seconds(3)));
}

TEST_F(PluginFlow, CheckPassesAfterAddAndFailsWithCode104AfterTampering) {
  const Outcome add = invoke("ADD", config());
  ASSERT_EQ(add.status, 0) << add.out;
  json check = config();
  check["prevResult"] = add.doc();
  const Outcome healthy = invoke("CHECK", check);
  EXPECT_EQ(healthy.status, 0) << healthy.out;
  EXPECT_EQ(healthy.out, "");

  must("ip -n " + pod().name() + " link set dev eth0 mtu 1500");
  const Outcome broken = invoke("CHECK", check);
  EXPECT_EQ(broken.status, 1);
  EXPECT_EQ(broken.doc().value("code", 0U), 104U);
  EXPECT_THAT(broken.doc().value("msg", ""),
              HasSubstr("pod interface eth0 mtu is 1500, want at most 1480"));
}

TEST_F(PluginFlow, DelRemovesTheVethAndTheLeaseAndAReAddGetsTheSameAddress) {
  const Outcome first = invoke("ADD", config());
  ASSERT_EQ(first.status, 0) << first.out;
  const Outcome del = invoke("DEL", config());
  EXPECT_EQ(del.status, 0) << del.out;
  EXPECT_EQ(del.out, "");
  EXPECT_FALSE(link(node(), hostVeth()));
  EXPECT_FALSE(link(pod().name(), "eth0"));
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{});

  const Outcome again = invoke("ADD", config());
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_EQ(again.doc()["ips"], first.doc()["ips"]);
}

TEST_F(PluginFlow, FailedAddReleasesTheLeaseItTookAndRemovesTheVeth) {
  const auto nodeBefore = linkNames(node());
  for (const char* point : {"after-veth", "after-pod-side", "after-host-side"}) {
    afterStep_ = test::failAt(point);
    const Outcome add = invoke("ADD", config());
    EXPECT_EQ(add.status, 1) << point;
    EXPECT_EQ(add.doc().value("code", 0U), 100U) << point;
    EXPECT_EQ(add.doc().value("details", ""), "SIXRD_TEST_FAULT") << point;
    EXPECT_EQ(linkNames(node()), nodeBefore) << point;
    EXPECT_EQ(linkNames(pod().name()), std::vector<std::string>{"lo"}) << point;
    EXPECT_EQ(leaseFiles(), std::vector<std::string>{}) << point;
  }
}

TEST_F(PluginFlow, SecondAddOfALiveAttachmentIsCode105AndKeepsTheFirst) {
  const Outcome first = invoke("ADD", config());
  ASSERT_EQ(first.status, 0) << first.out;
  const auto leaseBefore = leaseFiles();
  NamedNetns& other = addPodNamespace();
  const Outcome second = invoke("ADD", config(), {{"CNI_NETNS", other.path()}});
  EXPECT_EQ(second.status, 1);
  EXPECT_EQ(second.doc().value("code", 0U), 105U);
  EXPECT_EQ(leaseFiles(), leaseBefore) << "the failed ADD gave back a lease it did not take";
  EXPECT_TRUE(link(node(), hostVeth()));
  EXPECT_EQ(linkNames(other.name()), std::vector<std::string>{"lo"});
  json check = config();
  check["prevResult"] = first.doc();
  EXPECT_EQ(invoke("CHECK", check).status, 0);
}

// --- host veth names and ownership ---------------------------------------------------------------

// A veth holding this attachment's hashed host veth name that is not its own, with no alias or
// another network's: ADD takes another name and leaves it alone, DEL removes only its own.
TEST_F(PluginFlow, AddBesideAForeignVethWithTheHashedNameTakesAnotherNameAndDelLeavesIt) {
  const std::string taken = hostVeth();
  const std::string mine = std::string("sixrd/") + kNetwork + "/eth0/" + kContainer;
  for (const std::string& foreign :
       {std::string(""), std::string("sixrd/another-net/eth0/") + kContainer}) {
    must("ip -n " + node() + " link add name " + taken + " type veth peer name fx0");
    if (!foreign.empty()) must("ip -n " + node() + " link set dev " + taken + " alias " + foreign);
    const Outcome add = invoke("ADD", config());
    ASSERT_EQ(add.status, 0) << foreign << ": " << add.out;
    const std::string chosen = add.doc()["interfaces"][0].value("name", "");
    EXPECT_EQ(chosen, ipam::hostVethName(kContainer, "eth0", 1)) << foreign;
    ASSERT_TRUE(link(node(), chosen));
    EXPECT_EQ(link(node(), chosen)->value("ifalias", ""), mine);
    ASSERT_TRUE(link(node(), taken)) << "ADD removed the foreign veth";
    EXPECT_EQ(link(node(), taken)->value("ifalias", ""), foreign) << "ADD changed its alias";
    const auto lease = store().find({kContainer, "eth0"});
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->hostVeth, chosen);
    EXPECT_EQ(route6(node(), ipam::formatIpv6(lease->address))->value("dev", ""), chosen);
    json check = config();
    check["prevResult"] = add.doc();
    const Outcome checked = invoke("CHECK", check);
    EXPECT_EQ(checked.status, 0) << checked.out;

    const Outcome del = invoke("DEL", config());
    EXPECT_EQ(del.status, 0) << del.out;
    EXPECT_FALSE(link(node(), chosen)) << "DEL left its own veth";
    EXPECT_FALSE(link(pod().name(), "eth0"));
    EXPECT_TRUE(link(node(), taken)) << "DEL removed the foreign veth";
    EXPECT_TRUE(leaseFiles().empty());
    // A DEL without a lease looks at the hashed name: still not its own.
    EXPECT_EQ(invoke("DEL", config()).status, 0);
    EXPECT_TRUE(link(node(), taken)) << "DEL removed the foreign veth";
    must("ip -n " + node() + " link del " + taken);
  }
}

// --- same-container races
// -------------------------------------------------------------------------

// Runs every verb at once, each in its own process (the way a runtime's retries race), and returns
// each one's outcome: 0, or the CNI error code.
std::vector<int> concurrently(const std::vector<std::function<int()>>& runs) {
  std::vector<pid_t> pids;
  for (const auto& run : runs) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(run());
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (const pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 255);
  }
  return codes;
}

class PluginRace : public PluginFlow {
 protected:
  std::function<int()> verb(const std::string& name) {
    return [this, name] {
      const Outcome o = invoke(name, config());
      return o.status == 0 ? 0 : static_cast<int>(o.doc().value("code", 255U));
    };
  }
  // Lease, host veth (with this attachment's alias), its route and the pod's address and
  // interface: all there and agreeing, or all gone. Returns whether they are there.
  bool expectConsistent(int round) {
    const auto lease = store().find({kContainer, "eth0"});
    const std::string veth = lease ? ipam::hostVethOf(*lease) : hostVeth();
    const bool vethThere = link(node(), veth).has_value();
    const bool podThere = link(pod().name(), "eth0").has_value();
    EXPECT_EQ(lease.has_value(), vethThere) << "round " << round;
    EXPECT_EQ(vethThere, podThere) << "round " << round;
    if (!lease || !vethThere) return false;
    const std::string address = ipam::formatIpv6(lease->address);
    EXPECT_EQ(link(node(), veth)->value("ifalias", ""),
              std::string("sixrd/") + kNetwork + "/eth0/" + kContainer)
        << "round " << round;
    EXPECT_TRUE(address6(pod().name(), "eth0", address, 128)) << "round " << round;
    const auto route = route6(node(), address);
    EXPECT_TRUE(route && route->value("dev", "") == veth) << "round " << round;
    EXPECT_EQ(leaseFiles().size(), 1U) << "round " << round;
    return true;
  }
};

// The loser of two ADDs for one container waits for the winner, finds its pod and fails with 105
// without giving back the winner's lease (it used to, and CHECK then said "no lease").
TEST_F(PluginRace, TwoAddsForOneContainerLeaveTheWinnersPodWhole) {
  for (int round = 0; round < 10; ++round) {
    std::vector<int> codes = concurrently({verb("ADD"), verb("ADD")});
    std::sort(codes.begin(), codes.end());
    EXPECT_EQ(codes, (std::vector<int>{0, 105})) << "round " << round;
    EXPECT_TRUE(expectConsistent(round));
    ASSERT_EQ(invoke("DEL", config()).status, 0);
    EXPECT_FALSE(expectConsistent(round));
  }
}

// ADD racing DEL for one container: whichever runs second sees all of the first one's work.
TEST_F(PluginRace, AddRacingDelEndsWithAllOrNothing) {
  for (int round = 0; round < 10; ++round) {
    const std::vector<int> codes = concurrently({verb("ADD"), verb("DEL")});
    EXPECT_EQ(codes, (std::vector<int>{0, 0})) << "round " << round;
    expectConsistent(round);
    ASSERT_EQ(invoke("DEL", config()).status, 0);
    EXPECT_FALSE(expectConsistent(round));
  }
}

TEST_F(PluginFlow, AddWithANetnsThatIsARegularFileIsCode4AndLeavesNothing) {
  TempDir elsewhere;
  const std::string file = (elsewhere.path() / "not-a-netns").string();
  std::ofstream(file) << "x";
  const auto nodeBefore = linkNames(node());
  const Outcome add = invoke("ADD", config(), {{"CNI_NETNS", file}});
  EXPECT_EQ(add.status, 1);
  EXPECT_EQ(add.doc().value("code", 0U), 4U);
  EXPECT_EQ(add.doc().value("details", ""), "CNI_NETNS");
  EXPECT_EQ(linkNames(node()), nodeBefore);
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{});
}

TEST_F(PluginFlow, AddWithAMissingNetnsIsCode3AndLeavesNothing) {
  const auto nodeBefore = linkNames(node());
  const Outcome add =
      invoke("ADD", config(), {{"CNI_NETNS", "/var/run/netns/" + uniqueName("never")}});
  EXPECT_EQ(add.status, 1);
  EXPECT_EQ(add.doc().value("code", 0U), 3U);
  EXPECT_EQ(linkNames(node()), nodeBefore);
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{});
}

TEST_F(PluginFlow, AddWithTheIfnameTakenInThePodIsCode105AndLeavesNothing) {
  must("ip -n " + pod().name() + " link add name eth0 type veth peer name eth0p");
  const auto nodeBefore = linkNames(node());
  const Outcome add = invoke("ADD", config());
  EXPECT_EQ(add.status, 1);
  EXPECT_EQ(add.doc().value("code", 0U), 105U);
  EXPECT_EQ(linkNames(node()), nodeBefore);
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{});
}

TEST_F(PluginFlow, MtuLargerThanTheUnderlayAllowsIsCode7BeforeAnythingIsMade) {
  json c = config();
  c["mtu"] = 1481;
  const auto nodeBefore = linkNames(node());
  const Outcome add = invoke("ADD", c);
  EXPECT_EQ(add.status, 1);
  EXPECT_EQ(add.doc().value("code", 0U), 7U);
  EXPECT_THAT(add.doc().value("msg", ""), HasSubstr("1480"));
  EXPECT_EQ(linkNames(node()), nodeBefore);
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{});
}

}  // namespace
}  // namespace sixrd::netns_test
