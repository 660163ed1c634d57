// The human CLI (CLI11), used when CNI_COMMAND is not set. runCli owns what every subcommand
// shares (--log-level, --version, --help, usage errors and exit statuses); the subcommands come in
// groups from whoever builds the program (main.cpp): cni's own addressing questions
// (addressingCommands) and the node installer's (install/commands.hpp), so that cni/ needs
// nothing from the layers above it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace sixrd::cni {

// A command line the user got wrong: a flag (or its environment fallback) set to something
// unusable, or a required one left unset. field() is the flag ("--prefix"); what() names it and
// the reason. runCli prints it and exits 2, as for CLI11's own parse errors.
class UsageError : public std::runtime_error {
 public:
  UsageError(std::string field, const std::string& message)
      : std::runtime_error(message), field_(std::move(field)) {}
  [[nodiscard]] const std::string& field() const noexcept { return field_; }

 private:
  std::string field_;
};

// Subcommands added to the CLI's app, whose options write into this object: it lives until
// run() returns.
class Subcommands {
 public:
  virtual ~Subcommands() = default;
  // After parsing: runs the chosen subcommand when it is one of these and returns its exit
  // status; nullopt when another group's was chosen. `logLevel` is the CLI's --log-level.
  // Throws UsageError or ipam::InvalidInput (runCli exits 2), anything else (exit 1).
  virtual std::optional<int> run(std::string_view logLevel) = 0;
};

// Adds one group of subcommands to `app` (in the order --help lists them).
using AddSubcommands = std::function<std::unique_ptr<Subcommands>(CLI::App& app)>;

// node-prefix, whois and version: questions about the addressing, answered without the kernel.
std::unique_ptr<Subcommands> addressingCommands(CLI::App& app);

// Parses argv against the groups' subcommands and runs the chosen one. Output goes to stdout,
// diagnostics to stderr. Returns the exit status (2 for a usage error); never throws.
int runCli(int argc, char** argv, const std::vector<AddSubcommands>& groups) noexcept;

}  // namespace sixrd::cni
