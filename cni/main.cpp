// sixrd: a CNI plugin when CNI_COMMAND is set (CLI11 is not touched then), a human CLI otherwise.
#include <cstdlib>
#include <iostream>

#include "cni/cli.hpp"
#include "cni/plugin.hpp"

int main(int argc, char** argv) noexcept {
  if (std::getenv("CNI_COMMAND") != nullptr) {
    sixrd::cni::PluginOptions options;
    options.logToStderr = std::getenv("SIXRD_LOG_STDERR") != nullptr;
    return sixrd::cni::runPlugin(sixrd::cni::processEnvironment(), std::cin, std::cout, options);
  }
  return sixrd::cni::runCli(argc, argv);
}
