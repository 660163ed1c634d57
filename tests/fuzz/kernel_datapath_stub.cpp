// PluginOptions::makeDatapath defaults to tunnel::makeKernelDatapath, so cni/plugin.cpp refers to
// it; the fuzz targets always set makeDatapath to the in-memory fake, and this stands in for the
// libnl datapath (tunnel/datapath.cpp) so the fuzzers need neither libnl nor the kernel.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tunnel/datapath.hpp"

namespace sixrd::tunnel {

std::unique_ptr<Datapath> makeKernelDatapath() {
  throw std::logic_error(
      "fuzz build: the kernel datapath is not linked; PluginOptions::makeDatapath must be set");
}

}  // namespace sixrd::tunnel
