#include "cni/result.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string>

#include "cni/version.hpp"

namespace sixrd::cni {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxResultInteger = 1U << 30U;

bool isIpv6Text(std::string_view address) { return address.find(':') != std::string_view::npos; }

// Go's encoding/json marks the whole DNS struct empty when each of its members is; a dns object
// like {"nameservers": []} (the documented config default) must be omitted just the same.
bool isEmptyDns(const json& dns) {
  if (!dns.is_object()) {
    return true;
  }
  for (const auto& [key, value] : dns.items()) {
    const bool empty = value.is_null() ||
                       ((value.is_array() || value.is_object()) && value.empty()) ||
                       (value.is_string() && value.get_ref<const std::string&>().empty());
    if (!empty) {
      return false;
    }
  }
  return true;
}

bool isIpAddress(const std::string& text) {
  std::array<unsigned char, 16> buffer{};
  return inet_pton(AF_INET, text.c_str(), buffer.data()) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer.data()) == 1;
}

bool isCidr(const std::string& text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos) {
    return false;
  }
  const std::string address = text.substr(0, slash);
  const std::string_view length = std::string_view(text).substr(slash + 1);
  unsigned bits = 0;
  const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), bits);
  if (length.empty() || ec != std::errc{} || end != length.data() + length.size()) {
    return false;
  }
  std::array<unsigned char, 16> buffer{};
  if (inet_pton(AF_INET6, address.c_str(), buffer.data()) == 1) {
    return bits <= 128;
  }
  return inet_pton(AF_INET, address.c_str(), buffer.data()) == 1 && bits <= 32;
}

// Messages quote what the runtime sent, which need not be UTF-8 (nlohmann's parse errors quote the
// raw bytes they stopped at; a value cut at 64 bytes can end inside a character), but a JSON string
// must be: dump() would throw and the runtime would get no error document at all. Invalid
// sequences become U+FFFD, as Go's encoding/json does.
std::string validUtf8(const std::string& text) {
  return json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace))
      .get<std::string>();
}

[[noreturn]] void malformed(const std::string& path, const std::string& reason) {
  throw Error(Code::kDecodeFailure, path + " " + reason);
}

const json& member(const json& object, const std::string& path, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) {
    malformed(path + "." + name, "is missing");
  }
  return *it;
}

std::string stringAt(const json& value, const std::string& path) {
  if (!value.is_string()) {
    malformed(path, std::string("must be a string, not ") + value.type_name());
  }
  return value.get<std::string>();
}

// Optional string members: absent and null both read as "".
std::string optionalString(const json& object, const std::string& path, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    return {};
  }
  return stringAt(*it, path + "." + name);
}

std::optional<std::int64_t> optionalInteger(const json& object, const std::string& path,
                                            const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    return std::nullopt;
  }
  // Every integer in a result (an MTU, an index) is small; bounding it keeps the narrowing safe.
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
      (it->is_number_unsigned() && it->get<std::uint64_t>() > kMaxResultInteger)) {
    malformed(path + "." + name, "must be a non-negative integer, not " + it->dump());
  }
  return it->get<std::int64_t>();
}

const json* optionalArray(const json& object, const std::string& path, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    return nullptr;
  }
  if (!it->is_array()) {
    malformed(path + "." + name, std::string("must be an array, not ") + it->type_name());
  }
  return &*it;
}

void requireObject(const json& value, const std::string& path) {
  if (!value.is_object()) {
    malformed(path, std::string("must be an object, not ") + value.type_name());
  }
}

Interface parseInterface(const json& value, const std::string& path) {
  requireObject(value, path);
  Interface interface;
  interface.name = stringAt(member(value, path, "name"), path + ".name");
  interface.mac = optionalString(value, path, "mac");
  interface.sandbox = optionalString(value, path, "sandbox");
  if (auto mtu = optionalInteger(value, path, "mtu"); mtu && *mtu > 0) {
    interface.mtu = static_cast<int>(*mtu);
  }
  return interface;
}

