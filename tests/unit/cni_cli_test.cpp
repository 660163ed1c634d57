// The human CLI (CNI_COMMAND unset): what a user typing at a shell, or a script checking exit
// statuses, sees. Usage errors exit 2 with a message on stderr; --version and --help exit 0.
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cni/cli.hpp"
#include "cni/version.hpp"

namespace sixrd::cni {
namespace {

struct CliOutcome {
  int status = -1;
  std::string out;
  std::string err;
};

std::ostream& operator<<(std::ostream& os, const CliOutcome& o) {
  return os << "exit " << o.status << "\nstdout: " << o.out << "\nstderr: " << o.err;
}

// Runs the CLI in-process with std::cout / std::cerr captured.
CliOutcome runCliWith(std::vector<std::string> args) {
  args.insert(args.begin(), "sixrd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out;
  std::ostringstream err;
  std::streambuf* const oldOut = std::cout.rdbuf(out.rdbuf());
  std::streambuf* const oldErr = std::cerr.rdbuf(err.rdbuf());
  CliOutcome o;
  o.status = runCli(static_cast<int>(args.size()), argv.data(), {addressingCommands});
  std::cout.rdbuf(oldOut);
  std::cerr.rdbuf(oldErr);
  o.out = out.str();
  o.err = err.str();
  return o;
}

bool has(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

TEST(CniCli, VersionFlagPrintsTheVersionAndExitsZero) {
  const CliOutcome o = runCliWith({"--version"});
  EXPECT_EQ(o.status, 0) << o;
  EXPECT_TRUE(o.out.starts_with("sixrd " SIXRD_VERSION "\n")) << o;
  for (const auto v : kSupportedVersions) EXPECT_TRUE(has(o.out, std::string(v))) << v << o;
  EXPECT_EQ(o.err, "") << o;
}

TEST(CniCli, VersionCommandPrintsTheSameAsTheFlag) {
  const CliOutcome flag = runCliWith({"--version"});
  const CliOutcome command = runCliWith({"version"});
  EXPECT_EQ(command.status, 0) << command;
  EXPECT_EQ(command.out, flag.out);
}

TEST(CniCli, HelpExitsZeroOnStdout) {
  const CliOutcome o = runCliWith({"--help"});
  EXPECT_EQ(o.status, 0) << o;
  EXPECT_TRUE(has(o.out, "node-prefix")) << o;
  EXPECT_TRUE(has(o.out, "--version")) << o;
}

TEST(CniCli, UnknownCommandIsNamedAndExitsTwo) {
  const CliOutcome o = runCliWith({"frobnicate"});
  EXPECT_EQ(o.status, 2) << o;
  EXPECT_TRUE(has(o.err, "unknown command frobnicate")) << o;
  EXPECT_TRUE(has(o.err, "node-prefix")) << "the commands are listed: " << o;
  EXPECT_EQ(o.out, "") << o;
}

TEST(CniCli, UnknownCommandAfterAGlobalOptionIsNamed) {
  const CliOutcome o = runCliWith({"--log-level", "debug", "frobnicate"});
  EXPECT_EQ(o.status, 2) << o;
  EXPECT_TRUE(has(o.err, "unknown command frobnicate")) << o;
}

TEST(CniCli, CloseMisspellingOfACommandGetsAHint) {
  const CliOutcome o = runCliWith({"whoiz"});
  EXPECT_EQ(o.status, 2) << o;
  EXPECT_TRUE(has(o.err, "unknown command whoiz (did you mean whois?)")) << o;
}

TEST(CniCli, NoCommandExitsTwoWithTheUsage) {
  const CliOutcome o = runCliWith({});
  EXPECT_EQ(o.status, 2) << o;
  EXPECT_TRUE(has(o.err, "a command is required")) << o;
  EXPECT_TRUE(has(o.err, "whois")) << o;
  EXPECT_EQ(o.out, "") << o;
}

TEST(CniCli, MissingArgumentExitsTwoNamingIt) {
  const CliOutcome o = runCliWith({"whois"});
  EXPECT_EQ(o.status, 2) << o;
  EXPECT_TRUE(has(o.err, "sixrd whois: ")) << o;
  EXPECT_TRUE(has(o.err, "address")) << o;
  EXPECT_EQ(o.out, "") << o;
}

TEST(CniCli, MissingRequiredFlagExitsTwo) {
  const CliOutcome o = runCliWith({"node-prefix", "--prefix", "bad"});
  EXPECT_EQ(o.status, 2) << o;
  EXPECT_TRUE(has(o.err, "--underlay")) << o;
}

TEST(CniCli, BadFlagValueExitsTwoNamingIt) {
  const CliOutcome o = runCliWith(
      {"node-prefix", "--prefix", "bad", "--underlay", "198.18.0.0/16", "--node-ip", "198.18.3.7"});
  EXPECT_EQ(o.status, 2) << o;
  EXPECT_TRUE(has(o.err, "prefix")) << o;
  EXPECT_EQ(o.out, "") << o;
}

TEST(CniCli, UnknownLogLevelExitsTwo) {
  const CliOutcome o = runCliWith({"--log-level", "verbose", "version"});
  EXPECT_EQ(o.status, 2) << o;
  EXPECT_TRUE(has(o.err, "--log-level")) << o;
  EXPECT_EQ(o.out, "") << o;
}

TEST(CniCli, UnknownFlagExitsTwo) {
  const CliOutcome o = runCliWith({"version", "--frobnicate"});
  EXPECT_EQ(o.status, 2) << o;
  EXPECT_TRUE(has(o.err, "--frobnicate")) << o;
}

TEST(CniCli, NodePrefixStillWorks) {
  const CliOutcome o = runCliWith({"node-prefix", "--prefix", "fd00:10::/48", "--underlay",
                                   "10.20.0.0/16", "--node-ip", "10.20.3.7"});
  EXPECT_EQ(o.status, 0) << o;
  EXPECT_TRUE(has(o.out, "fd00:10:0:307::/64")) << o;
}

}  // namespace
}  // namespace sixrd::cni
