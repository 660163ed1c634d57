// Plugin configuration: the contract of DESIGN.md. parse() reads the JSON the runtime hands the
// plugin on stdin (one element of a conflist's "plugins", with name/cniVersion/prevResult/
// runtimeConfig injected by the runtime).
#pragma once

#include <optional>
#include <string>

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
  bool tcpMTUProbing = false;            // "tcpMTUProbing"
  std::string dataDir = "/run/sixrd";    // "dataDir", absolute
  LogConfig log;                         // "log"
  nlohmann::json dns = nlohmann::json::object();  // "dns", passed through to the result
  nlohmann::json prevResult;                      // null when absent
  nlohmann::json runtimeConfig = nlohmann::json::object();
};

// Throws cni::Error, the message naming the field (nested ones as "log.level"):
//   code 6 (decode) when `raw` is not a JSON object, or a known field has the wrong JSON type
//          ("mtu": "1480", "log": [], ...) — the shape is wrong, as a failed unmarshal;
//   code 1 when cniVersion is not one of kSupportedVersions (names it and the supported list);
//   code 7 (invalid config) when a required field is missing or a value is invalid: name not a
//          safe path component; type empty; prefix/underlay unparsable, with bits past their
//          length, or breaking the 6rd rule prefixlen + (32 - underlaylen) <= 64 (ipam's
//          message, kept); nodeIP not an IPv4 address inside the underlay; underlayInterface
//          or tunnel not an interface name; mtu outside 1280..65515; ttl outside 1..255; dataDir
//          or log.file not absolute; log.level not one of kLogLevels (cni/log.hpp).
// Optional fields that are absent or JSON null keep their defaults; underlayInterface "" means
// unset. Unknown fields (capabilities, args, ipam, ...) are ignored. dns and runtimeConfig must be
// objects; prevResult is kept raw (parseResult() reads it).
PluginConfig parseConfig(const nlohmann::json& raw);

// Same, from the stdin bytes (code 6 for malformed JSON, with the parser's position).
PluginConfig parseConfig(const std::string& stdinBytes);
// Without this a string literal would be ambiguous between the two overloads above.
inline PluginConfig parseConfig(const char* stdinBytes) {
  return parseConfig(std::string(stdinBytes));
}

// The pod MTU for an underlay of `underlayMtu`: underlay - 20 by default; a configured mtu larger
// than that throws code 7 naming both numbers; a smaller one is honoured. Also code 7 when
// underlay - 20 is below IPv6's minimum MTU of 1280.
int podMtu(const PluginConfig& config, int underlayMtu);

}  // namespace sixrd::cni
