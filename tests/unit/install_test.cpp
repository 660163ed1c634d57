// sixrd install / uninstall / status / daemon, driven through the CLI exactly as a user or a
// DaemonSet runs them (argv + environment), against a temporary host root and a fake kernel. No
// root needed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <CLI/CLI.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cni/config.hpp"
#include "install/commands.hpp"
#include "install/files.hpp"
#include "install/installer.hpp"
#include "install/liveness.hpp"
#include "ipam/lease_store.hpp"
#include "ipam/sixrd_math.hpp"
#include "test_files.hpp"
#include "tunnel/datapath.hpp"

namespace sixrd::install {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// What the installer can see of a node's kernel, and what it did to it.
struct FakeKernel {
  ipam::Ipv4Addr hostIp = ipam::parseIpv4("198.18.3.7", "hostIp");
  int underlayMtu = 1500;
  bool sit = true;
  bool noIpv4 = false;
  // Several candidates inside the underlay: only nodeIP or underlayInterface decides.
  bool ambiguous = false;
  bool procSysReadOnly = false;  // as in an unprivileged container
  std::vector<std::string> otherProblems;

  bool tunnelUp = false;
  bool forwarding = false;
  int datapaths = 0;
  std::vector<tunnel::NodeSpec> resolved;
  std::vector<tunnel::NodeSpec> ensured;
  // Host veths of pods on the node, and the tunnels removeTunnel() took away.
  std::vector<tunnel::Datapath::HostVeth> veths;
  std::vector<std::string> removedTunnels;
  // For each removal, whose tunnel the installer asked for: "<network> <prefix or none>".
  std::vector<std::string> removedFor;
};

class FakeDatapath : public tunnel::Datapath {
 public:
  explicit FakeDatapath(FakeKernel& k) : k_(k) { ++k_.datapaths; }

  tunnel::Node resolveNode(const tunnel::NodeSpec& spec) override {
    k_.resolved.push_back(spec);
    if (k_.noIpv4) throw tunnel::NodeError("no IPv4 address inside underlay on this node");
    if (k_.ambiguous && !spec.nodeIp && spec.underlayInterface.empty()) {
      throw tunnel::NodeError("more than one IPv4 address inside underlay could be the node's");
    }
    if (spec.nodeIp && *spec.nodeIp != k_.hostIp) {
      throw tunnel::NodeError("nodeIP is not an address of this node");
    }
    tunnel::Node node;
    node.prefix = ipam::nodePrefix(spec.plan, k_.hostIp);
    node.underlayInterface = "eth0";
    node.underlayMtu = k_.underlayMtu;
    return node;
  }
  void ensureTunnel(const tunnel::NodeSpec& spec, const tunnel::Node& /*node*/) override {
    k_.ensured.push_back(spec);
    if (!k_.sit) {
      throw tunnel::SitUnavailable("cannot create sit device: Operation not supported");
    }
    k_.tunnelUp = true;
    if (k_.procSysReadOnly) {
      throw tunnel::SysctlError(EROFS,
                                "sysctl net/ipv6/conf/all/forwarding=1: Read-only file system");
    }
    k_.forwarding = true;
  }
  std::vector<std::string> verifyTunnel(const tunnel::NodeSpec& spec,
                                        const tunnel::Node& /*node*/) override {
    std::vector<std::string> problems = k_.otherProblems;
    if (!k_.tunnelUp) problems.push_back("tunnel " + spec.tunnel + " does not exist");
    if (!k_.forwarding)
      problems.emplace_back("IPv6 forwarding (net.ipv6.conf.all.forwarding) is off");
    return problems;
  }
  bool sitAvailable(const tunnel::NodeSpec& /*spec*/) override { return k_.sit; }
  std::vector<std::string> removeTunnel(const std::string& name, const std::string& network,
                                        const std::optional<ipam::Ipv6Prefix>& prefix) override {
    if (!k_.tunnelUp) return {};
    k_.tunnelUp = false;
    k_.removedTunnels.push_back(name);
    k_.removedFor.push_back(network + " " + (prefix ? ipam::formatPrefix(*prefix) : "none"));
    return {"sit device " + name, "route unreachable fd00:10:0:307::/64"};
  }
  tunnel::PodLinks addPod(const tunnel::PodSpec& /*spec*/) override { throw unused(); }
  bool delPod(const std::string& /*hostVeth*/) override { throw unused(); }
  std::vector<std::string> checkPod(const tunnel::PodSpec& /*spec*/) override { throw unused(); }
  std::vector<HostVeth> listHostVeths() override { return k_.veths; }

 private:
  static std::logic_error unused() { return std::logic_error("the installer never touches pods"); }
  FakeKernel& k_;
};

struct Outcome {
  std::optional<int> status;  // nullopt when the command threw
  std::string out;
  std::string error;   // what() of the exception, when it threw
  bool usage = false;  // it was a usage error (the CLI exits 2 for those, 1 for the others)
  std::string field;   // a cni::UsageError's field(): the flag it is about
};

// Every version a CNI reference plugin since 1.5 speaks.
const std::vector<std::string> kModern = {"0.1.0", "0.2.0", "0.3.0", "0.3.1",
                                          "0.4.0", "1.0.0", "1.1.0"};
// What the plugins of Debian bookworm (containernetworking-plugins 1.1.1) speak.
const std::vector<std::string> kBookworm = {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"};

// An executable shell script `dir`/`name` with `body` after the #! line.
void plantScript(const fs::path& dir, const std::string& name, const std::string& body) {
  fs::create_directories(dir);
  std::ofstream(dir / name) << "#!/bin/sh\n" << body;
  fs::permissions(dir / name, fs::perms(0755));
}

// A chained meta plugin that answers VERSION the way the reference plugins do.
void plantPlugin(const fs::path& dir, const std::string& name,
                 const std::vector<std::string>& versions) {
  const json answer = {{"cniVersion", "1.0.0"}, {"supportedVersions", versions}};
  plantScript(dir, name,
              "[ \"$CNI_COMMAND\" = VERSION ] || { echo '{\"code\":4,\"msg\":\"not VERSION\"}'; "
              "exit 1; }\ncat >/dev/null\necho '" +
                  answer.dump() + "'\n");
}

std::string slurp(const fs::path& p) { return readFile(p); }

struct stat statOf(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0)
    throw std::system_error(errno, std::generic_category(), p.string());
  return st;
}

mode_t modeOf(const fs::path& p) { return statOf(p).st_mode & 07777; }

std::set<std::string> listDir(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

std::set<std::string> listTree(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    names.insert(fs::relative(e.path(), dir).string());
  }
  return names;
}

class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = test::makeTempDir("install");
    root_ = tmp_ / "host";
    fs::create_directory(root_);
    source_ = tmp_ / "sixrd-source";
    std::string bytes;
    for (int i = 0; i < 200000; ++i) bytes += static_cast<char>((i * 131) % 256);
    std::ofstream(source_, std::ios::binary) << bytes;
    sourceBytes_ = bytes;
    // The node's CNI plugin directory holds the meta plugins sixrd chains, as on a real node.
    for (const char* name : {"portmap", "bandwidth", "tuning"}) plantPlugin(bin(), name, kModern);
    planted_ = listTree(root_);
  }
  void TearDown() override { fs::remove_all(tmp_); }

  // `sixrd <args...>` with `env` as the whole environment.
  Outcome run(std::vector<std::string> args, std::map<std::string, std::string> env = {},
              bool defaultBinary = false) {
    Context context;
    context.makeDatapath = [this] { return std::make_unique<FakeDatapath>(kernel_); };
    if (!defaultBinary) context.selfExe = source_;
    context.checkCapabilities = false;
    std::ostringstream out;
    CLI::App app{"sixrd", "sixrd"};
    app.require_subcommand(1);
    Commands commands(
        app, context,
        [env](const std::string& name) -> std::optional<std::string> {
          const auto it = env.find(name);
          if (it == env.end()) return std::nullopt;
          return it->second;
        },
        out);
    args.insert(args.begin(), "sixrd");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    Outcome outcome;
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
      outcome.status = commands.run("off");
    } catch (const std::exception& e) {
      outcome.error = e.what();
      outcome.usage = dynamic_cast<const cni::UsageError*>(&e) != nullptr ||
                      dynamic_cast<const ipam::InvalidInput*>(&e) != nullptr;
      if (const auto* usage = dynamic_cast<const cni::UsageError*>(&e)) {
        outcome.field = usage->field();
      }
    }
    outcome.out = out.str();
    return outcome;
  }

  // An install that writes files only: explicit node, no tunnel.
  Outcome installFiles(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"install",      "--host-root", root_.string(),  "--prefix",
                                     "fd00:10::/48", "--underlay",  "198.18.0.0/16", "--node-ip",
                                     "198.18.3.7",   "--no-tunnel"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }

  Outcome installWithTunnel(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"install",      "--host-root", root_.string(), "--prefix",
                                     "fd00:10::/48", "--underlay",  "198.18.0.0/16"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }

  [[nodiscard]] fs::path bin() const { return root_ / "opt/cni/bin"; }
  [[nodiscard]] fs::path binary() const { return root_ / "opt/cni/bin/sixrd"; }
  [[nodiscard]] fs::path conflist() const { return root_ / "etc/cni/net.d/10-sixrd.conflist"; }
  [[nodiscard]] json conf() const { return json::parse(slurp(conflist())); }
  // Nothing was written: the host root holds only what the test planted.
  [[nodiscard]] bool rootIsEmpty() const { return listTree(root_) == planted_; }

  fs::path tmp_;
  fs::path root_;
  fs::path source_;
  std::string sourceBytes_;
  std::set<std::string> planted_;
  FakeKernel kernel_;
};

