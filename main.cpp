// sixrd: one binary, two programs. Run by a container runtime (CNI_COMMAND set) it is the CNI
// plugin (cni/plugin.hpp; CLI11 is not touched then); run by hand it is the CLI: the addressing
// questions (cni/) and the node installer (install/). This file sits above both and is the only
// one that knows the whole program.
#include <cstdlib>
#include <memory>

#include "cni/cli.hpp"
#include "cni/plugin.hpp"
#include "install/commands.hpp"
#include "util/call_arena.hpp"

namespace cni = sixrd::cni;
namespace install = sixrd::install;

int main(int argc, char** argv) noexcept {
  if (std::getenv("CNI_COMMAND") != nullptr) {
    // A CNI call lives a few milliseconds: its C++ allocations come from one static block
    // (util/call_arena.cpp), not from malloc, whose cache starts empty in every new process.
    sixrd::util::enableCallArena();
    cni::PluginOptions options;
    options.logToStderr = std::getenv("SIXRD_LOG_STDERR") != nullptr;
    // stdin and stdout through read(2) and write(2): no stdio buffers to size, no iostreams to
    // build. The result is out when runPluginOnStdio returns (log lines are written whole as they
    // come), so the plugin leaves without the static destructors: libnl alone unregisters about a
    // hundred cache and link types one by one, work a runtime waits for on every call.
    const int rc = cni::runPluginOnStdio(cni::processEnvironment(), options);
    std::_Exit(rc);
  }
  return cni::runCli(argc, argv,
                     {cni::addressingCommands,  // node-prefix, whois, version
                      [](CLI::App& app) -> std::unique_ptr<cni::Subcommands> {
                        // install, uninstall, status, daemon, doctor
                        return std::make_unique<install::Commands>(app);
                      }});
}
