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

// Datapath's non-inline virtuals are defined in tunnel/datapath.cpp, next to the libnl datapath;
// without them here the vtable and typeinfo of Datapath are missing from the fuzz link. Same
// behaviour as there.
std::vector<std::string> Datapath::removeTunnel(const std::string& /*name*/) {
  throw std::logic_error("this datapath cannot remove a tunnel");
}

std::vector<std::string> Datapath::setEgressRelays(const NodeSpec& /*spec*/, const Node& /*node*/,
                                                   const std::vector<ipam::Ipv4Addr>& /*active*/) {
  throw std::logic_error("this datapath cannot route egress");
}

std::vector<std::string> Datapath::ensureNat64Route(const ipam::Ipv6Prefix& /*prefix*/,
                                                    const std::string& /*device*/) {
  throw std::logic_error("this datapath cannot route NAT64");
}

}  // namespace sixrd::tunnel
