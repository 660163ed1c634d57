// The CNI verbs end to end (env + stdin -> stdout + exit status), against an in-memory datapath:
// what the runtime sees, what the lease store holds on disk, and what the kernel was asked to do.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cni/error.hpp"
#include "cni/plugin.hpp"
#include "cni/request.hpp"
#include "cni/version.hpp"
#include "fake_datapath.hpp"
#include "ipam/interface_id.hpp"
#include "ipam/lease_store.hpp"
#include "ipam/sixrd_math.hpp"
#include "test_files.hpp"
#include "tunnel/datapath.hpp"

namespace sixrd::cni {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Vars = std::map<std::string, std::string>;

constexpr char kNetwork[] = "sixrd-test";
constexpr char kContainer[] = "c0ffee0123456789";
constexpr char kOtherContainer[] = "beef0123456789ab";
constexpr char kNetns[] = "/var/run/netns/pod-1";
// prefix fd00:10::/48, underlay 198.18.0.0/16, node 198.18.3.7 (the fake's default): host bits
// 0x0307, so the node's /64 is the prefix followed by 0307.
constexpr char kNode64[] = "fd00:10:0:307::/64";

bool before(std::string_view version, std::string_view than) {
  return compareVersions(version, than) < 0;
}

Environment envOf(Vars vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The whole of stdout must be one JSON value followed only by whitespace (json::parse is strict:
// a second document or any other trailing byte fails it).
json onlyDocument(const std::string& out) {
  try {
    return json::parse(out);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "stdout is not exactly one JSON document (" << e.what() << "):\n" << out;
    return nullptr;
  }
}

struct Outcome {
  int status = -1;
  std::string out;
  json doc;  // stdout parsed; null when stdout is empty
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "exit " << o.status << ", stdout: " << o.out;
}

// An error as the spec defines it: exit 1 and one document of cniVersion, code, msg (details).
void expectError(const Outcome& o, Code code, const std::vector<std::string>& fragments = {}) {
  EXPECT_EQ(o.status, 1) << o;
  ASSERT_TRUE(o.doc.is_object()) << o;
  for (const auto& [key, value] : o.doc.items()) {
    EXPECT_TRUE(key == "cniVersion" || key == "code" || key == "msg" || key == "details")
        << "unexpected member " << key << " in " << o;
  }
  ASSERT_TRUE(o.doc.contains("cniVersion") && o.doc["cniVersion"].is_string()) << o;
  EXPECT_TRUE(isSupported(o.doc["cniVersion"].get<std::string>())) << o;
  ASSERT_TRUE(o.doc.contains("code") && o.doc["code"].is_number_unsigned()) << o;
  EXPECT_EQ(o.doc["code"].get<unsigned>(), static_cast<unsigned>(code)) << o;
  ASSERT_TRUE(o.doc.contains("msg") && o.doc["msg"].is_string()) << o;
  const auto msg = o.doc["msg"].get<std::string>();
  EXPECT_FALSE(msg.empty()) << o;
  for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << f << " in " << o;
}

void expectSilentSuccess(const Outcome& o) {
  EXPECT_EQ(o.status, 0) << o;
  EXPECT_EQ(o.out, "") << o;
}

std::string hex16(std::uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::uint64_t interfaceIdOf(const ipam::Ipv6Addr& addr) {
  std::uint64_t iid = 0;
  for (int i = 8; i < 16; ++i) iid = (iid << 8) | addr[static_cast<std::size_t>(i)];
  return iid;
}

using test::readFile;

// "fd00:10:0:307::abcd/128" -> the address; fails the test when the length is not /128.
ipam::Ipv6Addr podAddress(const json& result) {
  const auto cidr = result.at("ips").at(0).at("address").get<std::string>();
  const auto slash = cidr.find('/');
  EXPECT_EQ(cidr.substr(slash == std::string::npos ? cidr.size() : slash), "/128") << cidr;
  return ipam::parseIpv6(cidr.substr(0, slash), "ips[0].address");
}

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::makeTempDir("plugin-test");
    dataDir_ = root_ / "data";
  }
  void TearDown() override { fs::remove_all(root_); }

  // The plugin's stanza of a conflist, as the runtime passes it on stdin.
  [[nodiscard]] json config(std::string_view version = kLatestVersion,
                            const json& extra = json::object()) const {
    json c = {{"cniVersion", version},
              {"name", kNetwork},
              {"type", "sixrd"},
              {"prefix", "fd00:10::/48"},
              {"underlay", "198.18.0.0/16"},
              {"dataDir", dataDir_.string()}};
    c.update(extra);
    return c;
  }

  static Vars containerEnv(const std::string& verb, const std::string& containerId = kContainer,
                           const std::string& ifname = "eth0") {
    return {{"CNI_COMMAND", verb},
            {"CNI_CONTAINERID", containerId},
            {"CNI_NETNS", kNetns},
            {"CNI_IFNAME", ifname},
            {"CNI_PATH", "/opt/cni/bin"},
            {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web"}};
  }
  static Vars nodeEnv(const std::string& verb) {
    return {{"CNI_COMMAND", verb}, {"CNI_PATH", "/opt/cni/bin"}};
  }

  Outcome run(const Vars& vars, const std::string& stdinBytes) {
    std::istringstream in(stdinBytes);
    std::ostringstream out;
    PluginOptions options;
    options.checkCapabilities = false;
    options.makeDatapath = [this]() -> std::unique_ptr<tunnel::Datapath> {
      ++datapathsMade_;
      return std::make_unique<fake::ForwardingDatapath>(fake_);
    };
    Outcome o;
    o.status = runPlugin(envOf(vars), in, out, options);
    o.out = out.str();
    if (!o.out.empty()) o.doc = onlyDocument(o.out);
    return o;
  }
  Outcome run(const Vars& vars, const json& stdinJson) { return run(vars, stdinJson.dump()); }

  Outcome add(const std::string& containerId = kContainer, const std::string& ifname = "eth0",
              std::string_view version = kLatestVersion) {
    return run(containerEnv("ADD", containerId, ifname), config(version));
  }
  Outcome del(const std::string& containerId = kContainer, const std::string& ifname = "eth0") {
    return run(containerEnv("DEL", containerId, ifname), config());
  }
  Outcome check(const json& prevResult, std::string_view version = kLatestVersion) {
    return run(containerEnv("CHECK"), config(version, {{"prevResult", prevResult}}));
  }
  Outcome gc(const json& validAttachments, std::string_view version = kLatestVersion) {
    return run(nodeEnv("GC"), config(version, {{"cni.dev/valid-attachments", validAttachments}}));
  }

  // Lease files of kNetwork (16-hex names; temp files excluded), sorted.
  [[nodiscard]] std::vector<std::string> leaseFiles(const std::string& network = kNetwork) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dataDir_ / network, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() == 16 && name.find_first_not_of("0123456789abcdef") == std::string::npos) {
        names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  [[nodiscard]] fs::path leaseFileOf(const ipam::Ipv6Addr& address,
                                     const std::string& network = kNetwork) const {
    return dataDir_ / network / hex16(interfaceIdOf(address));
  }

  [[nodiscard]] std::set<std::string> vethNames() const {
    std::set<std::string> names;
    for (const auto& [name, pod] : fake_.pods) names.insert(name);
    return names;
  }

  fs::path root_;
  fs::path dataDir_;
  fake::FakeDatapath fake_;
  int datapathsMade_ = 0;
};

class PluginPerSpec : public PluginTest, public ::testing::WithParamInterface<std::string_view> {};
INSTANTIATE_TEST_SUITE_P(Cni, PluginPerSpec, ::testing::ValuesIn(kSupportedVersions));

// --- ADD -----------------------------------------------------------------------------------------

TEST_P(PluginPerSpec, AddPrintsOneResultInTheConfigVersion) {
  Outcome o = add(kContainer, "eth0", GetParam());
  ASSERT_EQ(o.status, 0) << o;
  json r = o.doc;
  ASSERT_TRUE(r.is_object()) << o;
  EXPECT_EQ(r["cniVersion"], GetParam());

  ASSERT_EQ(r["interfaces"].size(), 2U) << o;
  json host = r["interfaces"][0];
  EXPECT_EQ(host["name"], ipam::hostVethName(kContainer, "eth0"));
  EXPECT_EQ(host["mac"], fake_.pods.at(host["name"].get<std::string>()).links.hostMac);
  EXPECT_FALSE(host.contains("sandbox")) << o;
  EXPECT_FALSE(host.contains("mtu")) << o;
  json pod = r["interfaces"][1];
  EXPECT_EQ(pod["name"], "eth0");
  EXPECT_EQ(pod["sandbox"], kNetns);
  EXPECT_EQ(pod["mac"], fake_.pods.at(host["name"].get<std::string>()).links.podMac);
  if (before(GetParam(), "1.1.0")) {
    EXPECT_FALSE(pod.contains("mtu")) << "interfaces[].mtu exists from 1.1.0: " << o;
  } else {
    EXPECT_EQ(pod["mtu"], 1480);
  }

  ASSERT_EQ(r["ips"].size(), 1U) << o;
  json ip = r["ips"][0];
  EXPECT_TRUE(ipam::contains(ipam::parseIpv6Prefix(kNode64, "node64"), podAddress(r))) << o;
  EXPECT_EQ(ip["gateway"], "fe80::1");
  EXPECT_EQ(ip["interface"], 1);
  if (before(GetParam(), "1.0.0")) {
    EXPECT_EQ(ip["version"], "6");
  } else {
    EXPECT_FALSE(ip.contains("version")) << "ips[].version was dropped in 1.0.0: " << o;
  }

  EXPECT_EQ(r["routes"], json::parse(R"([{"dst": "::/0", "gw": "fe80::1"}])"));
  EXPECT_FALSE(r.contains("dns")) << "no dns configured, none returned: " << o;
}

TEST_P(PluginPerSpec, AddPassesDnsThrough) {
  const json dns = {{"nameservers", {"fd00:10::53"}},
                    {"domain", "cluster.local"},
                    {"search", {"default.svc.cluster.local", "svc.cluster.local"}},
                    {"options", {"ndots:5"}}};
  Outcome o = run(containerEnv("ADD"), config(GetParam(), {{"dns", dns}}));
  ASSERT_EQ(o.status, 0) << o;
  EXPECT_EQ(o.doc["dns"], dns);
}

TEST_P(PluginPerSpec, AddRecordsTheLeaseOnDisk) {
  Outcome o = add(kContainer, "eth0", GetParam());
  ASSERT_EQ(o.status, 0) << o;
  const ipam::Ipv6Addr address = podAddress(o.doc);
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{hex16(interfaceIdOf(address))});
  EXPECT_EQ(readFile(leaseFileOf(address)), std::string(kContainer) + "\neth0\n" +
                                                ipam::formatIpv6(address) + "\n" +
                                                ipam::hostVethName(kContainer, "eth0") + "\n");
}

TEST_P(PluginPerSpec, AddBringsUpTheTunnelThenThePod) {
  Outcome o = add(kContainer, "eth0", GetParam());
  ASSERT_EQ(o.status, 0) << o;
  const std::string veth = ipam::hostVethName(kContainer, "eth0");
  EXPECT_EQ(fake_.calls, (std::vector<std::string>{"resolveNode", "ensureTunnel",
                                                   "linkAlias " + veth, "addPod " + veth}));
  ASSERT_EQ(fake_.ensured.size(), 1U);
  EXPECT_EQ(fake_.ensured[0].tunnelMtu(), 1480);
  EXPECT_EQ(ipam::formatPrefix(fake_.ensured[0].prefix.node64), kNode64);

  ASSERT_EQ(fake_.added.size(), 1U);
  const tunnel::PodSpec& pod = fake_.added[0];
  EXPECT_EQ(pod.netns, kNetns);
  EXPECT_EQ(pod.ifname, "eth0");
  EXPECT_EQ(pod.hostVeth, veth);
  EXPECT_EQ(pod.alias, std::string("sixrd/") + kNetwork + "/eth0/" + kContainer);
  EXPECT_EQ(pod.address, podAddress(o.doc));
  EXPECT_EQ(pod.mtu, 1480);
  EXPECT_FALSE(pod.tcpMtuProbing);
}

TEST_P(PluginPerSpec, MtuLargerThanTheTunnelAllowsIsRefusedBeforeAnythingIsMade) {
  Outcome o = run(containerEnv("ADD"), config(GetParam(), {{"mtu", 1481}}));
  expectError(o, Code::kInvalidConfig, {"1481", "1500"});
  EXPECT_EQ(o.doc["cniVersion"], GetParam());
  EXPECT_EQ(fake_.count("ensureTunnel"), 0U);
  EXPECT_EQ(fake_.count("addPod"), 0U);
  EXPECT_TRUE(leaseFiles().empty());
}

// --- ADD with a prevResult (a plugin before sixrd in the chain) -------------------------------

// What a plugin before sixrd printed, in `version` (0.3.x/0.4.0 results may omit ips[].version;
// net0 carries members sixrd does not model).
json earlierResult(std::string_view version) {
  return {{"cniVersion", version},
          {"interfaces",
           {{{"name", "lo"}, {"mac", "00:00:00:00:00:00"}, {"sandbox", kNetns}},
            {{"name", "net0"}, {"sandbox", kNetns}, {"socketPath", "/run/vhost.sock"}}}},
          {"ips",
           {{{"address", "127.0.0.1/8"}, {"interface", 0}},
            {{"address", "10.1.0.5/24"}, {"gateway", "10.1.0.1"}, {"interface", 1}}}},
          {"routes", {{{"dst", "0.0.0.0/0"}, {"gw", "10.1.0.1"}, {"priority", 7}}}},
          {"dns", {{"nameservers", {"10.96.0.10"}}, {"search", {"svc.cluster.local"}}}}};
}

TEST_P(PluginPerSpec, AddMergesIntoThePrevResult) {
  const std::string_view v = GetParam();
  const json dns = {{"nameservers", {"10.96.0.10", "fd00:10:96::a"}},
                    {"search", {"cluster.local"}},
                    {"domain", "example.org"}};
  Outcome o = run(containerEnv("ADD"), config(v, {{"prevResult", earlierResult(v)}, {"dns", dns}}));
  ASSERT_EQ(o.status, 0) << o;
  const json& r = o.doc;
  EXPECT_EQ(r["cniVersion"], v);

  // The earlier interfaces first and as they were; sixrd's host veth and pod interface after.
  ASSERT_EQ(r["interfaces"].size(), 4U) << o;
  EXPECT_EQ(r["interfaces"][0], earlierResult(v)["interfaces"][0]);
  EXPECT_EQ(r["interfaces"][1], earlierResult(v)["interfaces"][1]) << "socketPath kept";
  EXPECT_EQ(r["interfaces"][2]["name"], ipam::hostVethName(kContainer, "eth0"));
  EXPECT_EQ(r["interfaces"][3]["name"], "eth0");
  EXPECT_EQ(r["interfaces"][3]["sandbox"], kNetns);

  // The earlier ips keep their indices; sixrd's points at its pod interface, shifted by two.
  ASSERT_EQ(r["ips"].size(), 3U) << o;
  EXPECT_EQ(r["ips"][0]["address"], "127.0.0.1/8");
  EXPECT_EQ(r["ips"][0]["interface"], 0);
  EXPECT_EQ(r["ips"][1]["address"], "10.1.0.5/24");
  EXPECT_EQ(r["ips"][1]["gateway"], "10.1.0.1");
  EXPECT_EQ(r["ips"][1]["interface"], 1);
  const json& mine = r["ips"][2];
  EXPECT_EQ(mine["interface"], 3);
  EXPECT_EQ(r["interfaces"][mine["interface"].get<int>()]["name"], "eth0");
  EXPECT_EQ(mine["gateway"], "fe80::1");
  const std::string address = mine["address"].get<std::string>();
  EXPECT_TRUE(address.starts_with("fd00:10:0:307:") && address.ends_with("/128")) << o;
  for (const json& ip : r["ips"]) {
    if (before(v, "1.0.0")) {
      const bool v6 = ip["address"].get<std::string>().find(':') != std::string::npos;
      EXPECT_EQ(ip["version"], v6 ? "6" : "4") << "ips[].version is required before 1.0.0: " << o;
    } else {
      EXPECT_FALSE(ip.contains("version")) << "ips[].version was dropped in 1.0.0: " << o;
    }
  }

  ASSERT_EQ(r["routes"].size(), 2U) << o;
  EXPECT_EQ(r["routes"][0], earlierResult(v)["routes"][0]) << "the route's priority kept";
  EXPECT_EQ(r["routes"][1], json({{"dst", "::/0"}, {"gw", "fe80::1"}}));

  // dns: the earlier lists first, sixrd's entries they lack appended; a member only sixrd has.
  EXPECT_EQ(r["dns"]["nameservers"], json({"10.96.0.10", "fd00:10:96::a"})) << o;
  EXPECT_EQ(r["dns"]["search"], json({"svc.cluster.local", "cluster.local"})) << o;
  EXPECT_EQ(r["dns"]["domain"], "example.org") << o;

  // The merged result is what the runtime hands to CHECK (and the next plugin): CHECK accepts it.
  if (!before(v, "0.4.0")) expectSilentSuccess(check(r, v));
}

TEST_P(PluginPerSpec, AddKeepsAnEarlierDefaultRouteAndAddsNoDuplicate) {
  const std::string_view v = GetParam();
  json prev = earlierResult(v);
  prev["routes"] = {{{"dst", "::/0"}, {"gw", "fe80::1"}}};
  Outcome o = run(containerEnv("ADD"), config(v, {{"prevResult", prev}}));
  ASSERT_EQ(o.status, 0) << o;
  EXPECT_EQ(o.doc["routes"], prev["routes"]) << o;
  EXPECT_EQ(o.doc["dns"], prev["dns"]) << "no dns in the config: the earlier one as it was";
}

TEST_P(PluginPerSpec, AddWithAnEmptyPrevResultGivesSixrdsOwnResult) {
  const std::string_view v = GetParam();
  Outcome chained = run(containerEnv("ADD"), config(v, {{"prevResult", {{"cniVersion", v}}}}));
  ASSERT_EQ(chained.status, 0) << chained;
  fake_ = fake::FakeDatapath();
  fs::remove_all(dataDir_);
  Outcome alone = add(kContainer, "eth0", v);
  ASSERT_EQ(alone.status, 0) << alone;
  EXPECT_EQ(chained.doc, alone.doc);
}

// A prevResult sixrd cannot merge into is refused before anything is made.
TEST_P(PluginPerSpec, AddRefusesAPrevResultItCannotMergeInto) {
  const std::string_view v = GetParam();
  const std::string other = v == "1.0.0" ? "0.4.0" : "1.0.0";
  struct Case {
    json prev;
    Code code;
    std::vector<std::string> fragments;
  };
  json badIp = earlierResult(v);
  badIp["ips"][1].erase("address");
  json badIndex = earlierResult(v);
  badIndex["ips"][0]["interface"] = 2;
  const std::vector<Case> cases = {
      {json::array(), Code::kDecodeFailure, {"prevResult must be an object"}},
      {badIp, Code::kDecodeFailure, {"prevResult.ips[1].address is missing"}},
      {badIndex, Code::kDecodeFailure, {"prevResult.ips[0].interface 2 is not an index"}},
      {{{"cniVersion", "0.2.0"}, {"ip4", {{"ip", "10.0.0.1/24"}}}},
       Code::kIncompatibleVersion,
       {"prevResult.cniVersion \"0.2.0\" is not supported"}},
      {earlierResult(other),
       Code::kIncompatibleVersion,
       {"prevResult.cniVersion \"" + other + "\"", "network's cniVersion \"" + std::string(v)}},
  };
  for (const Case& c : cases) {
    Outcome o = run(containerEnv("ADD"), config(v, {{"prevResult", c.prev}}));
    expectError(o, c.code, c.fragments);
    EXPECT_EQ(o.doc["cniVersion"], v);
    EXPECT_TRUE(fake_.calls.empty()) << "refused before touching the kernel: " << c.prev;
    EXPECT_TRUE(leaseFiles().empty()) << c.prev;
  }
}

// --- verbs that exist only from some version ----------------------------------------------------

TEST_P(PluginPerSpec, CheckExistsFrom040) {
  Outcome added = add(kContainer, "eth0", GetParam());
  ASSERT_EQ(added.status, 0) << added;
  fake_.calls.clear();
  Outcome o = check(added.doc, GetParam());
  if (before(GetParam(), "0.4.0")) {
    expectError(o, Code::kIncompatibleVersion, {"CHECK", "0.4.0", std::string(GetParam())});
    EXPECT_EQ(o.doc["cniVersion"], GetParam());
    EXPECT_TRUE(fake_.calls.empty()) << "refused before touching the kernel";
  } else {
    expectSilentSuccess(o);
  }
}

TEST_P(PluginPerSpec, GcExistsFrom110) {
  ASSERT_EQ(add().status, 0);
  Outcome o = gc(json::array(), GetParam());
  if (before(GetParam(), "1.1.0")) {
    expectError(o, Code::kIncompatibleVersion, {"GC", "1.1.0"});
    EXPECT_EQ(o.doc["cniVersion"], GetParam());
    EXPECT_EQ(leaseFiles().size(), 1U) << "an unsupported GC releases nothing";
    EXPECT_EQ(fake_.pods.size(), 1U) << "an unsupported GC deletes nothing";
  } else {
    expectSilentSuccess(o);
    EXPECT_TRUE(leaseFiles().empty());
    EXPECT_TRUE(fake_.pods.empty());
  }
}

TEST_P(PluginPerSpec, StatusExistsFrom110) {
  Outcome o = run(nodeEnv("STATUS"), config(GetParam()));
  if (before(GetParam(), "1.1.0")) {
    expectError(o, Code::kIncompatibleVersion, {"STATUS", "1.1.0"});
    EXPECT_EQ(o.doc["cniVersion"], GetParam());
  } else {
    expectSilentSuccess(o);
  }
}

TEST_P(PluginPerSpec, VersionAnswersInTheConfigVersion) {
  Outcome o = run(nodeEnv("VERSION"), config(GetParam()));
  ASSERT_EQ(o.status, 0) << o;
  EXPECT_EQ(o.doc["cniVersion"], GetParam());
  EXPECT_EQ(o.doc["supportedVersions"],
            json::parse(R"(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])"));
}

// --- ADD: addresses, MTU, failures ---------------------------------------------------------------

TEST_F(PluginTest, RetriedAddAfterDelGetsTheSameAddress) {
  Outcome first = add();
  ASSERT_EQ(first.status, 0) << first;
  expectSilentSuccess(del());
  Outcome second = add();
  ASSERT_EQ(second.status, 0) << second;
  EXPECT_EQ(second.doc["ips"], first.doc["ips"]);
}

TEST_F(PluginTest, TwoContainersGetDifferentAddressesAndVeths) {
  Outcome a = add(kContainer);
  Outcome b = add(kOtherContainer);
  ASSERT_EQ(a.status, 0) << a;
  ASSERT_EQ(b.status, 0) << b;
  EXPECT_NE(podAddress(a.doc), podAddress(b.doc));
  EXPECT_NE(a.doc["interfaces"][0]["name"], b.doc["interfaces"][0]["name"]);
  EXPECT_EQ(leaseFiles().size(), 2U);
  EXPECT_EQ(fake_.pods.size(), 2U);
}

TEST_F(PluginTest, TwoInterfacesOfOneContainerGetDifferentAddresses) {
  Outcome a = add(kContainer, "eth0");
  Outcome b = add(kContainer, "net1");
  ASSERT_EQ(a.status, 0) << a;
  ASSERT_EQ(b.status, 0) << b;
  EXPECT_NE(podAddress(a.doc), podAddress(b.doc));
  EXPECT_NE(a.doc["interfaces"][0]["name"], b.doc["interfaces"][0]["name"]);
}

TEST_F(PluginTest, ConfiguredNodeIpChoosesTheNode64) {
  Outcome o = run(containerEnv("ADD"), config(kLatestVersion, {{"nodeIP", "198.18.200.1"}}));
  ASSERT_EQ(o.status, 0) << o;
  ASSERT_EQ(fake_.resolved.size(), 1U);
  ASSERT_TRUE(fake_.resolved[0].nodeIp.has_value());
  EXPECT_EQ(ipam::formatIpv4(*fake_.resolved[0].nodeIp), "198.18.200.1");
  EXPECT_TRUE(
      ipam::contains(ipam::parseIpv6Prefix("fd00:10:0:c801::/64", "node64"), podAddress(o.doc)))
      << o;
}

TEST_F(PluginTest, SmallerConfiguredMtuIsHonoured) {
  Outcome o = run(containerEnv("ADD"), config(kLatestVersion, {{"mtu", 1400}}));
  ASSERT_EQ(o.status, 0) << o;
  ASSERT_EQ(fake_.added.size(), 1U);
  EXPECT_EQ(fake_.added[0].mtu, 1400);
  EXPECT_EQ(o.doc["interfaces"][1]["mtu"], 1400);
  ASSERT_EQ(fake_.ensured.size(), 1U);
  EXPECT_EQ(fake_.ensured[0].tunnelMtu(), 1480) << "the tunnel still carries what the underlay can";
}

TEST_F(PluginTest, DefaultMtuFollowsTheUnderlay) {
  fake_.underlayMtu = 9000;
  Outcome o = add();
  ASSERT_EQ(o.status, 0) << o;
  ASSERT_EQ(fake_.added.size(), 1U);
  EXPECT_EQ(fake_.added[0].mtu, 8980);
  EXPECT_EQ(o.doc["interfaces"][1]["mtu"], 8980);
}

TEST_F(PluginTest, TcpMtuProbingReachesThePod) {
  Outcome o = run(containerEnv("ADD"), config(kLatestVersion, {{"tcpMTUProbing", true}}));
  ASSERT_EQ(o.status, 0) << o;
  ASSERT_EQ(fake_.added.size(), 1U);
  EXPECT_TRUE(fake_.added[0].tcpMtuProbing);
}

TEST_F(PluginTest, UnresolvableNodeIsInvalidConfig) {
  fake_.nodeError = "no IPv4 address inside underlay 198.18.0.0/16 on this node: set nodeIP";
  Outcome o = add();
  expectError(o, Code::kInvalidConfig, {"set nodeIP"});
  EXPECT_EQ(fake_.count("ensureTunnel"), 0U);
  EXPECT_EQ(fake_.count("addPod"), 0U);
  EXPECT_TRUE(leaseFiles().empty());
}

TEST_F(PluginTest, KernelWithoutSitIsCode101AndTakesNoLease) {
  fake_.sit = false;
  Outcome o = add();
  expectError(o, Code::kSitUnavailable, {"sit"});
  EXPECT_EQ(fake_.count("addPod"), 0U);
  EXPECT_TRUE(leaseFiles().empty());
}

TEST_F(PluginTest, AllCandidateAddressesTakenIsCode102AndMakesNoPod) {
  // Every candidate of this attachment leased to someone else, as another ADD would leave it.
  const ipam::Ipv6Prefix node64 = ipam::parseIpv6Prefix(kNode64, "node64");
  fs::create_directories(dataDir_ / kNetwork);
  for (unsigned attempt = 0; attempt < ipam::kMaxCandidates; ++attempt) {
    const std::uint64_t iid = ipam::interfaceIdCandidate(kNetwork, kContainer, "eth0", attempt);
    std::ofstream(dataDir_ / kNetwork / hex16(iid))
        << kOtherContainer << "\neth0\n"
        << ipam::formatIpv6(ipam::withInterfaceId(node64, iid)) << "\n";
  }
  const std::vector<std::string> before = leaseFiles();

  expectError(add(), Code::kAddressesExhausted);
  EXPECT_EQ(fake_.count("addPod"), 0U);
  EXPECT_EQ(leaseFiles(), before) << "other owners' leases are untouched";
}

TEST_F(PluginTest, UnusableLeaseStoreIsAnIoFailure) {
  std::ofstream(root_ / "not-a-directory") << "x";
  const Outcome o =
      run(containerEnv("ADD"),
          config(kLatestVersion, {{"dataDir", (root_ / "not-a-directory").string()}}));
  expectError(o, Code::kIoFailure, {"not-a-directory"});
  EXPECT_EQ(fake_.count("addPod"), 0U);
}

// A failing addPod (which has already rolled its own links back) leaves no lease behind.
struct PodFailure {
  const char* name;
  std::function<void()> raise;
  Code code;
};

std::ostream& operator<<(std::ostream& os, const PodFailure& f) { return os << f.name; }

const PodFailure kPodFailures[] = {
    {"NetlinkError",
     [] { throw tunnel::NetlinkError("add route", "fd00:10:0:307::1/128", 3, "add route: boom"); },
     Code::kKernel},
    {"Conflict", [] { throw tunnel::Conflict("interface eth0 exists in the pod"); },
     Code::kConflict},
    {"SysctlError",
     [] { throw tunnel::SysctlError(30, "sysctl net/ipv6/conf/eth0/accept_dad: Read-only"); },
     Code::kKernel},
    {"VanishedNetns", [] { throw tunnel::NetnsError("open /var/run/netns/pod-1: gone", true); },
     Code::kContainerUnknown},
    {"NotANetns", [] { throw tunnel::NetnsError("/var/run/netns/pod-1: not a netns", false); },
     Code::kInvalidEnv},
    {"Unexpected", [] { throw std::logic_error("unexpected"); }, Code::kInternal},
};

class PluginAddFailure : public PluginTest, public ::testing::WithParamInterface<PodFailure> {};
INSTANTIATE_TEST_SUITE_P(Cni, PluginAddFailure, ::testing::ValuesIn(kPodFailures),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_P(PluginAddFailure, IsReportedWithItsCodeAndTheLeaseIsReleased) {
  fake_.addPodFails = [raise = GetParam().raise](const tunnel::PodSpec&) { raise(); };
  Outcome o = add();
  expectError(o, GetParam().code);
  ASSERT_EQ(fake_.count("addPod"), 1U) << "the lease was taken and the pod attempted";
  EXPECT_TRUE(leaseFiles().empty()) << "the lease this ADD took is given back";
  EXPECT_TRUE(fake_.pods.empty());
}

TEST_P(PluginAddFailure, ALeaseThatPredatesTheAddIsKept) {
  Outcome first = add();
  ASSERT_EQ(first.status, 0) << first;
  const ipam::Ipv6Addr address = podAddress(first.doc);
  const std::string lease = readFile(leaseFileOf(address));

  fake_.addPodFails = [raise = GetParam().raise](const tunnel::PodSpec&) { raise(); };
  expectError(add(), GetParam().code);
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{hex16(interfaceIdOf(address))});
  EXPECT_EQ(readFile(leaseFileOf(address)), lease);
}

TEST_F(PluginTest, AddOverALivePodIsAConflictThatKeepsItsLease) {
  Outcome first = add();
  ASSERT_EQ(first.status, 0) << first;
  const ipam::Ipv6Addr address = podAddress(first.doc);

  Outcome second = add();  // the fake, like the kernel, refuses the existing veth name
  expectError(second, Code::kConflict, {"exists"});
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{hex16(interfaceIdOf(address))});
  EXPECT_EQ(vethNames(), std::set<std::string>{ipam::hostVethName(kContainer, "eth0")});
}

// --- DEL -----------------------------------------------------------------------------------------

TEST_F(PluginTest, DelRemovesTheHostVethAndReleasesTheLease) {
  ASSERT_EQ(add().status, 0);
  fake_.calls.clear();
  expectSilentSuccess(del());
  EXPECT_EQ(fake_.deleted, std::vector<std::string>{ipam::hostVethName(kContainer, "eth0")});
  EXPECT_TRUE(fake_.pods.empty());
  EXPECT_TRUE(leaseFiles().empty());
}

TEST_F(PluginTest, DelLeavesOtherAttachmentsAlone) {
  Outcome a = add(kContainer);
  Outcome b = add(kOtherContainer);
  ASSERT_EQ(a.status, 0) << a;
  ASSERT_EQ(b.status, 0) << b;
  expectSilentSuccess(del(kContainer));
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{hex16(interfaceIdOf(podAddress(b.doc)))});
  EXPECT_EQ(vethNames(), std::set<std::string>{ipam::hostVethName(kOtherContainer, "eth0")});
}

TEST_F(PluginTest, DelOfNothingSucceedsTwice) {
  expectSilentSuccess(del());
  expectSilentSuccess(del());
  const std::string ask = "linkAlias " + ipam::hostVethName(kContainer, "eth0");
  EXPECT_EQ(std::count(fake_.calls.begin(), fake_.calls.end(), ask), 2);
  EXPECT_TRUE(fake_.deleted.empty()) << "nothing there, nothing deleted";
}

// DEL removes only the veth whose alias names this network, container and ifname; another
// owner's veth of the same name stays, and so does one without an alias (not sixrd's: ADD marks
// its veth right after creating it).
TEST_F(PluginTest, DelLeavesAVethOfTheSameNameOwnedBySomeoneElse) {
  const std::string name = ipam::hostVethName(kContainer, "eth0");
  fake_.plantVeth(name, std::string("sixrd/another-net/eth0/") + kContainer);
  expectSilentSuccess(del());
  EXPECT_EQ(vethNames(), std::set<std::string>{name});
  EXPECT_TRUE(fake_.deleted.empty());
  fake_.plantVeth(name, "");
  expectSilentSuccess(del());
  EXPECT_EQ(vethNames(), std::set<std::string>{name}) << "DEL removed a veth without an alias";
  EXPECT_TRUE(fake_.deleted.empty());
  fake_.plantVeth(name, std::string("sixrd/") + kNetwork + "/eth0/" + kContainer);
  expectSilentSuccess(del());
  EXPECT_TRUE(vethNames().empty()) << "its own veth stays";
}

// An ADD killed between creating the veth and marking it leaves a veth without an alias under the
// name its lease recorded: that one is this attachment's, and its DEL removes it.
TEST_F(PluginTest, DelRemovesAnUnmarkedVethUnderTheNameItsLeaseRecorded) {
  Outcome added = add();
  ASSERT_EQ(added.status, 0) << added;
  const std::string name = ipam::hostVethName(kContainer, "eth0");
  fake_.pods[name].spec.alias = "";
  expectSilentSuccess(del());
  EXPECT_TRUE(vethNames().empty());
  EXPECT_TRUE(leaseFiles().empty());
}

TEST_F(PluginTest, DelWorksWithoutNetns) {
  ASSERT_EQ(add().status, 0);
  Vars env = containerEnv("DEL");
  env.erase("CNI_NETNS");
  expectSilentSuccess(run(env, config()));
  EXPECT_TRUE(fake_.pods.empty());
  EXPECT_TRUE(leaseFiles().empty());

  env["CNI_NETNS"] = "";
  expectSilentSuccess(run(env, config()));
}

// --- CHECK ---------------------------------------------------------------------------------------

TEST_F(PluginTest, CheckWithoutPrevResultIsInvalidConfig) {
  ASSERT_EQ(add().status, 0);
  expectError(run(containerEnv("CHECK"), config()), Code::kInvalidConfig, {"prevResult"});
}

TEST_F(PluginTest, CheckOfAHealthyPodIsSilent) {
  Outcome added = add();
  ASSERT_EQ(added.status, 0) << added;
  expectSilentSuccess(check(added.doc));
  EXPECT_EQ(fake_.count("checkPod"), 1U);
  EXPECT_EQ(fake_.count("verifyTunnel"), 1U);
}

TEST_F(PluginTest, ASecondAttachmentInOnePodGetsNoDefaultRouteAndChecksClean) {
  Outcome first = add();
  ASSERT_EQ(first.status, 0) << first;
  ASSERT_EQ(first.doc["routes"].size(), 1U);
  EXPECT_EQ(first.doc["routes"][0]["dst"], "::/0");
  Outcome second = add(kContainer, "net1");
  ASSERT_EQ(second.status, 0) << second;
  EXPECT_TRUE(!second.doc.contains("routes") || second.doc["routes"].empty())
      << "the pod's default route stays eth0's: " << second.doc.dump();
  EXPECT_NE(podAddress(second.doc), podAddress(first.doc));
  expectSilentSuccess(run(containerEnv("CHECK", kContainer, "net1"),
                          config(kLatestVersion, {{"prevResult", second.doc}})));
  expectSilentSuccess(check(first.doc));
}

TEST_F(PluginTest, CheckFailsWhenPrevResultLacksThePodAddress) {
  Outcome added = add();
  ASSERT_EQ(added.status, 0) << added;
  json prev = added.doc;
  prev["ips"][0]["address"] = "fd00:10:0:307::dead/128";
  const std::string want = ipam::formatIpv6(podAddress(added.doc)) + "/128";
  expectError(check(prev), Code::kCheckFailed, {"prevResult", want});
}

TEST_F(PluginTest, CheckReportsEveryKernelMismatchTogether) {
  Outcome added = add();
  ASSERT_EQ(added.status, 0) << added;
  fake_.tunnelProblems = {"sixrd0 ttl is 32, want 64"};
  fake_.podProblems = {"eth0 mtu is 1500, want 1480"};
  expectError(check(added.doc), Code::kCheckFailed,
              {"sixrd0 ttl is 32, want 64; eth0 mtu is 1500, want 1480"});
}

TEST_F(PluginTest, CheckFailsWhenThePodIsGoneFromTheKernel) {
  Outcome added = add();
  ASSERT_EQ(added.status, 0) << added;
  fake_.pods.clear();
  expectError(check(added.doc), Code::kCheckFailed, {"missing"});
}

TEST_F(PluginTest, CheckWithoutALeaseFails) {
  const json prev = json::parse(R"({
    "cniVersion": "1.1.0",
    "interfaces": [{"name": "eth0", "sandbox": "/var/run/netns/pod-1"}],
    "ips": [{"address": "fd00:10:0:307::1234/128", "gateway": "fe80::1", "interface": 0}]
  })");
  expectError(check(prev), Code::kCheckFailed, {"no lease", kContainer});
}