// --- what install writes ---

TEST_F(InstallTest, WritesTheBinaryExecutableAndIdenticalToTheSource) {
  const Outcome o = installFiles();
  ASSERT_EQ(o.status, 0) << o.error;
  ASSERT_TRUE(fs::is_regular_file(binary()));
  EXPECT_EQ(modeOf(binary()), 0755U);
  EXPECT_EQ(slurp(binary()), sourceBytes_);
}

TEST_F(InstallTest, CopiesTheRunningBinaryByDefault) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--underlay", "198.18.0.0/16", "--node-ip", "198.18.3.7", "--no-tunnel"},
                        {}, /*defaultBinary=*/true);
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_EQ(slurp(binary()), slurp("/proc/self/exe"));
  EXPECT_EQ(modeOf(binary()), 0755U);
}

TEST_F(InstallTest, WritesAConflistThePluginAccepts) {
  ASSERT_EQ(installFiles().status, 0);
  EXPECT_EQ(modeOf(conflist()), 0644U);
  const json c = conf();
  EXPECT_EQ(c["cniVersion"], "1.0.0");
  EXPECT_EQ(c["name"], "sixrd");
  ASSERT_EQ(c["plugins"].size(), 2U);
  const json& sixrd = c["plugins"][0];
  EXPECT_EQ(sixrd["type"], "sixrd");
  EXPECT_EQ(sixrd["prefix"], "fd00:10::/48");
  EXPECT_EQ(sixrd["underlay"], "198.18.0.0/16");
  EXPECT_EQ(sixrd["nodeIP"], "198.18.3.7");
  EXPECT_EQ(c["plugins"][1]["type"], "portmap");
  EXPECT_EQ(c["plugins"][1]["capabilities"]["portMappings"], true);

  // What the runtime would hand the plugin parses with the plugin's own parser.
  const cni::PluginConfig config = cni::parseConfig(pluginStdin(c).dump());
  EXPECT_EQ(ipam::formatPrefix(config.plan.prefix), "fd00:10::/48");
  EXPECT_EQ(config.name, "sixrd");
  ASSERT_TRUE(config.nodeIP.has_value());
  EXPECT_EQ(ipam::formatIpv4(*config.nodeIP), "198.18.3.7");
}

TEST_F(InstallTest, WritesOptionalSettingsOnlyWhenGiven) {
  ASSERT_EQ(installFiles({"--mtu", "1400", "--tunnel", "sx6", "--underlay-interface", "eth1",
                          "--data-dir", "/run/sx", "--log-file", "/var/log/sx.log",
                          "--network-name", "pods", "--cni-version", "1.0.0"})
                .status,
            0);
  const json c = conf();
  EXPECT_EQ(c["cniVersion"], "1.0.0");
  EXPECT_EQ(c["name"], "pods");
  const json& p = c["plugins"][0];
  EXPECT_EQ(p["mtu"], 1400);
  EXPECT_EQ(p["tunnel"], "sx6");
  EXPECT_EQ(p["underlayInterface"], "eth1");
  EXPECT_EQ(p["dataDir"], "/run/sx");
  EXPECT_EQ(p["log"]["file"], "/var/log/sx.log");

  fs::remove(conflist());
  ASSERT_EQ(installFiles().status, 0);
  for (const char* key : {"mtu", "tunnel", "underlayInterface", "dataDir", "log"}) {
    EXPECT_FALSE(conf()["plugins"][0].contains(key)) << key;
  }
}

TEST_F(InstallTest, ChainsPortmapBandwidthAndTuningWithTheirCapabilities) {
  ASSERT_EQ(installFiles({"--chain", "portmap,bandwidth,tuning"}).status, 0);
  const json plugins = conf()["plugins"];
  ASSERT_EQ(plugins.size(), 4U);
  EXPECT_EQ(plugins[1]["type"], "portmap");
  EXPECT_EQ(plugins[1]["capabilities"]["portMappings"], true);
  EXPECT_EQ(plugins[2]["type"], "bandwidth");
  EXPECT_EQ(plugins[2]["capabilities"]["bandwidth"], true);
  EXPECT_EQ(plugins[3]["type"], "tuning");
  EXPECT_EQ(plugins[3]["capabilities"]["mac"], true);
}

TEST_F(InstallTest, ChainNoneLeavesSixrdAlone) {
  ASSERT_EQ(installFiles({"--chain", "none"}).status, 0);
  EXPECT_EQ(conf()["plugins"].size(), 1U);
}

