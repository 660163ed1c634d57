// The node-side subcommands of the sixrd CLI: install, uninstall, status, daemon, doctor. One
// group of cni::runCli's subcommands, handed to it by the program's entry (main.cpp); every flag
// of install has a SIXRD_* environment fallback (install/installer.hpp lists them) so a DaemonSet
// can feed it from a ConfigMap.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string_view>

#include "cni/cli.hpp"
#include "cni/request.hpp"
#include "install/installer.hpp"
#include "util/streams.hpp"

namespace sixrd::install {

class Commands final : public cni::Subcommands {
 public:
  // Adds the subcommands to `app`; `env` answers the environment fallbacks; human output goes to
  // `out`. The object must outlive app.parse() and run(): the options write into it.
  explicit Commands(CLI::App& app, Context context = {},
                    cni::Environment env = cni::processEnvironment(),
                    std::ostream& out = std::cout);
  ~Commands() override;
  Commands(const Commands&) = delete;
  Commands& operator=(const Commands&) = delete;
  Commands(Commands&&) = delete;
  Commands& operator=(Commands&&) = delete;

  // After app.parse(): runs the chosen subcommand if it is one of these and returns its exit
  // status (status: 0 ready, 1 not); nullopt when another subcommand was chosen. `logLevel` is the
  // CLI's --log-level (status shows the plugin's own log on stderr at info and below).
  // Throws UsageError (bad or missing flags; nothing written), InstallError and what
  // install()/uninstall()/runDaemon() throw: the CLI's catch ladder prints them.
  std::optional<int> run(std::string_view logLevel) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sixrd::install