// --- host veth names
// ------------------------------------------------------------------------------

// A device holding this attachment's hashed host veth name that is not its own (another network's
// veth, one without an alias, a hash collision) is never touched: ADD takes the next candidate
// name and records it in the lease, and DEL, CHECK and GC find the veth through it.
TEST_F(PluginTest, AddSkipsAHostVethNameHeldByAnotherOwnerAndRecordsTheOneItTook) {
  const std::string taken = ipam::hostVethName(kContainer, "eth0");
  const std::string next = ipam::hostVethName(kContainer, "eth0", 1);
  for (const std::string& foreign : {std::string("sixrd/another-net/eth0/") + kContainer,
                                     std::string(""), std::string("an operator's veth")}) {
    fake_ = fake::FakeDatapath();
    fake_.plantVeth(taken, foreign);
    Outcome added = add();
    ASSERT_EQ(added.status, 0) << added;
    EXPECT_EQ(added.doc["interfaces"][0]["name"], next) << foreign;
    EXPECT_EQ(vethNames(), (std::set<std::string>{taken, next})) << foreign;
    EXPECT_EQ(fake_.pods[taken].spec.alias, foreign) << "ADD changed the other device";
    const ipam::Ipv6Addr address = podAddress(added.doc);
    EXPECT_EQ(readFile(leaseFileOf(address)), std::string(kContainer) + "\neth0\n" +
                                                  ipam::formatIpv6(address) + "\n" + next + "\n");
    expectSilentSuccess(check(added.doc));
    EXPECT_EQ(fake_.count("checkPod " + next), 1U);
    expectSilentSuccess(
        gc(json::parse(R"([{"containerID": "c0ffee0123456789", "ifname": "eth0"}])")));
    EXPECT_EQ(vethNames(), (std::set<std::string>{taken, next})) << "GC removed a valid veth";
    expectSilentSuccess(del());
    EXPECT_EQ(vethNames(), std::set<std::string>{taken}) << foreign;
    EXPECT_EQ(fake_.deleted, std::vector<std::string>{next});
    EXPECT_TRUE(leaseFiles().empty());
  }
}

