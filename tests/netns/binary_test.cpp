// The sixrd binary on the host kernel, executed as a runtime would: CNI_* variables (and nothing
// else) in its environment, the network configuration on stdin, run inside a fresh node namespace.
// This kernel has no sit, so ADD and STATUS must say so; DEL and GC need no tunnel and run fully.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>

#include "ipam/interface_id.hpp"
#include "ipam/lease_store.hpp"
#include "support.hpp"

namespace sixrd::netns_test {
namespace {

using ::testing::HasSubstr;

constexpr char kNetwork[] = "sixrd-test";
constexpr char kContainer[] = "c0ffee";

using Env = std::map<std::string, std::optional<std::string>>;  // nullopt: unset

class Binary : public NodeTest {
 protected:
  void SetUp() override {
    NodeTest::SetUp();
    nodeLinksBefore_ = linkNames(node());
  }

  [[nodiscard]] json config(const std::string& version = "1.1.0") const {
    return {{"cniVersion", version}, {"name", kNetwork},      {"type", "sixrd"},
            {"prefix", kPrefix},     {"underlay", kUnderlay}, {"dataDir", data_.path().string()}};
  }

  // CNI_COMMAND=verb with a container, pod netns and ifname, overridden (or unset) by `overrides`.
  ProcessResult invoke(const std::string& verb, const std::string& stdinBytes,
                       const Env& overrides = {}) {
    Env env{{"CNI_COMMAND", verb},        {"CNI_CONTAINERID", kContainer},
            {"CNI_NETNS", pod().path()},  {"CNI_IFNAME", "eth0"},
            {"CNI_PATH", "/opt/cni/bin"}, {"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
    for (const auto& [k, v] : overrides) env[k] = v;
    std::vector<std::string> list;
    for (const auto& [k, v] : env) {
      if (v) list.push_back(k + "=" + *v);
    }
    return runProcess(SIXRD_BINARY, {}, list, stdinBytes);
  }
  ProcessResult invoke(const std::string& verb, const json& stdinJson, const Env& overrides = {}) {
    return invoke(verb, stdinJson.dump(), overrides);
  }

  // The one JSON document on stdout of a failed invocation (parsing the whole of stdout proves
  // there is exactly one).
  static json errorOf(const ProcessResult& r) {
    EXPECT_EQ(r.exitCode, 1) << "stderr: " << r.err;
    json doc;
    try {
      doc = json::parse(r.out);
    } catch (const json::exception& e) {
      ADD_FAILURE() << "stdout is not one JSON document: " << e.what() << "\n" << r.out;
      return json::object();
    }
    EXPECT_TRUE(doc.contains("code") && doc["code"].is_number_unsigned()) << doc.dump();
    EXPECT_TRUE(doc.contains("msg") && doc["msg"].is_string()) << doc.dump();
    EXPECT_TRUE(doc.contains("cniVersion")) << doc.dump();
    return doc;
  }

  static void expectSuccessWithoutOutput(const ProcessResult& r) {
    EXPECT_EQ(r.exitCode, 0) << "stdout: " << r.out << "\nstderr: " << r.err;
    EXPECT_EQ(r.out, "");
  }

  // No link appeared on the node, nothing in the pod, no file in the data dir.
  void expectNothingCreated() {
    EXPECT_EQ(linkNames(node()), nodeLinksBefore_);
    EXPECT_EQ(linkNames(pod().name()), std::vector<std::string>{"lo"});
    EXPECT_EQ(filesUnder(data_.path()), std::vector<std::string>{});
  }

  ipam::LeaseStore store() const { return ipam::LeaseStore(data_.path(), kNetwork); }
  static ipam::Ipv6Prefix node64() { return ipam::parseIpv6Prefix(kNode64, "node64"); }

  void addVeth(const std::string& name, const std::string& alias) {
    static int peer = 0;
    must("ip -n " + node() + " link add name " + name + " type veth peer name vp" +
         std::to_string(peer++));
    if (!alias.empty()) must("ip -n " + node() + " link set dev " + name + " alias " + alias);
  }

  TempDir data_;
  std::vector<std::string> nodeLinksBefore_;
};

// --- ADD and STATUS without sit ------------------------------------------------------------------

TEST_F(Binary, AddFailsWithCode101WhenTheKernelHasNoSitAndCreatesNothing) {
  const ProcessResult r = invoke("ADD", config());
  const json error = errorOf(r);
  EXPECT_EQ(error.value("code", 0U), 101U);
  EXPECT_THAT(error.value("msg", ""), HasSubstr("modprobe sit"));
  EXPECT_EQ(error.value("cniVersion", ""), "1.1.0");
  expectNothingCreated();
}

TEST_F(Binary, AddReportsErrorsInTheConfigsCniVersion) {
  const json error = errorOf(invoke("ADD", config("0.4.0")));
  EXPECT_EQ(error.value("code", 0U), 101U);
  EXPECT_EQ(error.value("cniVersion", ""), "0.4.0");
}

TEST_F(Binary, StatusIsCode50WhenTheKernelHasNoSit) {
  const json error = errorOf(invoke("STATUS", config(),
                                    {{"CNI_CONTAINERID", std::nullopt},
                                     {"CNI_NETNS", std::nullopt},
                                     {"CNI_IFNAME", std::nullopt}}));
  EXPECT_EQ(error.value("code", 0U), 50U);
  EXPECT_THAT(error.value("msg", ""), HasSubstr("sit"));
  EXPECT_THAT(error.value("msg", ""), HasSubstr("modprobe sit"));
  expectNothingCreated();  // the throw-away probe device is gone too
}

TEST_F(Binary, StatusIsCode50NamingAMissingUnderlayAddress) {
  must("ip -n " + node() + " addr flush dev ul0");
  const json error = errorOf(invoke("STATUS", config(),
                                    {{"CNI_CONTAINERID", std::nullopt},
                                     {"CNI_NETNS", std::nullopt},
                                     {"CNI_IFNAME", std::nullopt}}));
  EXPECT_EQ(error.value("code", 0U), 50U);
  EXPECT_THAT(error.value("msg", ""), HasSubstr("no IPv4 address inside underlay 198.18.0.0/16"));
  EXPECT_THAT(error.value("msg", ""), HasSubstr("nodeIP"));
}

TEST_F(Binary, StatusNeedsCniVersion110) {
  const json error = errorOf(invoke("STATUS", config("1.0.0")));
  EXPECT_EQ(error.value("code", 0U), 1U);
}

// --- DEL -----------------------------------------------------------------------------------------

TEST_F(Binary, DelOfANeverAddedContainerSucceedsTwiceWithEmptyStdout) {
  expectSuccessWithoutOutput(invoke("DEL", config()));
  expectSuccessWithoutOutput(invoke("DEL", config()));
  expectNothingCreated();
}

TEST_F(Binary, DelSucceedsWithoutCniNetns) {
  expectSuccessWithoutOutput(invoke("DEL", config(), {{"CNI_NETNS", std::nullopt}}));
  expectSuccessWithoutOutput(invoke("DEL", config(), {{"CNI_NETNS", ""}}));
}

TEST_F(Binary, DelSucceedsWhenCniNetnsHasVanished) {
  const std::string gone = pod().path();
  pod().remove();
  expectSuccessWithoutOutput(invoke("DEL", config(), {{"CNI_NETNS", gone}}));
}

TEST_F(Binary, DelReleasesTheLeaseOfThatAttachmentOnly) {
  ipam::LeaseStore leases = store();
  leases.acquire({kContainer, "eth0"}, node64());
  leases.acquire({"other", "eth0"}, node64());
  leases.acquire({kContainer, "net1"}, node64());
  ASSERT_EQ(filesUnder(data_.path()).size(), 3U);
  expectSuccessWithoutOutput(invoke("DEL", config()));
  EXPECT_FALSE(leases.find({kContainer, "eth0"}));
  EXPECT_TRUE(leases.find({"other", "eth0"}));
  EXPECT_TRUE(leases.find({kContainer, "net1"}));
  EXPECT_EQ(filesUnder(data_.path()).size(), 2U);
}

TEST_F(Binary, DelRemovesTheHostVethOfThatAttachmentOnly) {
  const std::string mine = ipam::hostVethName(kContainer, "eth0");
  const std::string other = ipam::hostVethName("other", "eth0");
  addVeth(mine, std::string("sixrd/") + kNetwork + "/eth0/" + kContainer);
  addVeth(other, std::string("sixrd/") + kNetwork + "/eth0/other");
  expectSuccessWithoutOutput(invoke("DEL", config()));
  EXPECT_FALSE(link(node(), mine));
  EXPECT_TRUE(link(node(), other));
}

// A veth of the hashed name whose alias names another owner (another network's attachment, or a
// hash collision), or that has no alias at all, is not this DEL's: it used to be deleted whoever
// owned it. The log names it and says why.
TEST_F(Binary, DelLeavesAVethOfTheSameNameOwnedBySomeoneElse) {
  const std::string name = ipam::hostVethName(kContainer, "eth0");
  addVeth(name, "");
  store().acquire({kContainer, "eth0"}, node64());
  ProcessResult r = invoke("DEL", config(), {{"SIXRD_LOG_STDERR", "1"}});
  expectSuccessWithoutOutput(r);
  EXPECT_TRUE(link(node(), name)) << "DEL removed a veth without an alias";
  EXPECT_THAT(r.err, HasSubstr(name + " is not this attachment's"));
  EXPECT_THAT(r.err, HasSubstr("no owner alias"));
  EXPECT_FALSE(store().find({kContainer, "eth0"})) << "its own lease goes all the same";
  const std::string foreign = std::string("sixrd/another-net/eth0/") + kContainer;
  must("ip -n " + node() + " link set dev " + name + " alias " + foreign);
  store().acquire({kContainer, "eth0"}, node64());
  r = invoke("DEL", config(), {{"SIXRD_LOG_STDERR", "1"}});
  expectSuccessWithoutOutput(r);
  EXPECT_TRUE(link(node(), name)) << "DEL removed a veth it does not own";
  EXPECT_THAT(r.err, HasSubstr("its alias names " + foreign));
  EXPECT_FALSE(store().find({kContainer, "eth0"})) << "its own lease goes all the same";
  // Its own (the alias ADD sets) goes.
  must("ip -n " + node() + " link set dev " + name + " alias sixrd/" + kNetwork + "/eth0/" +
       kContainer);
  expectSuccessWithoutOutput(invoke("DEL", config()));
  EXPECT_FALSE(link(node(), name));
}

// Capabilities are dropped before the config is parsed and the log file opened: root without
// CAP_DAC_OVERRIDE cannot create the log in a directory another user owns with mode 0700, which
// the full-capability root of before could.
TEST_F(Binary, TheLogFileIsOpenedAfterCapabilitiesAreDropped) {
  const std::filesystem::path locked = data_.path() / "locked";
  std::filesystem::create_directory(locked);
  must("chown 65534 " + locked.string() + " && chmod 0700 " + locked.string());
  json c = config();
  c["log"] = {{"file", (locked / "sixrd.log").string()}, {"level", "info"}};
  const ProcessResult r = invoke("DEL", c);
  expectSuccessWithoutOutput(r);
  EXPECT_FALSE(std::filesystem::exists(locked / "sixrd.log"))
      << "the log was opened with capabilities sixrd should have dropped first";
  EXPECT_THAT(r.err, HasSubstr("cannot open log file"));
}

// --- GC ------------------------------------------------------------------------------------------

TEST_F(Binary, GcRemovesLeasesAndVethsNotInValidAttachmentsAndKeepsTheRest) {
  ipam::LeaseStore leases = store();
  leases.acquire({"keep", "eth0"}, node64());
  leases.acquire({"stale", "eth0"}, node64());
  const std::string mine = std::string("sixrd/") + kNetwork + "/eth0/";
  addVeth(ipam::hostVethName("keep", "eth0"), mine + "keep");
  addVeth(ipam::hostVethName("stale", "eth0"), mine + "stale");
  addVeth(ipam::hostVethName("theirs", "eth0"), "sixrd/another-net/eth0/theirs");
  addVeth(ipam::hostVethName("noalias", "eth0"), "");

  json request = config();
  request["cni.dev/valid-attachments"] =
      json::array({{{"containerID", "keep"}, {"ifname", "eth0"}}});
  expectSuccessWithoutOutput(invoke("GC", request,
                                    {{"CNI_CONTAINERID", std::nullopt},
                                     {"CNI_NETNS", std::nullopt},
                                     {"CNI_IFNAME", std::nullopt}}));

  EXPECT_TRUE(leases.find({"keep", "eth0"}));
  EXPECT_FALSE(leases.find({"stale", "eth0"}));
  EXPECT_TRUE(link(node(), ipam::hostVethName("keep", "eth0")));
  EXPECT_FALSE(link(node(), ipam::hostVethName("stale", "eth0")));
  EXPECT_TRUE(link(node(), ipam::hostVethName("theirs", "eth0"))) << "GC touched another network";
  EXPECT_TRUE(link(node(), ipam::hostVethName("noalias", "eth0"))) << "GC touched an unowned veth";
}

TEST_F(Binary, GcWithoutValidAttachmentsRemovesEverythingOfTheNetwork) {
  store().acquire({"stale", "eth0"}, node64());
  addVeth(ipam::hostVethName("stale", "eth0"), std::string("sixrd/") + kNetwork + "/eth0/stale");
  json request = config();
  request["cni.dev/valid-attachments"] = json::array();
  expectSuccessWithoutOutput(invoke("GC", request,
                                    {{"CNI_CONTAINERID", std::nullopt},
                                     {"CNI_NETNS", std::nullopt},
                                     {"CNI_IFNAME", std::nullopt}}));
  EXPECT_EQ(filesUnder(data_.path()), std::vector<std::string>{});
  EXPECT_FALSE(link(node(), ipam::hostVethName("stale", "eth0")));
}

// --- Hostile input -------------------------------------------------------------------------------

struct Hostile {
  const char* name;
  Env env;
  unsigned code;
  std::string stdinBytes;  // empty: the valid config
};

class BinaryHostile : public Binary, public ::testing::WithParamInterface<Hostile> {};

TEST_P(BinaryHostile, IsOneErrorDocumentWithTheRightCodeAndCreatesNothing) {
  const Hostile& h = GetParam();
  const std::string in = h.stdinBytes.empty() ? config().dump() : h.stdinBytes;
  const json error = errorOf(invoke("ADD", in, h.env));
  EXPECT_EQ(error.value("code", 0U), h.code) << error.dump();
  expectNothingCreated();
}

// A config padded to 10 MB with whitespace: valid JSON, just far too large to be a config.
std::string tenMegabytes() {
  std::string s = "{\"cniVersion\":\"1.1.0\",";
  s.append(std::size_t{10} << 20, ' ');
  s += "\"name\":\"x\"}";
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Env, BinaryHostile,
    ::testing::Values(
        Hostile{"ContainerIdWithSlash", {{"CNI_CONTAINERID", "abc/def"}}, 4, ""},
        Hostile{"ContainerIdDotDot", {{"CNI_CONTAINERID", ".."}}, 4, ""},
        Hostile{"ContainerId300Chars", {{"CNI_CONTAINERID", std::string(300, 'a')}}, 4, ""},
        Hostile{"ContainerIdMissing", {{"CNI_CONTAINERID", std::nullopt}}, 4, ""},
        Hostile{"Ifname16Chars", {{"CNI_IFNAME", "abcdefghijklmnop"}}, 4, ""},
        Hostile{"IfnameWithSlash", {{"CNI_IFNAME", "et/h0"}}, 4, ""},
        Hostile{"NetnsMissingForAdd", {{"CNI_NETNS", std::nullopt}}, 4, ""},
        Hostile{"UnknownCommand", {{"CNI_COMMAND", "ADDD"}}, 4, ""},
        Hostile{"StdinOf10MB", {}, 6, tenMegabytes()}, Hostile{"StdinNotJson", {}, 6, "{not json"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Binary, PrefixPlusUnderlayHostBitsOver64IsCode7Mentioning64) {
  json c = config();
  c["prefix"] = "fd00:10::/60";
  const json error = errorOf(invoke("ADD", c));
  EXPECT_EQ(error.value("code", 0U), 7U);
  EXPECT_THAT(error.value("msg", ""), HasSubstr("64"));
  expectNothingCreated();
}

// CNI_NETNS that is not a namespace: on a kernel without sit, ADD stops at the tunnel (101) before
// it opens the namespace; either way it is one error document and nothing is left behind. The
// netns codes themselves (4 / 3) are checked through runPlugin in plugin_flow_test.cpp, where the
// tunnel step is bypassed.
TEST_F(Binary, AddWithANetnsThatIsARegularFileFailsCleanly) {
  const std::string file = (data_.path() / "not-a-netns").string();
  std::ofstream(file) << "x";
  const json error = errorOf(invoke("ADD", config(), {{"CNI_NETNS", file}}));
  EXPECT_THAT(error.value("code", 0U), ::testing::AnyOf(101U, 4U));
  EXPECT_EQ(linkNames(node()), nodeLinksBefore_);
  EXPECT_EQ(filesUnder(data_.path()), std::vector<std::string>{"not-a-netns"});
}

TEST_F(Binary, AddWithAMissingNetnsFailsCleanly) {
  const json error =
      errorOf(invoke("ADD", config(), {{"CNI_NETNS", "/var/run/netns/" + uniqueName("never")}}));
  EXPECT_THAT(error.value("code", 0U), ::testing::AnyOf(101U, 3U));
  expectNothingCreated();
}

// A FIFO blocks a reader until a writer comes: ADD and CHECK used to hang until the runtime
// killed them. Now code 4 at once, naming what the path is, and nothing made.
TEST_F(Binary, AddAndCheckWithAFifoAsNetnsAreCode4AtOnce) {
  const std::string fifo = (data_.path() / "fifo").string();
  must("mkfifo " + fifo);
  for (const std::string verb : {"ADD", "CHECK"}) {
    SCOPED_TRACE(verb);
    const auto start = std::chrono::steady_clock::now();
    const ProcessResult r =
        runProcess(SIXRD_BINARY, {},
                   {"CNI_COMMAND=" + verb, std::string("CNI_CONTAINERID=") + kContainer,
                    "CNI_NETNS=" + fifo, "CNI_IFNAME=eth0"},
                   config().dump(), std::chrono::seconds(5));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    const json error = errorOf(r);
    EXPECT_EQ(error.value("code", 0U), 4U);
    EXPECT_THAT(error.value("msg", ""), HasSubstr("FIFO"));
    EXPECT_EQ(error.value("details", ""), "CNI_NETNS");
  }
  EXPECT_EQ(linkNames(node()), nodeLinksBefore_);
  EXPECT_EQ(filesUnder(data_.path()), std::vector<std::string>{});  // regular files only
}

// --- VERSION -------------------------------------------------------------------------------------

TEST_F(Binary, VersionPrintsTheFiveSupportedVersions) {
  const ProcessResult r = invoke("VERSION", json{{"cniVersion", "1.0.0"}},
                                 {{"CNI_CONTAINERID", std::nullopt},
                                  {"CNI_NETNS", std::nullopt},
                                  {"CNI_IFNAME", std::nullopt}});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc.value("cniVersion", ""), "1.0.0");
  EXPECT_EQ(doc["supportedVersions"], json::array({"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
  expectNothingCreated();
}

TEST_F(Binary, VersionWithEmptyStdinAnswersInTheLatestVersion) {
  const ProcessResult r = invoke("VERSION", std::string(),
                                 {{"CNI_CONTAINERID", std::nullopt},
                                  {"CNI_NETNS", std::nullopt},
                                  {"CNI_IFNAME", std::nullopt}});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc.value("cniVersion", ""), "1.1.0");
  EXPECT_EQ(doc["supportedVersions"].size(), 5U);
}

// --- Least privilege ----------------------------------------------------------------------------

// Root without CAP_SYS_ADMIN in its bounding set (as in a container granted only NET_ADMIN): the
// plugin refuses with code 103 naming what is missing, before touching anything.
TEST_F(Binary, AddWithoutCapSysAdminIsCode103NamingItAndCreatesNothing) {
  std::vector<std::string> env = {"CNI_COMMAND=ADD", "CNI_CONTAINERID=" + std::string(kContainer),
                                  "CNI_NETNS=" + pod().path(), "CNI_IFNAME=eth0",
                                  "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  const ProcessResult r =
      runProcess("/usr/bin/setpriv", {"--bounding-set", "-sys_admin", "--", SIXRD_BINARY}, env,
                 config().dump());
  const json doc = errorOf(r);
  EXPECT_EQ(doc.value("code", 0), 103) << doc.dump();
  const std::string msg = doc.value("msg", "");
  EXPECT_NE(msg.find("CAP_SYS_ADMIN"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lacks CAP_SYS_ADMIN:"), std::string::npos) << msg;  // and only that one
  expectNothingCreated();
}

}  // namespace
}  // namespace sixrd::netns_test
