#include "cni/cli.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cni/log.hpp"
#include "cni/version.hpp"
#include "ipam/sixrd_math.hpp"
#include "util/cli11.hpp"

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
    app->add_option("--prefix", prefix, "cluster IPv6 6rd prefix, e.g. fdcd:6a70::/48")->required();
    app->add_option("--underlay", underlay,
                    "IPv4 subnet every node's address is in, e.g. 10.20.0.0/16")
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
    const nlohmann::json out = {{"nodeIP", ipam::formatIpv4(node.nodeIp)},
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

std::string versionText() {
  std::string versions;
  for (const auto v : kSupportedVersions) {
    versions += versions.empty() ? "" : ", ";
    versions += v;
  }
  return fmt::format("sixrd {}\nCNI spec versions: {}", SIXRD_VERSION, versions);
}

// node-prefix, whois, version.
class AddressingCommands final : public Subcommands {
 public:
  explicit AddressingCommands(CLI::App& app) {
    nodeCmd_ = app.add_subcommand(
        "node-prefix",
        "Print the /64 a node derives from its IPv4, and the tunnel settings it uses.\n"
        "The node /64 is the prefix followed by the node IPv4's host bits within the underlay.");
    nodeFlags_.add(nodeCmd_);
    nodeCmd_->add_option("--node-ip", nodeIp_, "the node's IPv4 address inside the underlay")
        ->required();
    nodeCmd_->add_flag("--json", nodeJson_, "machine-readable output");

    whoCmd_ = app.add_subcommand(
        "whois",
        "Print which node an overlay IPv6 address lives on, and its interface id.\n"
        "The bits after the prefix are the node IPv4's host bits: the same mapping the kernel "
        "uses.");
    whoCmd_->add_option("address", address_, "an IPv6 address inside the prefix")->required();
    whoFlags_.add(whoCmd_);
    whoCmd_->add_flag("--json", whoJson_, "machine-readable output");

    versionCmd_ =
        app.add_subcommand("version", "Print sixrd's version and the CNI versions it speaks.");
  }

  std::optional<int> run(std::string_view /*logLevel*/) override {
    if (*nodeCmd_) {
      nodePrefixCommand(nodeFlags_, nodeIp_, nodeJson_);
    } else if (*whoCmd_) {
      whoisCommand(whoFlags_, address_, whoJson_);
    } else if (*versionCmd_) {
      std::cout << versionText() << '\n';
    } else {
      return std::nullopt;
    }
    return 0;
  }

 private:
  CLI::App* nodeCmd_ = nullptr;
  PlanFlags nodeFlags_;
  std::string nodeIp_;
  bool nodeJson_ = false;
  CLI::App* whoCmd_ = nullptr;
  PlanFlags whoFlags_;
  std::string address_;
  bool whoJson_ = false;
  CLI::App* versionCmd_ = nullptr;
};

// Usage errors exit 2, as for most Unix tools (and as `sixrd node-prefix --prefix bad` does);
// success of --help or --version exits 0. CLI11's own exit codes (105, 106, 109, ...) are not
// something a script can act on.
constexpr int kUsageError = 2;

// The first argument that is not an option or an option's value: the command the user typed.
std::optional<std::string> typedCommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") return i + 1 < argc ? std::optional<std::string>(argv[i + 1]) : std::nullopt;
    if (arg == "--log-level") {
      ++i;  // its value
      continue;
    }
    if (!arg.starts_with("-")) return std::string(arg);
  }
  return std::nullopt;
}

std::vector<std::string> commandNames(CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  return names;
}

// Levenshtein distance, small strings only (command names).
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// What a parse error tells the user, on stderr, and the exit status.
int usageError(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(e);  // --help, --version: printed on stdout
  }
  const std::vector<std::string> names = commandNames(app);
  const std::optional<std::string> typed = typedCommand(argc, argv);
  if (app.get_subcommands().empty()) {
    if (typed && std::find(names.begin(), names.end(), *typed) == names.end()) {
      std::string hint;
      for (const auto& name : names) {
        if (distance(*typed, name) <= 2) {
          hint = fmt::format(" (did you mean {}?)", name);
          break;
        }
      }
      std::cerr << fmt::format(
          "sixrd: unknown command {}{}\ncommands: {}\nRun 'sixrd --help' for more information.\n",
          *typed, hint, fmt::join(names, ", "));
      return kUsageError;
    }
    if (!typed) {
      std::cerr << "sixrd: a command is required\n\n" << app.help();
      return kUsageError;
    }
  }
  std::string command = "sixrd";
  for (const CLI::App* sub : app.get_subcommands()) command += " " + sub->get_name();
  std::cerr << fmt::format("{}: {}\nRun '{} --help' for more information.\n", command, e.what(),
                           command);
  return kUsageError;
}

}  // namespace

std::unique_ptr<Subcommands> addressingCommands(CLI::App& app) {
  return std::make_unique<AddressingCommands>(app);
}

int runCli(int argc, char** argv, const std::vector<AddSubcommands>& groups) noexcept {
  // The command line prints through std::cout and std::cerr; a CNI call never builds them.
  util::initStreams();
  try {
    CLI::App app{
        std::string(kIdea) +
            "\n\nRun by a container runtime (CNI_COMMAND set) it is a CNI plugin; run by hand "
            "it answers questions about the addressing.",
        "sixrd"};
    app.require_subcommand(1);
    std::string logLevel = "warn";
    app.add_option("--log-level", logLevel, "trace, debug, info, warn, error, off")
        ->capture_default_str()
        ->check(CLI::IsMember(std::vector<std::string>(kLogLevels.begin(), kLogLevels.end())));
    app.set_version_flag("--version", versionText(),
                         "Print sixrd's version and the CNI versions it speaks, and exit");

    std::vector<std::unique_ptr<Subcommands>> added;
    added.reserve(groups.size());
    for (const auto& add : groups) added.push_back(add(app));

    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return usageError(app, e, argc, argv);
    }
    initCliLogging(logLevel);
    for (const auto& group : added) {
      if (const auto status = group->run(logLevel)) return *status;
    }
    return 0;
  } catch (const UsageError& e) {
    std::cerr << "sixrd: " << e.what() << '\n';
    return kUsageError;
  } catch (const ipam::InvalidInput& e) {
    std::cerr << "sixrd: " << e.what() << '\n';
    return kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "sixrd: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace sixrd::cni