TEST_F(PluginTest, AddWithEveryHostVethNameTakenIsA105NamingThemAndTakesNothing) {
  for (unsigned i = 0; i < ipam::kMaxHostVethCandidates; ++i) {
    fake_.plantVeth(ipam::hostVethName(kContainer, "eth0", i),
                    "sixrd/another-net/x/" + std::to_string(i));
  }
  const std::set<std::string> before = vethNames();
  expectError(
      add(), Code::kConflict,
      {ipam::hostVethName(kContainer, "eth0", 0), "sixrd/another-net/x/7", "leaves them alone"});
  EXPECT_EQ(vethNames(), before);
  EXPECT_TRUE(leaseFiles().empty());
  EXPECT_EQ(fake_.count("addPod"), 0U);
}

// A lease an earlier release wrote has no host veth line: its veth has the hashed name.
TEST_F(PluginTest, ALeaseWithoutAHostVethNameMeansTheHashedName) {
  Outcome added = add();
  ASSERT_EQ(added.status, 0) << added;
  const ipam::Ipv6Addr address = podAddress(added.doc);
  std::ofstream(leaseFileOf(address), std::ios::trunc) << kContainer << "\neth0\n"
                                                       << ipam::formatIpv6(address) << "\n";
  expectSilentSuccess(check(added.doc));
  EXPECT_EQ(fake_.count("checkPod " + ipam::hostVethName(kContainer, "eth0")), 1U);
  expectSilentSuccess(del());
  EXPECT_TRUE(vethNames().empty());
  EXPECT_TRUE(leaseFiles().empty());
}

