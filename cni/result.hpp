// CNI results in every supported spec version, and prevResult parsing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/error.hpp"

namespace sixrd::cni {

struct Interface {
  std::string name;
  std::string mac;
  std::optional<int> mtu;  // emitted from 1.1.0 (the version that defines interfaces[].mtu)
  std::string sandbox;     // empty for host-side interfaces
};

struct IpConfig {
  std::string address;           // CIDR, e.g. "fd00:10:0:307::abcd/128"
  std::string gateway;           // may be empty
  std::optional<int> interface;  // index into interfaces
};

struct Route {
  std::string dst;  // CIDR
  std::string gw;   // may be empty
};

struct Result {
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  nlohmann::json dns = nlohmann::json::object();
};

// The result in `version` (0.3.x/0.4.0: ips[].version = "4"/"6", from the address family; 1.x: no
// version field; interfaces[].mtu only from 1.1.0). interfaces, ips and routes are always present
// (possibly empty); mac, sandbox, gateway, interface and gw are omitted when unset; "dns" is
// omitted when every member is empty (as Go's types.DNS.IsEmpty), e.g. {"nameservers": []}.
// Throws Error code 6 when `version` is not "a.b.c".
nlohmann::json toJson(const Result& result, std::string_view version);

// toJson(result, version).dump(), the same text byte for byte, written without building the json
// (which cost an ADD some 50,000 instructions in allocations and nlohmann's escaping). A string
// that is not plain printable ASCII, or a dns section, is left to nlohmann.
std::string dumpResult(const Result& result, std::string_view version);

// prevResult of any supported version -> Result. Throws Error code 6 when malformed, the message
// naming the path ("prevResult.ips[0].address is missing"): wrong JSON types, addresses/dst not
// CIDR, gateway/gw not an IP, ips[].interface not an index into interfaces, ips[].version other
// than the address family. Code 1 when prevResult.cniVersion is set and not supported. Members
// sixrd does not model (socketPath, pciID, route mtu/priority/...) are ignored.
Result parseResult(const nlohmann::json& json);

// ADD in a chain (a plugin before sixrd produced `prevResult`): sixrd's result `own` merged into
// the earlier one, in `version` (the config's cniVersion). The earlier interfaces, ips and routes
// come first and are kept as the earlier plugin wrote them (members sixrd does not model, e.g.
// socketPath or a route's mtu, included); sixrd's follow, their ips[].interface shifted past the
// earlier interfaces; a route of sixrd's equal in dst and gw to an earlier one is not repeated.
// ips[].version is what `version` defines: set from the address family before 1.0.0 where the
// earlier plugin left it out, removed from 1.0.0 on (the member no longer exists there).
// dns: the earlier object, with each of sixrd's members added where the earlier one is absent or
// empty; for arrays (nameservers, search, options) sixrd's entries the earlier list lacks are
// appended (earlier ones first: the pod's resolver tries them in that order).
// Throws what parseResult throws (code 6 malformed, code 1 unsupported version), and code 1 when
// prevResult.cniVersion is set and is not `version` (a runtime passes the previous plugin's result
// in the network's version; libcni injects the config's when it is missing).
nlohmann::json mergeResult(const nlohmann::json& prevResult, const Result& own,
                           std::string_view version);

// The checks of mergeResult alone, for ADD to refuse a bad prevResult before it changes anything.
void checkPrevResult(const nlohmann::json& prevResult, std::string_view version);

// {"cniVersion", "code", "msg", "details"}; details omitted when empty. Bytes of msg/details that
// are not valid UTF-8 become U+FFFD, so the document can always be serialized.
nlohmann::json errorJson(const Error& error, std::string_view version);

// {"cniVersion", "supportedVersions"}.
nlohmann::json versionJson(std::string_view version);

}  // namespace sixrd::cni
