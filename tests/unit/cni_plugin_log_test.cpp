// What an invocation leaves in the configured log file: the unknown-key warnings of a config that
// was accepted, and errors found before the config was accepted (a bad environment, an invalid
// prefix) as long as the stdin JSON parsed and its log section can be read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "cni/log.hpp"
#include "cni/plugin.hpp"
#include "cni/request.hpp"
#include "fake_datapath.hpp"
#include "test_files.hpp"

namespace sixrd::cni {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Vars = std::map<std::string, std::string>;

class PluginLog : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::makeTempDir("plugin-log-test");
    logFile_ = root_ / "log" / "sixrd.log";
  }
  void TearDown() override {
    silenceLogging();
    fs::remove_all(root_);
  }

  [[nodiscard]] json config(const json& extra = json::object()) const {
    json c = {{"cniVersion", "1.1.0"},
              {"name", "sixrd-test"},
              {"type", "sixrd"},
              {"prefix", "fd00:10::/48"},
              {"underlay", "198.18.0.0/16"},
              {"dataDir", (root_ / "data").string()},
              {"log", {{"file", logFile_.string()}, {"level", "info"}}}};
    c.update(extra);
    return c;
  }

  static Vars addEnv(const std::string& ifname = "eth0") {
    return {{"CNI_COMMAND", "ADD"},
            {"CNI_CONTAINERID", "c0ffee0123456789"},
            {"CNI_NETNS", "/var/run/netns/pod-1"},
            {"CNI_IFNAME", ifname},
            {"CNI_PATH", "/opt/cni/bin"}};
  }

  // Runs the plugin; returns the exit status, fills out_.
  int run(const Vars& vars, const std::string& stdinBytes) {
    std::istringstream in(stdinBytes);
    std::ostringstream out;
    PluginOptions options;
    options.checkCapabilities = false;
    options.makeDatapath = []() -> std::unique_ptr<tunnel::Datapath> {
      return std::make_unique<fake::FakeDatapath>();
    };
    const Environment env = [vars](const std::string& name) -> std::optional<std::string> {
      const auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    const int status = runPlugin(env, in, out, options);
    out_ = out.str();
    return status;
  }

  [[nodiscard]] std::string logText() const {
    std::ifstream in(logFile_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  [[nodiscard]] unsigned errorCode() const { return json::parse(out_).at("code").get<unsigned>(); }

  fs::path root_;
  fs::path logFile_;
  std::string out_;
};

bool has(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

TEST_F(PluginLog, UnknownKeyOfAnAcceptedConfigIsAWarningInTheLog) {
  ASSERT_EQ(run(addEnv(), config({{"nodeIp", "198.18.3.7"}}).dump()), 0) << out_;
  const std::string text = logText();
  EXPECT_TRUE(has(text, "warning")) << text;
  EXPECT_TRUE(has(text,
                  "unknown key \"nodeIp\" in the network configuration is ignored: did you "
                  "mean nodeIP?"))
      << text;
  EXPECT_TRUE(json::parse(out_).contains("ips")) << "stdout is the result only: " << out_;
}

TEST_F(PluginLog, StandardCniKeysLeaveNoWarningInTheLog) {
  const json extra = {{"capabilities", {{"portMappings", true}}},
                      {"runtimeConfig", {{"portMappings", json::array()}}},
                      {"args", {{"cni", json::object()}}},
                      {"ipam", json::object()},
                      {"cniVersions", {"1.0.0", "1.1.0"}},
                      {"dns", {{"nameservers", json::array()}}}};
  ASSERT_EQ(run(addEnv(), config(extra).dump()), 0) << out_;
  const std::string text = logText();
  EXPECT_FALSE(has(text, "unknown key")) << text;
  EXPECT_FALSE(has(text, "warning")) << text;
}

TEST_F(PluginLog, InvalidPrefixReachesTheLogFile) {
  ASSERT_EQ(run(addEnv(), config({{"prefix", "fd00:10::/480"}}).dump()), 1);
  EXPECT_EQ(errorCode(), 7U) << out_;
  const std::string text = logText();
  EXPECT_TRUE(has(text, "error 7: ")) << text;
  EXPECT_TRUE(has(text, "prefix")) << text;
  EXPECT_TRUE(has(text, "c0ffee0123456789/eth0: ")) << "lines name the attachment: " << text;
}

TEST_F(PluginLog, MissingPrefixWithATypoReachesTheLogFileWithTheHint) {
  json raw = config({{"prefx", "fd00:10::/48"}});
  raw.erase("prefix");
  ASSERT_EQ(run(addEnv(), raw.dump()), 1);
  EXPECT_EQ(errorCode(), 7U) << out_;
  EXPECT_TRUE(has(json::parse(out_).at("msg").get<std::string>(),
                  "(found \"prefx\": did you mean prefix?)"))
      << out_;
  const std::string text = logText();
  EXPECT_TRUE(has(text, "(found \"prefx\": did you mean prefix?)")) << text;
  EXPECT_TRUE(has(text, "unknown key \"prefx\"")) << "the warning too: " << text;
}

TEST_F(PluginLog, EnvironmentErrorReachesTheLogFile) {
  ASSERT_EQ(run(addEnv("eth/0"), config().dump()), 1);
  EXPECT_EQ(errorCode(), 4U) << out_;
  EXPECT_EQ(json::parse(out_).at("cniVersion"), "1.1.0") << "in the config's version: " << out_;
  const std::string text = logText();
  EXPECT_TRUE(has(text, "error 4: CNI_IFNAME")) << text;
  EXPECT_TRUE(has(text, "c0ffee0123456789/\"eth/0\": ")) << "the bad value quoted: " << text;
}

TEST_F(PluginLog, MissingEnvironmentVariableReachesTheLogFile) {
  Vars vars = addEnv();
  vars.erase("CNI_CONTAINERID");
  ASSERT_EQ(run(vars, config().dump()), 1);
  EXPECT_EQ(errorCode(), 4U) << out_;
  EXPECT_TRUE(has(logText(), "error 4: CNI_CONTAINERID is not set")) << logText();
}

TEST_F(PluginLog, InvalidLogLevelStillLogsTheErrorAtInfo) {
  ASSERT_EQ(
      run(addEnv(), config({{"log", {{"file", logFile_.string()}, {"level", "loud"}}}}).dump()), 1);
  EXPECT_EQ(errorCode(), 7U) << out_;
  EXPECT_TRUE(has(logText(), "log.level")) << logText();
}

TEST_F(PluginLog, LevelOffKeepsTheFileClosedEvenForEarlyErrors) {
  ASSERT_EQ(run(addEnv(), config({{"prefix", "bad"},
                                  {"log", {{"file", logFile_.string()}, {"level", "off"}}}})
                              .dump()),
            1);
  EXPECT_FALSE(fs::exists(logFile_));
}

TEST_F(PluginLog, UnreadableLogSectionWritesNoFile) {
  ASSERT_EQ(run(addEnv(), config({{"prefix", "bad"}, {"log", {{"file", "relative.log"}}}}).dump()),
            1);
  EXPECT_EQ(errorCode(), 7U) << out_;
  EXPECT_FALSE(fs::exists(logFile_));
  EXPECT_FALSE(fs::exists("relative.log"));
}

TEST_F(PluginLog, MalformedJsonWritesNoFileAndStdoutIsTheErrorOnly) {
  ASSERT_EQ(run(addEnv(), "{\"log\": {\"file\": \"" + logFile_.string() + "\"}"), 1);
  EXPECT_EQ(errorCode(), 6U) << out_;
  EXPECT_FALSE(fs::exists(logFile_));
}

}  // namespace
}  // namespace sixrd::cni