// --- GC ------------------------------------------------------------------------------------------

TEST_F(PluginTest, GcKeepsValidAttachmentsAndRemovesTheRest) {
  Outcome kept = add(kContainer);
  Outcome gone = add(kOtherContainer);
  ASSERT_EQ(kept.status, 0) << kept;
  ASSERT_EQ(gone.status, 0) << gone;
  // A veth of this network whose ADD died before answering (no lease), another network's veth,
  // and a veth without an alias.
  fake_.plantVeth("sx0000000000aa", std::string("sixrd/") + kNetwork + "/eth0/crashed0123");
  fake_.plantVeth("sx0000000000bb", "sixrd/other-net/eth0/c0ffee0123456789");
  fake_.plantVeth("sx0000000000cc", "");
  fake_.plantVeth("sx0000000000dd", std::string("sixrd/") + kNetwork + "x/eth0/" + kContainer);

  Outcome o = gc(json::parse(R"([{"containerID": "c0ffee0123456789", "ifname": "eth0"}])"));
  expectSilentSuccess(o);
  EXPECT_EQ(leaseFiles(), std::vector<std::string>{hex16(interfaceIdOf(podAddress(kept.doc)))});
  EXPECT_EQ(vethNames(),
            (std::set<std::string>{ipam::hostVethName(kContainer, "eth0"), "sx0000000000bb",
                                   "sx0000000000cc", "sx0000000000dd"}));
  const std::set<std::string> deleted(fake_.deleted.begin(), fake_.deleted.end());
  EXPECT_EQ(deleted,
            (std::set<std::string>{ipam::hostVethName(kOtherContainer, "eth0"), "sx0000000000aa"}));
}

