#include "cni/cli.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cni/log.hpp"
#include "cni/version.hpp"
#include "install/commands.hpp"
#include "ipam/sixrd_math.hpp"

#ifndef SIXRD_VERSION
#define SIXRD_VERSION "0.0.0"
#endif

namespace sixrd::cni {

namespace {

constexpr const char* kIdea =
    "sixrd gives every pod an IPv6 address from its node's /64: the cluster prefix followed by the "
    "host bits of the node's IPv4.\nA sit tunnel in 6rd mode lets the kernel map any pod address "
    "back to its node, so nodes never coordinate.";

struct PlanFlags {
  std::string prefix;
  std::string underlay;
  void add(CLI::App* app) {
    app->add_option("--prefix", prefix, "cluster IPv6 6rd prefix, e.g. fd00:10::/48")->required();
    app->add_option("--underlay", underlay, "IPv4 subnet every node's address is in, e.g. 10.20.0.0/16")
        ->required();
  }
  [[nodiscard]] ipam::SixrdPlan plan() const {
    return ipam::SixrdPlan::make(ipam::parseIpv6Prefix(prefix, "prefix"),
                                 ipam::parseIpv4Subnet(underlay, "underlay"));
  }
};

std::string hex64(std::uint64_t v) {
  return fmt::format("{:x}:{:x}:{:x}:{:x}", v >> 48, (v >> 32) & 0xffff, (v >> 16) & 0xffff,
                     v & 0xffff);
}

void nodePrefixCommand(const PlanFlags& flags, const std::string& nodeIp, bool json) {
  const ipam::SixrdPlan plan = flags.plan();
  const ipam::NodePrefix node = ipam::nodePrefix(plan, ipam::parseIpv4(nodeIp, "node-ip"));
  const std::string node64 = ipam::formatPrefix(node.node64);
  const std::string overlay =
      fmt::format("{}/{}", ipam::formatIpv6(node.overlayAddr), plan.prefix.len);
  if (json) {
    const nlohmann::json out = {
        {"nodeIP", ipam::formatIpv4(node.nodeIp)},
        {"nodePrefix", node64},
        {"overlayAddress", overlay},
        {"unreachable", node64},
        {"tunnel",
         {{"mode", "sit"},
          {"local", ipam::formatIpv4(node.nodeIp)},
          {"remote", "any"},
          {"6rdPrefix", ipam::formatPrefix(plan.prefix)},
          {"6rdRelayPrefix", ipam::formatSubnet(plan.underlay)}}}};
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::cout << fmt::format(
      "node IPv4        {}\n"
      "node prefix      {}\n"
      "overlay address  {} (on the sit device; its connected route sends {} into the tunnel)\n"
      "unreachable      {} (unknown addresses of this node are answered, not looped)\n"
      "sit/6rd tunnel   local {} remote any 6rd-prefix {} 6rd-relay_prefix {}\n",
      ipam::formatIpv4(node.nodeIp), node64, overlay, ipam::formatPrefix(plan.prefix), node64,
      ipam::formatIpv4(node.nodeIp), ipam::formatPrefix(plan.prefix),
      ipam::formatSubnet(plan.underlay));
}

void whoisCommand(const PlanFlags& flags, const std::string& address, bool json) {
  const ipam::SixrdPlan plan = flags.plan();
  const ipam::WhoIs who = ipam::whois(plan, ipam::parseIpv6(address, "address"));
  if (json) {
    const nlohmann::json out = {{"address", address},
                                {"nodeIP", ipam::formatIpv4(who.nodeIp)},
                                {"nodePrefix", ipam::formatPrefix(who.node64)},
                                {"interfaceId", hex64(who.interfaceId)}};
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::cout << fmt::format(
      "address       {}\nnode IPv4     {}\nnode prefix   {}\ninterface id  {}{}\n", address,
      ipam::formatIpv4(who.nodeIp), ipam::formatPrefix(who.node64), hex64(who.interfaceId),
      who.interfaceId == 1 ? " (the node itself)" : "");
}

}  // namespace

int runCli(int argc, char** argv) noexcept {
  try {
    CLI::App app{std::string(kIdea) +
                 "\n\nRun by a container runtime (CNI_COMMAND set) it is a CNI plugin; run by hand "
                 "it answers questions about the addressing.",
                 "sixrd"};
    app.require_subcommand(1);
    std::string logLevel = "warn";
    app.add_option("--log-level", logLevel, "trace, debug, info, warn, error, off")
        ->capture_default_str();

    PlanFlags nodeFlags;
    std::string nodeIp;
    bool nodeJson = false;
    auto* nodeCmd = app.add_subcommand(
        "node-prefix",
        "Print the /64 a node derives from its IPv4, and the tunnel settings it uses.\n"
        "The node /64 is the prefix followed by the node IPv4's host bits within the underlay.");
    nodeFlags.add(nodeCmd);
    nodeCmd->add_option("--node-ip", nodeIp, "the node's IPv4 address inside the underlay")
        ->required();
    nodeCmd->add_flag("--json", nodeJson, "machine-readable output");

    PlanFlags whoFlags;
    std::string address;
    bool whoJson = false;
    auto* whoCmd = app.add_subcommand(
        "whois",
        "Print which node an overlay IPv6 address lives on, and its interface id.\n"
        "The bits after the prefix are the node IPv4's host bits: the same mapping the kernel uses.");
    whoCmd->add_option("address", address, "an IPv6 address inside the prefix")->required();
    whoFlags.add(whoCmd);
    whoCmd->add_flag("--json", whoJson, "machine-readable output");

    auto* versionCmd = app.add_subcommand("version", "Print sixrd's version and the CNI versions it speaks.");
    install::Commands nodeCommands(app);  // install, uninstall, status, daemon

    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    initCliLogging(logLevel);
    if (const auto status = nodeCommands.run(logLevel)) return *status;

    if (*nodeCmd) nodePrefixCommand(nodeFlags, nodeIp, nodeJson);
    if (*whoCmd) whoisCommand(whoFlags, address, whoJson);
    if (*versionCmd) {
      std::string versions;
      for (const auto v : kSupportedVersions) versions += (versions.empty() ? "" : ", ") + std::string(v);
      std::cout << fmt::format("sixrd {}\nCNI spec versions: {}\n", SIXRD_VERSION, versions);
    }
    return 0;
  } catch (const ipam::InvalidInput& e) {
    std::cerr << "sixrd: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "sixrd: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace sixrd::cni