IpConfig parseIp(const json& value, const std::string& path, std::size_t interfaceCount) {
  requireObject(value, path);
  IpConfig ip;
  ip.address = stringAt(member(value, path, "address"), path + ".address");
  if (!isCidr(ip.address)) {
    malformed(path + ".address", "\"" + ip.address + "\" is not an address in CIDR notation");
  }
  ip.gateway = optionalString(value, path, "gateway");
  if (!ip.gateway.empty() && !isIpAddress(ip.gateway)) {
    malformed(path + ".gateway", "\"" + ip.gateway + "\" is not an IP address");
  }
  if (auto index = optionalInteger(value, path, "interface")) {
    if (*index < 0 || static_cast<std::size_t>(*index) >= interfaceCount) {
      malformed(path + ".interface", std::to_string(*index) + " is not an index into interfaces (" +
                                         std::to_string(interfaceCount) + " of them)");
    }
    ip.interface = static_cast<int>(*index);
  }
  // Results before 1.0.0 carry the family explicitly; a mismatch means the producer is confused.
  const std::string version = optionalString(value, path, "version");
  if (!version.empty()) {
    const std::string family = isIpv6Text(ip.address) ? "6" : "4";
    if (version != "4" && version != "6") {
      malformed(path + ".version", "\"" + version + "\" is neither \"4\" nor \"6\"");
    }
    if (version != family) {
      malformed(path + ".version", "\"" + version + "\" does not match the address " + ip.address +
                                       " (IPv" + family + ")");
    }
  }
  return ip;
}

Route parseRoute(const json& value, const std::string& path) {
  requireObject(value, path);
  Route route;
  route.dst = stringAt(member(value, path, "dst"), path + ".dst");
  if (!isCidr(route.dst)) {
    malformed(path + ".dst", "\"" + route.dst + "\" is not a destination in CIDR notation");
  }
  route.gw = optionalString(value, path, "gw");
  if (!route.gw.empty() && !isIpAddress(route.gw)) {
    malformed(path + ".gw", "\"" + route.gw + "\" is not an IP address");
  }
  return route;
}

}  // namespace

json toJson(const Result& result, std::string_view version) {
  // Spec 1.0.0 dropped ips[].version; 1.1.0 added interfaces[].mtu.
  const bool ipsHaveVersion = compareVersions(version, "1.0.0") < 0;
  const bool interfacesHaveMtu = compareVersions(version, "1.1.0") >= 0;

  json interfaces = json::array();
  for (const Interface& interface : result.interfaces) {
    json item = {{"name", interface.name}};
    if (!interface.mac.empty()) {
      item["mac"] = interface.mac;
    }
    if (interfacesHaveMtu && interface.mtu) {
      item["mtu"] = *interface.mtu;
    }
    if (!interface.sandbox.empty()) {
      item["sandbox"] = interface.sandbox;
    }
    interfaces.push_back(std::move(item));
  }

  json ips = json::array();
  for (const IpConfig& ip : result.ips) {
    json item = {{"address", ip.address}};
    if (ipsHaveVersion) {
      item["version"] = isIpv6Text(ip.address) ? "6" : "4";
    }
    if (!ip.gateway.empty()) {
      item["gateway"] = ip.gateway;
    }
    if (ip.interface) {
      item["interface"] = *ip.interface;
    }
    ips.push_back(std::move(item));
  }

  json routes = json::array();
  for (const Route& route : result.routes) {
    json item = {{"dst", route.dst}};
    if (!route.gw.empty()) {
      item["gw"] = route.gw;
    }
    routes.push_back(std::move(item));
  }

  json out = {{"cniVersion", std::string(version)},
              {"interfaces", std::move(interfaces)},
              {"ips", std::move(ips)},
              {"routes", std::move(routes)}};
  if (!isEmptyDns(result.dns)) {
    out["dns"] = result.dns;
  }
  return out;
}