TEST_F(PluginTest, GcLeavesOtherNetworksLeasesAlone) {
  Outcome other =
      run(containerEnv("ADD", kOtherContainer), config(kLatestVersion, {{"name", "other-net"}}));
  ASSERT_EQ(other.status, 0) << other;
  ASSERT_EQ(leaseFiles("other-net").size(), 1U);
  expectSilentSuccess(gc(json::array()));
  EXPECT_EQ(leaseFiles("other-net").size(), 1U);
  EXPECT_EQ(vethNames(), std::set<std::string>{ipam::hostVethName(kOtherContainer, "eth0")});
}

TEST_F(PluginTest, GcWithMalformedValidAttachmentsIsADecodeFailureAndRemovesNothing) {
  ASSERT_EQ(add().status, 0);
  for (const char* malformed :
       {R"("c0ffee0123456789")", R"({"containerID": "c0ffee0123456789", "ifname": "eth0"})",
        R"(["c0ffee0123456789"])", R"([{"containerID": "c0ffee0123456789"}])",
        R"([{"containerID": 7, "ifname": "eth0"}])", R"([{"containerID": "x", "ifname": null}])"}) {
    SCOPED_TRACE(malformed);
    expectError(gc(json::parse(malformed)), Code::kDecodeFailure, {"valid-attachments"});
    EXPECT_EQ(leaseFiles().size(), 1U);
    EXPECT_EQ(fake_.pods.size(), 1U);
  }
}

