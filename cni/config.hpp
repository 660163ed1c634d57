// Plugin configuration: the contract of DESIGN.md. parse() reads the JSON the runtime hands the
// plugin on stdin (one element of a conflist's "plugins", with name/cniVersion/prevResult/
// runtimeConfig injected by the runtime).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipam/sixrd_math.hpp"

namespace sixrd::cni {

struct LogConfig {
  std::string file;            // empty: no log file
  std::string level = "info";  // trace, debug, info, warn, error, off
};

struct PluginConfig {
  std::string cniVersion;
  std::string name;  // network name: a path component of the lease store
  std::string type;
  ipam::SixrdPlan plan;                  // "prefix" + "underlay", validated against the 6rd rule
  std::optional<ipam::Ipv4Addr> nodeIP;  // "nodeIP"
  std::string underlayInterface;         // "underlayInterface", empty: find by address
  std::string tunnel = "sixrd0";         // "tunnel"
  std::optional<int> mtu;                // "mtu" (1280..65515); checked against the underlay later
  int ttl = 64;                          // "ttl" (1..255)
  // "relay": border relays (node IPv4s inside the underlay) that take the pods' traffic to
  // anything outside the prefix; empty: no egress (pods reach pods and nodes only).
  std::vector<ipam::Ipv4Addr> relays;
  bool tcpMTUProbing = false;                     // "tcpMTUProbing"
  std::string dataDir = "/run/sixrd";             // "dataDir", absolute
  LogConfig log;                                  // "log"
  nlohmann::json dns = nlohmann::json::object();  // "dns", passed through to the result
  nlohmann::json prevResult;                      // null when absent
  nlohmann::json runtimeConfig = nlohmann::json::object();
  // What the parser accepted but an operator should hear about, one sentence each: keys sixrd
  // does not read ("prefx" -> "did you mean prefix?"). runPlugin logs them as warnings once the
  // log is set up; the installer may print them.
  std::vector<std::string> warnings;
};

// Throws cni::Error, the message naming the field (nested ones as "log.level") and field() set to
// it (not for a document that is not a JSON object or not JSON at all):
//   code 6 (decode) when `raw` is not a JSON object, or a known field has the wrong JSON type
//          ("mtu": "1480", "log": [], ...) — the shape is wrong, as a failed unmarshal;
//   code 1 when cniVersion is not one of kSupportedVersions (names it and the supported list);
//   code 7 (invalid config) when a required field is missing or a value is invalid: name not a
//          safe path component; type empty; prefix/underlay unparsable, with bits past their
//          length, or breaking the 6rd rule prefixlen + (32 - underlaylen) <= 64 (ipam's
//          message, kept); nodeIP not an IPv4 address inside the underlay; underlayInterface
//          or tunnel not an interface name; mtu outside 1280..65515; ttl outside 1..255; dataDir
//          or log.file not absolute; log.level not one of kLogLevels (cni/log.hpp).
//          A missing required field whose name an unknown key resembles says so in its message:
//          'prefix is missing from the network configuration (found "prefx": did you mean
//          prefix?): ...'.
// Optional fields that are absent or JSON null keep their defaults; underlayInterface "" means
// unset. dns and runtimeConfig must be objects; prevResult is kept raw (parseResult() reads it).
// Unknown keys never fail the parse (a conflist carries other plugins' and runtimes' keys): the
// CNI spec's own (cniVersions, capabilities, ipam, ipMasq, args, disableCheck, disableGC,
// loadOnlyInlinedPlugins, plugins, cni.dev/...) are accepted silently, and every other one, in the
// object or in "log", adds a line to PluginConfig::warnings, with "did you mean X?" when it is
// close to a known key (case, '_'/'-', or one or two letters apart, e.g. "MTU", "nodeIp", "prefx").
PluginConfig parseConfig(const nlohmann::json& raw);

// Same, from the stdin bytes (code 6 for malformed JSON, with the parser's position).
PluginConfig parseConfig(const std::string& stdinBytes);
// Without this a string literal would be ambiguous between the two overloads above.
inline PluginConfig parseConfig(const char* stdinBytes) {
  return parseConfig(std::string(stdinBytes));
}

// For reporting an error found before parseConfig succeeded (a bad CNI_IFNAME, an invalid
// prefix): what can still be read of the stdin bytes. log.file is kept when it is an absolute path
// and log.level when it is one of kLogLevels (else "info"); warnings are the unknown-key lines
// parseConfig would have given. A default LogConfig and no warnings when the bytes are not a JSON
// object. Never throws.
struct ConfigPreview {
  LogConfig log;
  std::vector<std::string> warnings;
};
ConfigPreview previewConfig(std::string_view stdinBytes) noexcept;

// The pod MTU for an underlay of `underlayMtu`: underlay - 20 by default; a configured mtu larger
// than that throws code 7 naming both numbers (field "mtu"); a smaller one is honoured. Also code 7
// when underlay - 20 is below IPv6's minimum MTU of 1280.
int podMtu(const PluginConfig& config, int underlayMtu);

}  // namespace sixrd::cni
