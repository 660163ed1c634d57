// sixrd-faults: the CNI plugin as main.cpp runs it, plus fault points for the rollback tests that
// drive a binary (tests/e2e/multinode.sh): when SIXRD_TEST_FAULT names an addPod step
// (tests/faults/fault.hpp), ADD fails there as a failing kernel call would. Built for tests only
// (CMake target sixrd_faults), never installed: the sixrd binary reads no such variable.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "cni/plugin.hpp"
#include "fault.hpp"

namespace cni = sixrd::cni;
namespace tunnel = sixrd::tunnel;

int main() noexcept {
  if (std::getenv("CNI_COMMAND") == nullptr) {
    std::fputs(
        "sixrd-faults: the sixrd CNI plugin with fault points, for tests; set CNI_COMMAND "
        "(and SIXRD_TEST_FAULT) as a runtime would\n",
        stderr);
    return 2;
  }
  cni::PluginOptions options;
  options.logToStderr = std::getenv("SIXRD_LOG_STDERR") != nullptr;
  const char* point = std::getenv(std::string(sixrd::test::kFaultVariable).c_str());
  options.makeDatapath = [point = std::string(point != nullptr ? point : "")] {
    return tunnel::makeKernelDatapathWithHook(sixrd::test::failAt(point));
  };
  return cni::runPlugin(cni::processEnvironment(), std::cin, std::cout, options);
}