// --- STATUS --------------------------------------------------------------------------------------

TEST_F(PluginTest, StatusOfAHealthyNodeIsSilent) {
  expectSilentSuccess(run(nodeEnv("STATUS"), config()));
  EXPECT_EQ(fake_.count("addPod"), 0U);
  EXPECT_EQ(fake_.count("ensureTunnel"), 0U) << "STATUS changes nothing";
}

TEST_F(PluginTest, StatusWithoutSitIsNotAvailable) {
  fake_.sit = false;
  expectError(run(nodeEnv("STATUS"), config()), Code::kNotAvailable, {"modprobe sit"});
}

TEST_F(PluginTest, StatusWithAnUnresolvableNodeIsNotAvailable) {
  fake_.nodeError = "no IPv4 address inside underlay 198.18.0.0/16: set nodeIP";
  expectError(run(nodeEnv("STATUS"), config()), Code::kNotAvailable, {"set nodeIP"});
}

// --- VERSION -------------------------------------------------------------------------------------

TEST_F(PluginTest, VersionNeedsNoStdinAndNoKernel) {
  Outcome o = run(nodeEnv("VERSION"), std::string());
  ASSERT_EQ(o.status, 0) << o;
  EXPECT_EQ(o.doc["cniVersion"], std::string(kLatestVersion));
  json supported = json::array();
  for (const auto v : kSupportedVersions) supported.push_back(v);
  EXPECT_EQ(o.doc["supportedVersions"], supported);
  EXPECT_EQ(datapathsMade_, 0);
}