TEST_F(InstallTest, UnknownChainPluginIsRefusedAndNothingWritten) {
  const Outcome o = installFiles({"--chain", "portmap,flannel"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("--chain"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("flannel"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

// --- chained plugins and the list's CNI versions ---

TEST_F(InstallTest, TheListCarriesCniVersion100AndEveryVersionAllSpeak) {
  // CNI 1.1 runtimes (libcni >= 1.2) pick the highest of cniVersions; older ones read cniVersion,
  // and libcni < 1.2 parses results only up to 1.0.0.
  ASSERT_EQ(installFiles().status, 0);
  const json c = conf();
  EXPECT_EQ(c["cniVersion"], "1.0.0");
  EXPECT_EQ(c["cniVersions"], json({"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
  const std::string text = slurp(conflist());
  EXPECT_LT(text.find("\"cniVersion\""), text.find("\"cniVersions\""));
  EXPECT_LT(text.find("\"cniVersions\""), text.find("\"name\"")) << "right after cniVersion";
}

TEST_F(InstallTest, BookwormPluginsLeave110OutOfTheList) {
  plantPlugin(bin(), "portmap", kBookworm);
  const Outcome o = installFiles();
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_EQ(conf()["cniVersion"], "1.0.0");
  EXPECT_EQ(conf()["cniVersions"], json({"0.3.0", "0.3.1", "0.4.0", "1.0.0"}));
  EXPECT_NE(o.out.find("cniVersion 1.0.0"), std::string::npos) << o.out;
}

TEST_F(InstallTest, AnOldChainedPluginNegotiatesTheVersionDown) {
  plantPlugin(bin(), "bandwidth", {"0.3.0", "0.3.1", "0.4.0"});
  ASSERT_EQ(installFiles({"--chain", "portmap,bandwidth"}).status, 0);
  EXPECT_EQ(conf()["cniVersion"], "0.4.0");
  EXPECT_EQ(conf()["cniVersions"], json({"0.3.0", "0.3.1", "0.4.0"}));
  // What the runtime hands sixrd at that version parses.
  EXPECT_EQ(cni::parseConfig(pluginStdin(conf()).dump()).cniVersion, "0.4.0");
}

TEST_F(InstallTest, OnlyNewChainedPluginsGetTheLowestSharedVersion) {
  plantPlugin(bin(), "portmap", {"1.1.0"});
  ASSERT_EQ(installFiles().status, 0);
  EXPECT_EQ(conf()["cniVersion"], "1.1.0");
  EXPECT_EQ(conf()["cniVersions"], json({"1.1.0"}));
}

TEST_F(InstallTest, NoChainGetsEveryVersionSixrdSpeaks) {
  ASSERT_EQ(installFiles({"--chain", "none"}).status, 0);
  EXPECT_EQ(conf()["cniVersion"], "1.0.0");
  EXPECT_EQ(conf()["cniVersions"], json({"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
}

// The plugin's refusal of a value is mapped back to the flag that set it by the field its error
// carries (cni::Error::field()), whatever the message says.
struct RefusedValue {
  const char* flag;
  const char* value;
};
std::ostream& operator<<(std::ostream& os, const RefusedValue& r) { return os << r.flag; }

class InstallRefusal : public InstallTest, public ::testing::WithParamInterface<RefusedValue> {};
INSTANTIATE_TEST_SUITE_P(
    EveryConfigFlag, InstallRefusal,
    ::testing::Values(RefusedValue{"--prefix", "bad"}, RefusedValue{"--underlay", "198.18.0.0/33"},
                      RefusedValue{"--node-ip", "10.9.9.9"}, RefusedValue{"--mtu", "100"},
                      RefusedValue{"--tunnel", "a/b"}, RefusedValue{"--underlay-interface", "a/b"},
                      RefusedValue{"--data-dir", "relative"},
                      RefusedValue{"--log-file", "relative"},
                      RefusedValue{"--network-name", "a/b"}),
    [](const auto& info) {
      std::string name;
      for (const char c : std::string(info.param.flag)) {
        if (c != '-') name += c;
      }
      return name;
    });

TEST_P(InstallRefusal, IsAUsageErrorOnTheFlagThatSetTheField) {
  std::map<std::string, std::string> values = {
      {"--prefix", "fd00:10::/48"}, {"--underlay", "198.18.0.0/16"}, {"--node-ip", "198.18.3.7"}};
  values[GetParam().flag] = GetParam().value;
  std::vector<std::string> args = {"install", "--host-root", root_.string(), "--no-tunnel"};
  for (const auto& [flag, value] : values) {
    args.push_back(flag);
    args.push_back(value);
  }
  const Outcome o = run(args);
  EXPECT_FALSE(o.status.has_value());
  EXPECT_TRUE(o.usage) << o.error;
  EXPECT_EQ(o.field, GetParam().flag) << o.error;
  EXPECT_NE(o.error.find(std::string(GetParam().flag) + " (SIXRD_"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("the plugin would refuse this configuration"), std::string::npos)
      << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, APinnedVersionIsWrittenAloneWithoutAList) {
  ASSERT_EQ(installFiles({"--cni-version", "0.4.0"}).status, 0);
  EXPECT_EQ(conf()["cniVersion"], "0.4.0");
  EXPECT_FALSE(conf().contains("cniVersions"));
}

TEST_F(InstallTest, APinnedVersionAChainedPluginDoesNotSpeakIsRefused) {
  plantPlugin(bin(), "portmap", kBookworm);
  const Outcome o = installFiles({"--cni-version", "1.1.0"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_TRUE(o.usage) << "a usage error: exit 2";
  EXPECT_NE(o.error.find("--cni-version (SIXRD_CNI_VERSION) 1.1.0"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("portmap"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("0.4.0, 1.0.0"), std::string::npos) << "what portmap speaks: " << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, APinnedVersionSixrdDoesNotSpeakIsRefused) {
  const Outcome o = installFiles({"--cni-version", "0.2.0"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_TRUE(o.usage);
  EXPECT_NE(o.error.find("--cni-version (SIXRD_CNI_VERSION)"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, ChainedPluginsSharingNoVersionWithSixrdAreRefused) {
  plantPlugin(bin(), "portmap", {"0.1.0", "0.2.0"});
  const Outcome o = installFiles();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_TRUE(o.usage);
  EXPECT_NE(o.error.find("--chain (SIXRD_CHAIN)"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("portmap supports 0.1.0, 0.2.0"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AMissingChainedPluginIsRefusedNamingItAndTheDirectory) {
  fs::remove(bin() / "portmap");
  planted_ = listTree(root_);
  const Outcome o = installFiles();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("no portmap in the CNI plugin directory /opt/cni/bin"), std::string::npos)
      << o.error;
  EXPECT_NE(o.error.find("--chain (SIXRD_CHAIN)"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("nothing was written"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AMissingChainedPluginIsRefusedBeforeTheKernelIsTouched) {
  fs::remove(bin() / "portmap");
  const Outcome o = installWithTunnel();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_EQ(kernel_.datapaths, 0);
  EXPECT_FALSE(fs::exists(conflist()));
}

TEST_F(InstallTest, AChainedPluginIsLookedForInTheConfiguredBinDir) {
  const Outcome o = installFiles({"--cni-bin-dir", "/usr/lib/cni"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("no portmap in the CNI plugin directory /usr/lib/cni"), std::string::npos)
      << o.error;
  plantPlugin(root_ / "usr/lib/cni", "portmap", kBookworm);
  ASSERT_EQ(installFiles({"--cni-bin-dir", "/usr/lib/cni"}).status, 0);
  EXPECT_EQ(conf()["cniVersions"], json({"0.3.0", "0.3.1", "0.4.0", "1.0.0"}));
}

TEST_F(InstallTest, AChainedPluginThatIsNotExecutableIsRefused) {
  fs::permissions(bin() / "portmap", fs::perms(0644));
  planted_ = listTree(root_);
  const Outcome o = installFiles();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("is not an executable file"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AChainedPluginThatRefusesVersionIsRefused) {
  // A plugin too old for VERSION answers the way old skel did.
  plantScript(bin(), "portmap",
              "echo '{\"code\":4,\"msg\":\"unknown CNI_COMMAND: VERSION\"}'\nexit 1\n");
  const Outcome o = installFiles();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("does not answer CNI_COMMAND=VERSION (exited 1: unknown CNI_COMMAND: "
                         "VERSION)"),
            std::string::npos)
      << o.error;
  EXPECT_NE(o.error.find("portmap"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AChainedPluginAnsweringSomethingElseIsRefused) {
  for (const std::string& answer :
       {std::string("echo hello"), std::string("echo '{\"cniVersion\":\"1.0.0\"}'"),
        std::string("echo '{\"supportedVersions\":[1,2]}'"), std::string("true")}) {
    plantScript(bin(), "portmap", answer + "\n");
    const Outcome o = installFiles();
    EXPECT_FALSE(o.status.has_value()) << answer;
    EXPECT_NE(o.error.find("supportedVersions"), std::string::npos) << answer << ": " << o.error;
    EXPECT_FALSE(fs::exists(conflist())) << answer;
  }
}

TEST_F(InstallTest, AChainedPluginIsAskedTheWayLibcniAsks) {
  const fs::path seen = tmp_ / "seen";
  plantScript(bin(), "portmap",
              "env > " + (seen / "env").string() + "\ncat > " + (seen / "stdin").string() +
                  "\necho '{\"supportedVersions\":[\"1.0.0\"]}'\n");
  fs::create_directory(seen);
  ASSERT_EQ(installFiles().status, 0);
  const std::string env = slurp(seen / "env");
  EXPECT_NE(env.find("CNI_COMMAND=VERSION\n"), std::string::npos) << env;
  EXPECT_NE(env.find("CNI_PATH=" + bin().string() + "\n"), std::string::npos) << env;
  EXPECT_NE(env.find("CNI_NETNS=dummy\n"), std::string::npos) << env;
  EXPECT_EQ(json::parse(slurp(seen / "stdin")), json({{"cniVersion", "1.0.0"}}));
}

TEST_F(InstallTest, AChainedPluginThatHangsIsKilled) {
  plantScript(bin(), "portmap", "exec sleep 30\n");
  const auto start = std::chrono::steady_clock::now();
  try {
    static_cast<void>(queryPluginVersions(bin() / "portmap", "1.0.0", bin(), 300));
    ADD_FAILURE() << "no exception";
  } catch (const InstallError& e) {
    EXPECT_NE(std::string(e.what()).find("did not answer CNI_COMMAND=VERSION within 300 ms"),
              std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(InstallTest, AChainedPluginSymlinkIsFollowedInsideTheHostRoot) {
  // /opt/cni/bin/portmap -> /usr/lib/cni/portmap on the node: the host's path, not this process's.
  plantPlugin(root_ / "usr/lib/cni", "portmap", {"0.3.1", "0.4.0"});
  fs::remove(bin() / "portmap");
  fs::create_symlink("/usr/lib/cni/portmap", bin() / "portmap");
  ASSERT_EQ(installFiles().status, 0);
  EXPECT_EQ(conf()["cniVersion"], "0.4.0");
  EXPECT_EQ(conf()["cniVersions"], json({"0.3.1", "0.4.0"}));
}

TEST_F(InstallTest, AChainedPluginSymlinkLeadingOutOfSightIsAWarning) {
  fs::remove(bin() / "portmap");
  fs::create_symlink("/nix/store/x-cni-plugins/bin/portmap", bin() / "portmap");
  const Outcome o = installFiles();
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("warning: the CNI versions of the chained plugin portmap in /opt/cni/bin "
                       "were not checked: it leads to /nix/store/x-cni-plugins/bin/portmap, which "
                       "is not visible here"),
            std::string::npos)
      << o.out;
  EXPECT_EQ(conf()["cniVersion"], "1.0.0");
  EXPECT_FALSE(conf().contains("cniVersions")) << "nothing known to list";
}

TEST_F(InstallTest, AChainedPluginThatCannotStartHereIsAWarning) {
  // A dynamically linked host plugin run from the FROM-scratch image: exec finds no interpreter.
  plantScript(bin(), "portmap", "");
  std::ofstream(bin() / "portmap") << "#!/lib64/no-such-loader.so.2\n";
  const Outcome o = installFiles();
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("were not checked: " + (bin() / "portmap").string() +
                       " cannot be started from here"),
            std::string::npos)
      << o.out;
  EXPECT_EQ(conf()["cniVersion"], "1.0.0");
  EXPECT_FALSE(conf().contains("cniVersions"));
}

TEST_F(InstallTest, ThePluginAcceptsWhatARuntimeHandsItFromTheList) {
  ASSERT_EQ(installFiles().status, 0);
  // A CNI 1.1 runtime injects the version it picked from cniVersions; an old one the list's
  // cniVersion. Neither passes list-level keys on, but a stray cniVersions must not matter.
  for (const auto& version : conf()["cniVersions"]) {
    json in = pluginStdin(conf());
    in["cniVersion"] = version;
    in["cniVersions"] = conf()["cniVersions"];
    EXPECT_EQ(cni::parseConfig(in.dump()).cniVersion, version.get<std::string>());
  }
}

// --- the pod MTU against the underlay ---

TEST_F(InstallTest, AnMtuAboveTheNamedInterfaceIsRefusedWithoutTheTunnelToo) {
  kernel_.underlayMtu = 1500;
  const Outcome o = installFiles({"--underlay-interface", "eth0", "--mtu", "9000"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_TRUE(o.usage);
  EXPECT_NE(o.error.find("--mtu (SIXRD_MTU)"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("1480"), std::string::npos) << o.error;
  EXPECT_TRUE(kernel_.ensured.empty());
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AnMtuBelowTheNamedInterfaceIsWrittenWithoutTheTunnel) {
  kernel_.underlayMtu = 9000;
  const Outcome o = installFiles({"--underlay-interface", "eth0", "--mtu", "8980"});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_EQ(conf()["plugins"][0]["mtu"], 8980);
  EXPECT_EQ(o.out.find("warning"), std::string::npos) << o.out;
  EXPECT_TRUE(kernel_.ensured.empty());
}

TEST_F(InstallTest, AnMtuThatCannotBeCheckedIsAWarning) {
  const Outcome o = installFiles({"--mtu", "9000"});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("warning: --mtu (SIXRD_MTU) 9000 is not checked against the underlay"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("--underlay-interface"), std::string::npos) << o.out;
  EXPECT_EQ(kernel_.datapaths, 0) << "--no-tunnel and --node-ip: the node is not looked at";
}

TEST_F(InstallTest, AnMtuOnANodeWhoseInterfaceIsElsewhereIsAWarning) {
  // A file-only install prepared on another machine: the node IPv4 is not here.
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--underlay", "198.18.0.0/16", "--node-ip", "198.18.9.9", "--no-tunnel",
                         "--underlay-interface", "eth0", "--mtu", "1400"});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("warning: --mtu (SIXRD_MTU) 1400 is not checked"), std::string::npos)
      << o.out;
}

// --- the cluster's service CIDR ---

TEST_F(InstallTest, AServiceCidrInsideThePrefixIsWarnedLoudly) {
  // kind's IPv6 service subnet inside a prefix that looks like kind's own addresses.
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/32",
                         "--underlay", "198.18.0.0/16", "--node-ip", "198.18.3.7", "--no-tunnel",
                         "--service-cidr", "10.96.0.0/12, fd00:10:96::/112"});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("warning: SERVICE CIDR OVERLAP: the service CIDR fd00:10:96::/112 "
                       "(--service-cidr (SIXRD_SERVICE_CIDR)) overlaps the pod prefix "
                       "fd00:10::/32"),
            std::string::npos)
      << o.out;
}

TEST_F(InstallTest, AServiceCidrAroundThePrefixIsWarned) {
  const Outcome o = installFiles({"--service-cidr", "fd00::/16"});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("SERVICE CIDR OVERLAP"), std::string::npos) << o.out;
}

TEST_F(InstallTest, AServiceCidrOutsideThePrefixIsFine) {
  const Outcome o = installFiles({"--service-cidr", "10.96.0.0/12,fd00:96::/112"});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_EQ(o.out.find("warning"), std::string::npos) << o.out;
}

TEST_F(InstallTest, AServiceCidrThatIsNotACidrIsAUsageError) {
  const Outcome o = installFiles({"--service-cidr", "fd00:10:96::/300"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_TRUE(o.usage);
  EXPECT_NE(o.error.find("--service-cidr (SIXRD_SERVICE_CIDR) \"fd00:10:96::/300\""),
            std::string::npos)
      << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, TheKubernetesServiceInsideThePrefixIsWarned) {
  // In a pod the kubelet sets KUBERNETES_SERVICE_HOST to the first address of the service CIDR.
  const std::map<std::string, std::string> env = {{"SIXRD_PREFIX", "fd00:10::/32"},
                                                  {"SIXRD_UNDERLAY", "198.18.0.0/16"},
                                                  {"SIXRD_NODE_IP", "198.18.3.7"},
                                                  {"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"}};
  const Outcome o = run({"install", "--host-root", root_.string(), "--no-tunnel"}, env);
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("warning: SERVICE CIDR OVERLAP: the kubernetes Service's ClusterIP "
                       "fd00:10:96::1 (KUBERNETES_SERVICE_HOST"),
            std::string::npos)
      << o.out;

  for (const char* host : {"10.96.0.1", "fd00:96::1", "fd00:11:96::1"}) {
    auto outside = env;
    outside["KUBERNETES_SERVICE_HOST"] = host;
    const Outcome ok = run({"install", "--host-root", root_.string(), "--no-tunnel"}, outside);
    ASSERT_EQ(ok.status, 0) << ok.error;
    EXPECT_EQ(ok.out.find("SERVICE CIDR OVERLAP"), std::string::npos) << host << ": " << ok.out;
  }
}

// --- atomic, idempotent writes ---

TEST_F(InstallTest, LeavesNoTemporaryFiles) {
  ASSERT_EQ(installFiles().status, 0);
  EXPECT_EQ(listDir(root_ / "opt/cni/bin"),
            (std::set<std::string>{"sixrd", "portmap", "bandwidth", "tuning"}));
  EXPECT_EQ(listDir(root_ / "etc/cni/net.d"), std::set<std::string>{"10-sixrd.conflist"});
}

TEST_F(InstallTest, ReplacesAnExistingConflistByRenameNeverInPlace) {
  fs::create_directories(conflist().parent_path());
  const std::string old = R"({"cniVersion":"1.0.0","name":"old","plugins":[{"type":"sixrd"}]})";
  std::ofstream(conflist()) << old;
  const ino_t oldInode = statOf(conflist()).st_ino;
  // A reader that opened the old file before the install (a runtime in the middle of a read).
  const int reader = ::open(conflist().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(reader, 0);

  ASSERT_EQ(installFiles().status, 0);

  EXPECT_NE(statOf(conflist()).st_ino, oldInode) << "the new conflist must be a new file";
  std::string seen(old.size() + 10, '\0');
  const ssize_t n = ::pread(reader, seen.data(), seen.size(), 0);
  ::close(reader);
  ASSERT_GE(n, 0);
  seen.resize(static_cast<std::size_t>(n));
  EXPECT_EQ(seen, old) << "the old file was truncated or overwritten in place";
  EXPECT_EQ(conf()["name"], "sixrd");
}

TEST_F(InstallTest, ReplacesABinaryThatIsDifferentByRename) {
  fs::create_directories(binary().parent_path());
  std::ofstream(binary()) << "an older sixrd";
  fs::permissions(binary(), fs::perms(0755));
  const ino_t oldInode = statOf(binary()).st_ino;
  ASSERT_EQ(installFiles().status, 0);
  EXPECT_NE(statOf(binary()).st_ino, oldInode);
  EXPECT_EQ(slurp(binary()), sourceBytes_);
}

TEST_F(InstallTest, AFailedWriteLeavesNoTemporaryFile) {
  // A directory where the conflist belongs: the final rename fails.
  fs::create_directories(conflist() / "occupied");
  const Outcome o = installFiles();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find(conflist().string()), std::string::npos) << o.error;
  EXPECT_EQ(listDir(conflist().parent_path()), std::set<std::string>{"10-sixrd.conflist"});
  EXPECT_TRUE(fs::is_directory(conflist()));
}

TEST_F(InstallTest, SecondRunWithSameInputsChangesNothing) {
  ASSERT_EQ(installFiles().status, 0);
  const std::string firstConflist = slurp(conflist());
  const struct stat bin1 = statOf(binary());
  const struct stat conf1 = statOf(conflist());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  const Outcome second = installFiles();
  ASSERT_EQ(second.status, 0) << second.error;
  EXPECT_EQ(slurp(conflist()), firstConflist);
  const struct stat bin2 = statOf(binary());
  const struct stat conf2 = statOf(conflist());
  EXPECT_EQ(bin2.st_ino, bin1.st_ino);
  EXPECT_EQ(bin2.st_mtim.tv_sec, bin1.st_mtim.tv_sec);
  EXPECT_EQ(bin2.st_mtim.tv_nsec, bin1.st_mtim.tv_nsec);
  EXPECT_EQ(conf2.st_ino, conf1.st_ino);
  EXPECT_NE(second.out.find("already up to date"), std::string::npos) << second.out;
}

TEST_F(InstallTest, ChangedInputsRewriteTheConflist) {
  ASSERT_EQ(installFiles().status, 0);
  ASSERT_EQ(installFiles({"--mtu", "1400"}).status, 0);
  EXPECT_EQ(conf()["plugins"][0]["mtu"], 1400);
}

TEST_F(InstallTest, RestoresTheModeOfAnIdenticalBinary) {
  ASSERT_EQ(installFiles().status, 0);
  fs::permissions(binary(), fs::perms(0700));
  ASSERT_EQ(installFiles().status, 0);
  EXPECT_EQ(modeOf(binary()), 0755U);
}

// --- validation before anything is written ---

TEST_F(InstallTest, ABrokenSixrdRuleIsRefusedBeforeAnythingIsWritten) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/60",
                         "--underlay", "10.20.0.0/16", "--node-ip", "10.20.3.7", "--no-tunnel"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("64"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("--prefix"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, ABrokenSixrdRuleIsRefusedBeforeTheKernelIsTouched) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/60",
                         "--underlay", "10.20.0.0/16"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_EQ(kernel_.datapaths, 0);
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AMissingPrefixNamesTheFlagAndTheVariable) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--underlay", "198.18.0.0/16",
                         "--node-ip", "198.18.3.7", "--no-tunnel"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("--prefix"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("SIXRD_PREFIX"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AMissingUnderlayNamesTheFlagAndTheVariable) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--node-ip", "198.18.3.7", "--no-tunnel"});
  EXPECT_NE(o.error.find("--underlay"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("SIXRD_UNDERLAY"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, ANodeIpOutsideTheUnderlayNamesItsFlag) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--underlay", "198.18.0.0/16", "--node-ip", "10.1.2.3", "--no-tunnel"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("--node-ip (SIXRD_NODE_IP)"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("outside underlay"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AnIpv6NodeIpFromTheEnvironmentFallsBackToTheNodesIpv4) {
  // status.hostIP of an IPv6-primary node, as the DaemonSet passes it.
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--underlay", "198.18.0.0/16"},
                        {{"SIXRD_NODE_IP", "2001:db8::7"}});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_FALSE(conf()["plugins"][0].contains("nodeIP")) << "found on the node at every ADD";
  ASSERT_EQ(kernel_.resolved.size(), 1U);
  EXPECT_FALSE(kernel_.resolved[0].nodeIp.has_value()) << "resolved without the IPv6 hint";
}

// The DaemonSet passes status.hostIP: where the kubelet talks on a management network, that is
// outside the underlay. A hint, not an order.
TEST_F(InstallTest, AKubeletAddressOutsideTheUnderlayIsAWarningAndTheNodeIsFound) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--underlay", "198.18.0.0/16"},
                        {{"SIXRD_NODE_IP", "192.168.50.7"}});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("warning: SIXRD_NODE_IP=192.168.50.7 (the kubelet's address) is outside "
                       "underlay 198.18.0.0/16"),
            std::string::npos)
      << o.out;
  ASSERT_FALSE(kernel_.resolved.empty());
  EXPECT_FALSE(kernel_.resolved[0].nodeIp.has_value());
  EXPECT_FALSE(conf()["plugins"][0].contains("nodeIP"));
  EXPECT_FALSE(conf()["plugins"][0].contains("underlayInterface"));
  EXPECT_TRUE(kernel_.tunnelUp);
  EXPECT_NE(o.out.find("node 198.18.3.7 has fd00:10:0:307::/64"), std::string::npos) << o.out;
}

TEST_F(InstallTest, AKubeletAddressThatIsNotTheNodesIsAWarning) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--underlay", "198.18.0.0/16"},
                        {{"SIXRD_NODE_IP", "198.18.9.9"}});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("SIXRD_NODE_IP=198.18.9.9 (the kubelet's address) is not the node IPv4"),
            std::string::npos)
      << o.out;
  EXPECT_FALSE(conf()["plugins"][0].contains("nodeIP"));
}

TEST_F(InstallTest, AKubeletAddressDecidesBetweenCandidatesByPinningItsInterface) {
  kernel_.ambiguous = true;
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--underlay", "198.18.0.0/16"},
                        {{"SIXRD_NODE_IP", "198.18.3.7"}});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_EQ(conf()["plugins"][0]["underlayInterface"], "eth0");
  EXPECT_FALSE(conf()["plugins"][0].contains("nodeIP")) << "the interface is enough";
  EXPECT_NE(o.out.find("decides: underlayInterface eth0 is written"), std::string::npos) << o.out;
}

TEST_F(InstallTest, WithoutAHintAnAmbiguousNodeFailsNamingTheFlags) {
  kernel_.ambiguous = true;
  const Outcome o = installWithTunnel();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("more than one IPv4 address"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

// After the node's IPv4 changed, pods ADDed before hold addresses of the old /64: status names
// them.
TEST_F(InstallTest, StatusNamesPodsHoldingAnAddressOfAnOldNode64) {
  ASSERT_EQ(installWithTunnel().status, 0);
  ipam::LeaseStore store(root_ / "run/sixrd", "sixrd");
  const auto old64 =
      ipam::nodePrefix(ipam::SixrdPlan::make(ipam::parseIpv6Prefix("fd00:10::/48", "p"),
                                             ipam::parseIpv4Subnet("198.18.0.0/16", "u")),
                       ipam::parseIpv4("198.18.1.5", "old"));
  const ipam::Lease stale = store.acquire({"oldpod", "eth0"}, old64.node64);
  const Outcome current = run({"status", "--host-root", root_.string()});
  ASSERT_EQ(current.status, 0) << current.error << current.out;
  EXPECT_NE(current.out.find("node 198.18.3.7 with fd00:10:0:307::/64"), std::string::npos)
      << current.out;
  EXPECT_NE(current.out.find("1 pod(s) still hold an address outside this node's "
                             "fd00:10:0:307::/64"),
            std::string::npos)
      << current.out;
  EXPECT_NE(current.out.find(ipam::formatIpv6(stale.address) + " (container oldpod, eth0)"),
            std::string::npos)
      << current.out;
  // A pod inside the current /64 is not named.
  static_cast<void>(store.acquire(
      {"newpod", "eth0"},
      ipam::nodePrefix(ipam::SixrdPlan::make(ipam::parseIpv6Prefix("fd00:10::/48", "p"),
                                             ipam::parseIpv4Subnet("198.18.0.0/16", "u")),
                       kernel_.hostIp)
          .node64));
  const Outcome again = run({"status", "--host-root", root_.string()});
  EXPECT_EQ(again.out.find("newpod"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("1 pod(s)"), std::string::npos) << again.out;
}

TEST_F(InstallTest, AnIpv6NodeIpFlagIsRefusedNamingIt) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--underlay", "198.18.0.0/16", "--node-ip", "2001:db8::7"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("--node-ip (SIXRD_NODE_IP)"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AnMtuThatIsNotANumberNamesItsVariable) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--no-tunnel"},
                        {{"SIXRD_PREFIX", "fd00:10::/48"},
                         {"SIXRD_UNDERLAY", "198.18.0.0/16"},
                         {"SIXRD_NODE_IP", "198.18.3.7"},
                         {"SIXRD_MTU", "big"}});
  EXPECT_NE(o.error.find("SIXRD_MTU"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("not an integer"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, AnMtuAboveTheUnderlayLimitIsRefused) {
  kernel_.underlayMtu = 1500;
  const Outcome o = installWithTunnel({"--mtu", "1490"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("--mtu (SIXRD_MTU)"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("1480"), std::string::npos) << o.error;
  EXPECT_TRUE(kernel_.ensured.empty());
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, BadPathsAreRefused) {
  EXPECT_NE(installFiles({"--cni-bin-dir", "opt/cni/bin"}).error.find("--cni-bin-dir"),
            std::string::npos);
  EXPECT_NE(installFiles({"--conflist-name", "10-sixrd.conf"}).error.find("--conflist-name"),
            std::string::npos);
  EXPECT_NE(installFiles({"--conflist-name", "../10-sixrd.conflist"}).error.find(".conflist"),
            std::string::npos);
  EXPECT_TRUE(rootIsEmpty());
}

// --- environment fallbacks ---

TEST_F(InstallTest, EveryInputFallsBackToItsEnvironmentVariable) {
  plantPlugin(root_ / "usr/lib/cni", "bandwidth", kModern);
  const Outcome o = run({"install"}, {{"SIXRD_HOST_ROOT", root_.string()},
                                      {"SIXRD_PREFIX", "fd00:20::/40"},
                                      {"SIXRD_UNDERLAY", "198.18.0.0/16"},
                                      {"SIXRD_NODE_IP", "198.18.3.7"},
                                      {"SIXRD_MTU", "1400"},
                                      {"SIXRD_TUNNEL", "sx1"},
                                      {"SIXRD_UNDERLAY_INTERFACE", "eth7"},
                                      {"SIXRD_NETWORK_NAME", "net1"},
                                      {"SIXRD_CNI_VERSION", "0.4.0"},
                                      {"SIXRD_CHAIN", "bandwidth"},
                                      {"SIXRD_DATA_DIR", "/run/x"},
                                      {"SIXRD_LOG_FILE", "/var/log/x.log"},
                                      {"SIXRD_CONFLIST_NAME", "20-x.conflist"},
                                      {"SIXRD_CNI_BIN_DIR", "/usr/lib/cni"},
                                      {"SIXRD_CNI_CONF_DIR", "/etc/cni/other"},
                                      {"SIXRD_SERVICE_CIDR", "fd00:20:0:96::/112"},
                                      {"SIXRD_NO_TUNNEL", "true"}});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_TRUE(kernel_.ensured.empty()) << "SIXRD_NO_TUNNEL=true: the tunnel is not touched";
  ASSERT_EQ(kernel_.resolved.size(), 1U) << "the MTU of SIXRD_UNDERLAY_INTERFACE is looked up";
  EXPECT_EQ(kernel_.resolved[0].underlayInterface, "eth7");
  EXPECT_NE(o.out.find("SERVICE CIDR OVERLAP: the service CIDR fd00:20:0:96::/112"),
            std::string::npos)
      << o.out;
  EXPECT_EQ(slurp(root_ / "usr/lib/cni/sixrd"), sourceBytes_);
  const json c = json::parse(slurp(root_ / "etc/cni/other/20-x.conflist"));
  EXPECT_EQ(c["cniVersion"], "0.4.0");
  EXPECT_EQ(c["name"], "net1");
  const json& p = c["plugins"][0];
  EXPECT_EQ(p["prefix"], "fd00:20::/40");
  EXPECT_EQ(p["underlay"], "198.18.0.0/16");
  EXPECT_FALSE(p.contains("nodeIP")) << "SIXRD_NODE_IP is a hint, never pinned";
  EXPECT_EQ(p["mtu"], 1400);
  EXPECT_EQ(p["tunnel"], "sx1");
  EXPECT_EQ(p["underlayInterface"], "eth7");
  EXPECT_EQ(p["dataDir"], "/run/x");
  EXPECT_EQ(p["log"]["file"], "/var/log/x.log");
  EXPECT_EQ(c["plugins"][1]["type"], "bandwidth");
}

TEST_F(InstallTest, AFlagWinsOverItsEnvironmentVariable) {
  const Outcome withEnv =
      run({"install", "--host-root", root_.string(), "--prefix", "fd00:40::/48", "--no-tunnel"},
          {{"SIXRD_PREFIX", "fd00:99::/48"},
           {"SIXRD_UNDERLAY", "198.18.0.0/16"},
           {"SIXRD_NODE_IP", "198.18.3.7"}});
  ASSERT_EQ(withEnv.status, 0) << withEnv.error;
  EXPECT_EQ(conf()["plugins"][0]["prefix"], "fd00:40::/48");
}

TEST_F(InstallTest, AnEmptyVariableCountsAsUnset) {
  // A ConfigMap key left empty means "use the default".
  const Outcome o = run({"install", "--host-root", root_.string(), "--no-tunnel"},
                        {{"SIXRD_PREFIX", "fd00:10::/48"},
                         {"SIXRD_UNDERLAY", "198.18.0.0/16"},
                         {"SIXRD_NODE_IP", "198.18.3.7"},
                         {"SIXRD_MTU", ""},
                         {"SIXRD_CHAIN", ""}});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_FALSE(conf()["plugins"][0].contains("mtu"));
  EXPECT_EQ(conf()["plugins"][1]["type"], "portmap");

  const Outcome missing = run({"install", "--host-root", root_.string(), "--no-tunnel"},
                              {{"SIXRD_PREFIX", ""}, {"SIXRD_UNDERLAY", "198.18.0.0/16"}});
  EXPECT_NE(missing.error.find("SIXRD_PREFIX"), std::string::npos) << missing.error;
}

// --- the node and its tunnel ---

TEST_F(InstallTest, FindsTheNodeIpOnTheNodeWhenNotGiven) {
  const Outcome o = run({"install", "--host-root", root_.string(), "--prefix", "fd00:10::/48",
                         "--underlay", "198.18.0.0/16", "--no-tunnel"});
  ASSERT_EQ(o.status, 0) << o.error;
  ASSERT_EQ(kernel_.resolved.size(), 1U);
  EXPECT_FALSE(kernel_.resolved[0].nodeIp.has_value());
  EXPECT_FALSE(conf()["plugins"][0].contains("nodeIP")) << "an address the node can lose";
  EXPECT_NE(o.out.find("node 198.18.3.7 has"), std::string::npos) << o.out;
  EXPECT_TRUE(kernel_.ensured.empty()) << "--no-tunnel";
  EXPECT_NE(o.out.find("fd00:10:0:307::/64"), std::string::npos) << o.out;
}

TEST_F(InstallTest, ANodeWithoutAnUnderlayAddressFailsNamingTheFlags) {
  kernel_.noIpv4 = true;
  const Outcome o = installWithTunnel();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("--node-ip (SIXRD_NODE_IP)"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, BringsTheTunnelUpWithTheNodeSpecThePluginUses) {
  const Outcome o = installWithTunnel({"--tunnel", "sx9", "--underlay-interface", "eth0"});
  ASSERT_EQ(o.status, 0) << o.error;
  ASSERT_EQ(kernel_.ensured.size(), 1U);
  EXPECT_TRUE(kernel_.tunnelUp);
  EXPECT_NE(o.out.find("tunnel sx9 brought up"), std::string::npos) << o.out;

  // The plugin's STATUS resolves the node from the written conflist: same spec.
  const Outcome s = run({"status", "--host-root", root_.string()});
  ASSERT_EQ(s.status, 0) << s.error << s.out;
  const tunnel::NodeSpec& mine = kernel_.ensured[0];
  const tunnel::NodeSpec& plugins = kernel_.resolved.back();
  EXPECT_EQ(mine.plan.prefix, plugins.plan.prefix);
  EXPECT_EQ(mine.plan.underlay, plugins.plan.underlay);
  EXPECT_EQ(mine.nodeIp, plugins.nodeIp);
  EXPECT_EQ(mine.underlayInterface, plugins.underlayInterface);
  EXPECT_EQ(mine.tunnel, plugins.tunnel);
  EXPECT_EQ(mine.ttl, plugins.ttl);
  EXPECT_EQ(mine.tunnel, "sx9");
}

TEST_F(InstallTest, AKernelWithoutSitFailsClearlyAndNothingIsWritten) {
  kernel_.sit = false;
  const Outcome o = installWithTunnel();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("no sit/6rd support"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("modprobe sit"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("CONFIG_IPV6_SIT_6RD"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("--no-tunnel"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("nothing was written"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, NoTunnelInstallsOnAKernelWithoutSit) {
  kernel_.sit = false;
  const Outcome o = installFiles();
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_EQ(kernel_.datapaths, 0);
  EXPECT_TRUE(fs::exists(conflist()));
}

TEST_F(InstallTest, AReadOnlyProcSysIsOnlyAWarning) {
  kernel_.procSysReadOnly = true;
  const Outcome o = installWithTunnel();
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("warning: IPv6 forwarding is off"), std::string::npos) << o.out;
  EXPECT_TRUE(fs::exists(conflist()));
}

TEST_F(InstallTest, AReadOnlyProcSysWithAnotherProblemFails) {
  kernel_.procSysReadOnly = true;
  kernel_.otherProblems = {"sixrd0 mtu is 1400, want 1480"};
  const Outcome o = installWithTunnel();
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("forwarding"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
}

TEST_F(InstallTest, WarnsWhenAnotherConfigurationSortsFirst) {
  fs::create_directories(conflist().parent_path());
  std::ofstream(conflist().parent_path() / "05-other.conflist") << "{}";
  const Outcome o = installFiles();
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_NE(o.out.find("warning: 05-other.conflist sorts before 10-sixrd.conflist"),
            std::string::npos)
      << o.out;
}

// --- uninstall ---

TEST_F(InstallTest, UninstallRemovesBothFilesAndIsIdempotent) {
  ASSERT_EQ(installFiles().status, 0);
  const Outcome first = run({"uninstall", "--host-root", root_.string()});
  ASSERT_EQ(first.status, 0) << first.error;
  EXPECT_FALSE(fs::exists(binary()));
  EXPECT_FALSE(fs::exists(conflist()));
  EXPECT_NE(first.out.find("removed"), std::string::npos);

  const Outcome second = run({"uninstall", "--host-root", root_.string()});
  ASSERT_EQ(second.status, 0) << second.error;
  EXPECT_NE(second.out.find("was not there"), std::string::npos) << second.out;
}

TEST_F(InstallTest, UninstallLeavesSomeoneElsesConflist) {
  ASSERT_EQ(installFiles().status, 0);
  std::ofstream(conflist()) << R"({"cniVersion":"1.0.0","name":"x","plugins":[{"type":"bridge"}]})";
  const Outcome o = run({"uninstall", "--host-root", root_.string()});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("not a sixrd network configuration"), std::string::npos) << o.error;
  EXPECT_TRUE(fs::exists(conflist()));
  EXPECT_TRUE(fs::exists(binary()));
}

TEST_F(InstallTest, UninstallLeavesTheTunnelByDefault) {
  ASSERT_EQ(installWithTunnel().status, 0);
  const Outcome o = run({"uninstall", "--host-root", root_.string()});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_TRUE(kernel_.tunnelUp);
  EXPECT_TRUE(kernel_.removedTunnels.empty());
  EXPECT_NE(o.out.find("--remove-tunnel"), std::string::npos) << o.out;
}

TEST_F(InstallTest, UninstallRemoveTunnelRemovesItWhenNoPodHoldsIt) {
  ASSERT_EQ(installWithTunnel({"--tunnel", "sx9"}).status, 0);
  const Outcome o = run({"uninstall", "--host-root", root_.string(), "--remove-tunnel"});
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_EQ(kernel_.removedTunnels, std::vector<std::string>{"sx9"}) << "the conflist's tunnel";
  // Only the conflist's network's tunnel goes: its owner mark, or unmarked with its 6rd prefix.
  EXPECT_EQ(kernel_.removedFor, std::vector<std::string>{"sixrd fd00:10::/48"});
  EXPECT_FALSE(fs::exists(conflist()));
  EXPECT_FALSE(fs::exists(binary()));
  EXPECT_NE(o.out.find("removed sit device sx9"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("removed route unreachable"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("IPv6 forwarding (net.ipv6.conf.all.forwarding) and the sit module are "
                       "left as they are"),
            std::string::npos)
      << o.out;

  // Again: nothing left, still success.
  const Outcome again = run({"uninstall", "--host-root", root_.string(), "--remove-tunnel"});
  ASSERT_EQ(again.status, 0) << again.error;
  EXPECT_NE(again.out.find("tunnel sixrd0 was not there"), std::string::npos) << again.out;
}

TEST_F(InstallTest, UninstallRemoveTunnelRefusesWhileAPodVethExists) {
  ASSERT_EQ(installWithTunnel().status, 0);
  kernel_.veths.push_back({"sx0123456789ab", "sixrd/sixrd/eth0/c0ffee"});
  const Outcome o = run({"uninstall", "--host-root", root_.string(), "--remove-tunnel"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("tunnel sixrd0 is still in use"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("host veth sx0123456789ab (sixrd/sixrd/eth0/c0ffee)"), std::string::npos)
      << o.error;
  EXPECT_NE(o.error.find("nothing was removed"), std::string::npos) << o.error;
  EXPECT_TRUE(kernel_.tunnelUp);
  EXPECT_TRUE(fs::exists(conflist())) << "the runtime still needs it to DEL those pods";
  EXPECT_TRUE(fs::exists(binary()));
}

TEST_F(InstallTest, UninstallRemoveTunnelRefusesWhileALeaseExists) {
  ASSERT_EQ(installWithTunnel().status, 0);
  ipam::LeaseStore store(root_ / "run/sixrd", "sixrd");
  const ipam::Lease lease =
      store.acquire({"c0ffee", "eth0"}, ipam::parseIpv6Prefix("fd00:10:0:307::/64", "node64"));
  const Outcome o = run({"uninstall", "--host-root", root_.string(), "--remove-tunnel"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(
      o.error.find("lease " + ipam::formatIpv6(lease.address) + " of container c0ffee (eth0)"),
      std::string::npos)
      << o.error;
  EXPECT_TRUE(kernel_.tunnelUp);
  EXPECT_TRUE(fs::exists(conflist()));

  store.release({"c0ffee", "eth0"});
  EXPECT_EQ(run({"uninstall", "--host-root", root_.string(), "--remove-tunnel"}).status, 0);
  EXPECT_FALSE(kernel_.tunnelUp);
}

TEST_F(InstallTest, UninstallRemoveTunnelWithoutAConflistChecksEveryNetworksLeases) {
  ASSERT_EQ(installWithTunnel().status, 0);
  ASSERT_EQ(run({"uninstall", "--host-root", root_.string()}).status, 0);
  ipam::LeaseStore(root_ / "run/sixrd", "other")
      .acquire({"c0ffee", "eth1"}, ipam::parseIpv6Prefix("fd00:10:0:307::/64", "node64"));
  const Outcome o = run({"uninstall", "--host-root", root_.string(), "--remove-tunnel"});
  EXPECT_FALSE(o.status.has_value());
  EXPECT_NE(o.error.find("of container c0ffee (eth1)"), std::string::npos) << o.error;
  EXPECT_TRUE(kernel_.tunnelUp);
}

// --- status (the liveness probe) ---

TEST_F(InstallTest, StatusIsReadyWhenThePluginCanServeAdd) {
  ASSERT_EQ(installFiles().status, 0);
  const Outcome o = run({"status", "--host-root", root_.string()});
  ASSERT_EQ(o.status, 0) << o.error << o.out;
  EXPECT_NE(o.out.find("ready: network sixrd can serve ADD"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("fd00:10:0:307::/64"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find('\n'), o.out.size() - 1) << "one line";
}

TEST_F(InstallTest, StatusIsNotReadyWithoutSit) {
  ASSERT_EQ(installFiles().status, 0);
  kernel_.sit = false;
  const Outcome o = run({"status", "--host-root", root_.string()});
  EXPECT_EQ(o.status, 1) << o.error;
  EXPECT_NE(o.out.find("not ready"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("sit"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("CNI error 50"), std::string::npos) << o.out;
}

TEST_F(InstallTest, StatusIsNotReadyWhenTheNodeIsGone) {
  ASSERT_EQ(installFiles().status, 0);
  kernel_.noIpv4 = true;
  const Outcome o = run({"status", "--host-root", root_.string()});
  EXPECT_EQ(o.status, 1);
  EXPECT_NE(o.out.find("not ready: cannot serve ADD"), std::string::npos) << o.out;
}

TEST_F(InstallTest, StatusIsNotReadyWithoutAConfiguration) {
  const Outcome o = run({"status", "--host-root", root_.string()});
  EXPECT_EQ(o.status, 1);
  EXPECT_NE(o.out.find("no network configuration at"), std::string::npos) << o.out;
}

TEST_F(InstallTest, StatusReadsAConfFileOfAnyVersion) {
  const fs::path file = tmp_ / "sixrd.conf";
  std::ofstream(file) << R"({"cniVersion":"0.4.0","name":"old","type":"sixrd",)"
                         R"("prefix":"fd00:10::/48","underlay":"198.18.0.0/16"})";
  const Outcome o = run({"status", "--conf", file.string()});
  EXPECT_EQ(o.status, 0) << o.error << o.out;
  EXPECT_NE(o.out.find("network old"), std::string::npos) << o.out;
}

// --- daemon ---

TEST_F(InstallTest, DaemonRepairsTheTunnelEveryRound) {
  ASSERT_EQ(installFiles().status, 0);
  Context context;
  context.makeDatapath = [this] { return std::make_unique<FakeDatapath>(kernel_); };
  DaemonSettings settings;
  settings.conf = conflist();
  settings.intervalSeconds = 1;
  settings.rounds = 2;
  EXPECT_EQ(runDaemon(settings, context), 0);
  EXPECT_EQ(kernel_.ensured.size(), 2U);
  EXPECT_TRUE(kernel_.tunnelUp);
}

// The daemon writes the heartbeat where `sixrd status --liveness` with the same flags looks.
TEST_F(InstallTest, DaemonHeartbeatIsWhatStatusLivenessReads) {
  ASSERT_EQ(installFiles().status, 0);
  const Outcome before = run({"status", "--liveness", "--host-root", root_.string()});
  EXPECT_EQ(before.status, 1) << "no daemon has run: " << before.out;
  EXPECT_NE(before.out.find("no heartbeat file"), std::string::npos) << before.out;

  Context context;
  context.makeDatapath = [this] { return std::make_unique<FakeDatapath>(kernel_); };
  DaemonSettings settings;
  settings.conf = conflist();
  settings.hostRoot = root_;
  settings.intervalSeconds = 1;
  settings.rounds = 2;
  settings.heartbeat = defaultHeartbeatPath(root_, conflist());
  ASSERT_EQ(runDaemon(settings, context), 0);
  const Heartbeat beat = readHeartbeat(settings.heartbeat);
  EXPECT_EQ(beat.round, 2);
  EXPECT_EQ(beat.pid, ::getpid());
  EXPECT_EQ(beat.intervalSeconds, 1);

  const Outcome alive = run({"status", "--liveness", "--host-root", root_.string()});
  EXPECT_EQ(alive.status, 0) << alive.out;
  EXPECT_NE(alive.out.find("sixrd status: alive"), std::string::npos) << alive.out;

  // A daemon that stopped going round: its last heartbeat ages past 3 rounds.
  writeHeartbeat(settings.heartbeat, {beat.pid, beat.round, 1, bootSeconds() - 10});
  const Outcome stuck = run({"status", "--liveness", "--host-root", root_.string()});
  EXPECT_EQ(stuck.status, 1) << stuck.out;
  EXPECT_NE(stuck.out.find("sixrd status: stuck"), std::string::npos) << stuck.out;

  // --heartbeat points both at another file.
  const fs::path other = tmp_ / "hb";
  writeHeartbeat(other, {1, 1, 60, bootSeconds()});
  const Outcome given = run({"status", "--liveness", "--heartbeat", other.string()});
  EXPECT_EQ(given.status, 0) << given.out;
}

TEST_F(InstallTest, DaemonExitsZeroOnSigterm) {
  ASSERT_EQ(installFiles().status, 0);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Block first, as runDaemon does, so a SIGTERM sent right after "ready" is not lost.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    static_cast<void>(::write(ready[1], "r", 1));
    Context context;
    context.makeDatapath = [this] { return std::make_unique<FakeDatapath>(kernel_); };
    DaemonSettings settings;
    settings.conf = conflist();
    settings.intervalSeconds = 60;
    int rc = 3;
    try {
      rc = runDaemon(settings, context);
    } catch (...) {
      rc = 4;
    }
    ::_exit(rc);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ::close(ready[1]);
  ASSERT_EQ(::kill(child, SIGTERM), 0);
  int wstatus = 0;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_TRUE(WIFEXITED(wstatus)) << "killed by signal " << WTERMSIG(wstatus);
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
}

// --- the release that runs ---

// The DaemonSet pins its image to a release; the init container's log says which one runs, first,
// even when the install is refused.
TEST_F(InstallTest, PrintsTheVersionItRunsFirst) {
  const Outcome ok = installFiles();
  ASSERT_EQ(ok.status, 0) << ok.error;
  EXPECT_TRUE(ok.out.starts_with("sixrd install: version " SIXRD_VERSION "\n")) << ok.out;
  const Outcome refused = run({"install", "--host-root", root_.string(), "--no-tunnel"});
  EXPECT_FALSE(refused.error.empty());
  EXPECT_EQ(refused.out, "sixrd install: version " SIXRD_VERSION "\n");
}

// --- the host root is a root: nothing outside it is written ---

// /host/etc/cni/net.d a symlink to an absolute path: on the node that path is inside the node's /,
// so it is read relative to the host root, never as this process's own path.
TEST_F(InstallTest, AnAbsoluteSymlinkInTheHostRootIsReadInsideIt) {
  const fs::path outside = tmp_ / "outside";
  fs::create_directories(outside);
  fs::create_directories(root_ / "etc/cni");
  fs::create_symlink(outside, root_ / "etc/cni/net.d");
  // Dangling under the host root (the node has no such directory): refused, nothing written.
  const Outcome refused = installFiles();
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.error.find("etc/cni/net.d"), std::string::npos) << refused.error;
  EXPECT_TRUE(fs::is_empty(outside)) << "install wrote outside the host root";
  // The node has it: the conflist goes there, under the host root.
  const fs::path inside = root_ / outside.relative_path();
  fs::create_directories(inside);
  const Outcome o = installFiles();
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_TRUE(fs::is_empty(outside)) << "install wrote outside the host root";
  EXPECT_TRUE(fs::is_regular_file(inside / "10-sixrd.conflist"));
  // uninstall follows the same symlink the same way, and removes that file, not another.
  std::ofstream(outside / "10-sixrd.conflist") << "{}";
  const Outcome u = run({"uninstall", "--host-root", root_.string()});
  ASSERT_EQ(u.status, 0) << u.error;
  EXPECT_FALSE(fs::exists(inside / "10-sixrd.conflist"));
  EXPECT_TRUE(fs::exists(outside / "10-sixrd.conflist"));
}

// A relative symlink climbing past the host root stops at it, as ".." stops at / on the node.
TEST_F(InstallTest, DotDotInASymlinkStopsAtTheHostRoot) {
  fs::create_directories(root_ / "opt/cni");
  fs::remove_all(root_ / "opt/cni/bin");
  fs::create_symlink("../../../../../../../../bin-elsewhere", root_ / "opt/cni/bin");
  fs::create_directories(root_ / "bin-elsewhere");
  for (const char* name : {"portmap", "bandwidth", "tuning"}) {
    plantPlugin(root_ / "bin-elsewhere", name, kModern);
  }
  const Outcome o = installFiles();
  ASSERT_EQ(o.status, 0) << o.error;
  EXPECT_TRUE(fs::is_regular_file(root_ / "bin-elsewhere/sixrd"));
  EXPECT_FALSE(fs::exists(tmp_.root_path() / "bin-elsewhere"));
}

TEST_F(InstallTest, ADotDotDirectoryIsAUsageErrorAndNothingIsWritten) {
  const Outcome o = installFiles({"--cni-conf-dir", "/../../../x"});
  EXPECT_TRUE(o.usage) << o.error;
  EXPECT_NE(o.error.find("--cni-conf-dir"), std::string::npos) << o.error;
  EXPECT_TRUE(rootIsEmpty());
  EXPECT_FALSE(fs::exists(tmp_ / "x"));
}

}  // namespace
}  // namespace sixrd::install
