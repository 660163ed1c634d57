// One CNI invocation, end to end: request -> config -> verb -> result or error JSON.
// The kernel is reached only through tunnel::Datapath, so tests can run every verb against a fake.
#pragma once

#include <exception>
#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <string>

#include "cni/config.hpp"
#include "cni/error.hpp"
#include "cni/request.hpp"
#include "tunnel/datapath.hpp"

namespace sixrd::cni {

struct PluginOptions {
  // Creates the datapath when a verb first needs the kernel (VERSION never does).
  std::function<std::unique_ptr<tunnel::Datapath>()> makeDatapath = tunnel::makeKernelDatapath;
  // Checks CAP_NET_ADMIN / CAP_SYS_ADMIN before kernel verbs (off for fake-datapath tests).
  bool checkCapabilities = true;
  // Also log to stderr (the runtime shows plugin stderr in its own logs).
  bool logToStderr = false;
};

// Where the plugin's one JSON document goes: called once with all of it.
using Writer = std::function<void(std::string_view)>;

// Writes exactly one JSON document (result, version or error) to `out`, or nothing for a
// successful DEL/CHECK/GC/STATUS, as the spec asks. Returns the process exit status (0 or 1).
// Never throws.
int runPlugin(const Environment& env, const Reader& in, const Writer& out,
              const PluginOptions& options = {}) noexcept;
// The same over streams (tests, the installer's probes).
int runPlugin(const Environment& env, std::istream& in, std::ostream& out,
              const PluginOptions& options = {}) noexcept;
// The same over the process's stdin and stdout, read and written with read(2) and write(2): no
// iostreams, so a CNI call never builds them (util/streams.hpp says what that saves).
int runPluginOnStdio(const Environment& env, const PluginOptions& options) noexcept;

// The one place where exceptions become what the runtime sees: cni::Error as it is; each layer's
// error family by its kind() through one table (ipam::Error: invalid input 7 with the field as
// details and field(), addresses exhausted 102, lease store 5; tunnel::Error: kernel 100, no sit
// 101, node not resolvable 7, netns missing 3 or invalid 4, conflict 105; details() as they
// carry); a JSON exception 6; anything else 199 (a bug).
Error toCniError(std::exception_ptr error);

// The node/tunnel part of a plugin config, as every caller that touches the tunnel needs it.
tunnel::NodeSpec nodeSpec(const PluginConfig& config);

// IFLA_IFALIAS of the host veth: "sixrd/<network>/<ifname>/<containerId>" (cut to the kernel's
// limit); GC only touches veths whose alias starts with "sixrd/<network>/".
std::string hostVethAlias(const std::string& network, const std::string& containerId,
                          const std::string& ifname);

}  // namespace sixrd::cni