// --- errors --------------------------------------------------------------------------------------

TEST_F(PluginTest, MalformedStdinIsADecodeFailure) {
  Outcome o = run(containerEnv("ADD"), std::string(R"({"cniVersion": "1.0.0", "name": )"));
  expectError(o, Code::kDecodeFailure);
  // The datapath exists (capabilities are dropped once the namespace is held, before parsing),
  // but nothing was asked of the kernel.
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(PluginTest, EmptyStdinIsADecodeFailure) {
  expectError(run(containerEnv("ADD"), std::string()), Code::kDecodeFailure, {"stdin"});
}

TEST_F(PluginTest, UnknownCommandIsAnInvalidEnvironment) {
  Outcome o = run(containerEnv("REPAIR"), config());
  expectError(o, Code::kInvalidEnv, {"CNI_COMMAND"});
  EXPECT_EQ(datapathsMade_, 0);
}

TEST_F(PluginTest, AddWithoutNetnsIsAnInvalidEnvironment) {
  Vars env = containerEnv("ADD");
  env.erase("CNI_NETNS");
  expectError(run(env, config()), Code::kInvalidEnv, {"CNI_NETNS"});
  EXPECT_EQ(datapathsMade_, 0);
}

TEST_F(PluginTest, InvalidConfigIsReportedInTheConfigVersion) {
  Outcome o = run(containerEnv("ADD"), config("0.4.0", {{"prefix", "fd00:10::/56"}}));
  expectError(o, Code::kInvalidConfig, {"prefix"});
  EXPECT_EQ(o.doc["cniVersion"], "0.4.0");
  // The datapath exists (capabilities are dropped once the namespace is held, before parsing),
  // but nothing was asked of the kernel.
  EXPECT_TRUE(fake_.calls.empty());
}

}  // namespace
}  // namespace sixrd::cni