namespace {

// Printable ASCII without '"' or '\\': text nlohmann writes as it is.
bool plain(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

bool allPlain(const Result& result, std::string_view version) {
  if (!plain(version)) return false;
  for (const Interface& i : result.interfaces) {
    if (!plain(i.name) || !plain(i.mac) || !plain(i.sandbox)) return false;
  }
  for (const IpConfig& ip : result.ips) {
    if (!plain(ip.address) || !plain(ip.gateway)) return false;
  }
  for (const Route& r : result.routes) {
    if (!plain(r.dst) || !plain(r.gw)) return false;
  }
  return true;
}

// Appends "key":"value" (both plain), after a comma unless it opens the object.
void member(std::string& out, bool& first, std::string_view key, std::string_view value) {
  out += first ? "\"" : ",\"";
  first = false;
  out += key;
  out += "\":\"";
  out += value;
  out += '"';
}

void member(std::string& out, bool& first, std::string_view key, int value) {
  out += first ? "\"" : ",\"";
  first = false;
  out += key;
  out += "\":";
  out += std::to_string(value);
}

}  // namespace

std::string dumpResult(const Result& result, std::string_view version) {
  // The dns section, when there is one, and text needing escapes are rare: nlohmann writes those.
  if (!isEmptyDns(result.dns) || !allPlain(result, version)) return toJson(result, version).dump();
  const bool ipsHaveVersion = compareVersions(version, "1.0.0") < 0;
  const bool interfacesHaveMtu = compareVersions(version, "1.1.0") >= 0;
  // nlohmann's objects are std::maps: members in key order, as below.
  std::string out;
  out.reserve(512);
  out += "{\"cniVersion\":\"";
  out += version;
  out += "\",\"interfaces\":[";
  for (std::size_t n = 0; n < result.interfaces.size(); ++n) {
    const Interface& i = result.interfaces[n];
    out += n == 0 ? "{" : ",{";
    bool first = true;
    if (!i.mac.empty()) member(out, first, "mac", i.mac);
    if (interfacesHaveMtu && i.mtu) member(out, first, "mtu", *i.mtu);
    member(out, first, "name", i.name);
    if (!i.sandbox.empty()) member(out, first, "sandbox", i.sandbox);
    out += '}';
  }
  out += "],\"ips\":[";
  for (std::size_t n = 0; n < result.ips.size(); ++n) {
    const IpConfig& ip = result.ips[n];
    out += n == 0 ? "{" : ",{";
    bool first = true;
    member(out, first, "address", ip.address);
    if (!ip.gateway.empty()) member(out, first, "gateway", ip.gateway);
    if (ip.interface) member(out, first, "interface", *ip.interface);
    if (ipsHaveVersion) member(out, first, "version", isIpv6Text(ip.address) ? "6" : "4");
    out += '}';
  }
  out += "],\"routes\":[";
  for (std::size_t n = 0; n < result.routes.size(); ++n) {
    const Route& r = result.routes[n];
    out += n == 0 ? "{" : ",{";
    bool first = true;
    member(out, first, "dst", r.dst);
    if (!r.gw.empty()) member(out, first, "gw", r.gw);
    out += '}';
  }
  out += "]}";
  return out;
}

Result parseResult(const json& raw) {
  const std::string root = "prevResult";
  requireObject(raw, root);
  if (const auto it = raw.find("cniVersion"); it != raw.end() && !it->is_null()) {
    const std::string version = stringAt(*it, root + ".cniVersion");
    if (!isSupported(version)) {
      throw Error(Code::kIncompatibleVersion,
                  root + ".cniVersion \"" + version +
                      "\" is not supported: sixrd reads results of 0.3.0 to 1.1.0");
    }
  }

  Result result;
  if (const json* interfaces = optionalArray(raw, root, "interfaces")) {
    for (std::size_t i = 0; i < interfaces->size(); ++i) {
      result.interfaces.push_back(
          parseInterface(interfaces->at(i), root + ".interfaces[" + std::to_string(i) + "]"));
    }
  }
  if (const json* ips = optionalArray(raw, root, "ips")) {
    for (std::size_t i = 0; i < ips->size(); ++i) {
      result.ips.push_back(
          parseIp(ips->at(i), root + ".ips[" + std::to_string(i) + "]", result.interfaces.size()));
    }
  }
  if (const json* routes = optionalArray(raw, root, "routes")) {
    for (std::size_t i = 0; i < routes->size(); ++i) {
      result.routes.push_back(
          parseRoute(routes->at(i), root + ".routes[" + std::to_string(i) + "]"));
    }
  }
  if (const auto it = raw.find("dns"); it != raw.end() && !it->is_null()) {
    requireObject(*it, root + ".dns");
    result.dns = *it;
  }
  return result;
}

void checkPrevResult(const json& prevResult, std::string_view version) {
  static_cast<void>(parseResult(prevResult));
  if (const auto it = prevResult.find("cniVersion"); it != prevResult.end() && !it->is_null()) {
    const auto& prevVersion = it->get_ref<const std::string&>();
    if (!prevVersion.empty() && prevVersion != version) {
      throw Error(Code::kIncompatibleVersion,
                  "prevResult.cniVersion \"" + prevVersion +
                      "\" is not the network's cniVersion \"" + std::string(version) +
                      "\": the runtime must pass the previous plugin's result in the network's "
                      "version (check the cniVersion the plugin before sixrd prints)");
    }
  }
}

json mergeResult(const json& prevResult, const Result& own, std::string_view version) {
  checkPrevResult(prevResult, version);
  json out = toJson(own, version);
  const bool ipsHaveVersion = compareVersions(version, "1.0.0") < 0;
  const auto earlier = [&](const char* name) {
    const auto it = prevResult.find(name);
    return it == prevResult.end() || it->is_null() ? json::array() : *it;
  };

  json interfaces = earlier("interfaces");
  const auto shift = static_cast<int>(interfaces.size());
  for (auto& item : out["interfaces"]) interfaces.push_back(std::move(item));

  json ips = earlier("ips");
  for (auto& item : ips) {
    if (ipsHaveVersion) {
      // libcni re-encodes a 0.3.x/0.4.0 result that lacked it as "version": "".
      if (!item.contains("version") || item["version"].is_null() || item["version"] == "") {
        item["version"] = isIpv6Text(item["address"].get<std::string>()) ? "6" : "4";
      }
    } else {
      item.erase("version");
    }
  }
  for (auto& item : out["ips"]) {
    if (item.contains("interface")) item["interface"] = item["interface"].get<int>() + shift;
    ips.push_back(std::move(item));
  }

  json routes = earlier("routes");
  const auto same = [](const json& a, const json& b) {
    const auto text = [](const json& r, const char* key) {
      const auto it = r.find(key);
      return it == r.end() || it->is_null() ? std::string() : it->get<std::string>();
    };
    return text(a, "dst") == text(b, "dst") && text(a, "gw") == text(b, "gw");
  };
  json ownRoutes = std::move(out["routes"]);
  for (auto& item : ownRoutes) {
    if (std::none_of(routes.begin(), routes.end(), [&](const json& r) { return same(r, item); })) {
      routes.push_back(std::move(item));
    }
  }

  json dns = json::object();
  if (const auto it = prevResult.find("dns"); it != prevResult.end() && it->is_object()) dns = *it;
  if (own.dns.is_object()) {
    for (const auto& [key, value] : own.dns.items()) {
      const auto have = dns.find(key);
      if (have == dns.end() || isEmptyDns(json{{key, *have}})) {
        dns[key] = value;
      } else if (have->is_array() && value.is_array()) {
        for (const auto& entry : value) {
          if (std::find(have->begin(), have->end(), entry) == have->end()) have->push_back(entry);
        }
      }
    }
  }

  out["interfaces"] = std::move(interfaces);
  out["ips"] = std::move(ips);
  out["routes"] = std::move(routes);
  out.erase("dns");
  if (!isEmptyDns(dns)) out["dns"] = std::move(dns);
  return out;
}

json errorJson(const Error& error, std::string_view version) {
  json out = {{"cniVersion", std::string(version)},
              {"code", static_cast<unsigned>(error.code())},
              {"msg", validUtf8(error.what())}};
  if (!error.details().empty()) {
    out["details"] = validUtf8(error.details());
  }
  return out;
}

json versionJson(std::string_view version) {
  json supported = json::array();
  for (const std::string_view v : kSupportedVersions) {
    supported.push_back(std::string(v));
  }
  return {{"cniVersion", std::string(version)}, {"supportedVersions", std::move(supported)}};
}

}  // namespace sixrd::cni
