#include "cni/config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cni/error.hpp"
#include "cni/json_input.hpp"
#include "cni/log.hpp"
#include "cni/request.hpp"
#include "cni/version.hpp"

namespace sixrd::cni {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameLength = 128;
constexpr int kMinMtu = 1280;   // IPv6 minimum link MTU (RFC 8200)
constexpr int kMaxMtu = 65515;  // 65535 minus the outer IPv4 header
constexpr int kSixrdOverhead = 20;

// The members of sixrd's plugin object (DESIGN.md's contract) and of its "log".
constexpr std::array<std::string_view, 17> kSixrdKeys = {
    "cniVersion",        "name",   "type", "prefix",     "underlay",      "nodeIP",
    "underlayInterface", "tunnel", "mtu",  "ttl",        "tcpMTUProbing", "relay",
    "dataDir",           "log",    "dns",  "prevResult", "runtimeConfig"};
constexpr std::array<std::string_view, 2> kLogKeys = {"file", "level"};
// What the CNI spec (1.1.0) defines for a network configuration or a plugin object, or has the
// runtime add to the plugin's stdin, that sixrd does not read. Seeing them is normal: no warning.
// Keys under "cni.dev/" are the spec's too (GC's cni.dev/valid-attachments, ...).
constexpr std::array<std::string_view, 9> kStandardKeys = {
    "cniVersions", "capabilities",           "ipMasq", "ipam", "args", "disableCheck",
    "disableGC",   "loadOnlyInlinedPlugins", "plugins"};
constexpr std::string_view kReservedPrefix = "cni.dev/";
// An object may hold any number of keys (a MiB of stdin is some 100000): the log gets this many
// lines about them at most, and only this many are compared with the known ones.
constexpr std::size_t kMaxKeyWarnings = 16;
constexpr std::size_t kMaxKeysExamined = 64;
// Keys longer than this are no typo of a known one; skipping them bounds the distance's cost.
constexpr std::size_t kMaxTypoLength = 64;

std::string supportedList() {
  std::string list;
  for (const std::string_view version : kSupportedVersions) {
    list += list.empty() ? "" : ", ";
    list += version;
  }
  return list;
}

// A field's JSON shape is a decoding matter (code 6, as a failed unmarshal is for the reference
// plugins); its value is a configuration matter (code 7). Keeping the two apart lets an operator
// tell "this is not what sixrd reads" from "sixrd read it and disagrees".
[[noreturn]] void wrongType(const std::string& field, std::string_view expected,
                            const json& value) {
  std::string shown = value.dump();
  if (shown.size() > 64) {
    shown = shown.substr(0, 64) + "...";
  }
  throw Error(
      Code::kDecodeFailure,
      field + " must be " + std::string(expected) + ", not " + value.type_name() + " " + shown, {},
      field);
}

[[noreturn]] void invalid(const std::string& field, const std::string& reason) {
  throw Error(Code::kInvalidConfig, field + " " + reason, {}, field);
}

// Case, '_' and '-' do not make a different key to a reader: "MTU", "node_ip", "data-dir".
std::string normalizedKey(std::string_view key) {
  std::string out;
  for (const char c : key) {
    if (c != '_' && c != '-') {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

// Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
// adjacent letters ("tll" is one step from "ttl") each cost 1.
std::size_t editDistance(std::string_view a, std::string_view b) {
  // Rows i-2, i-1 and i of the usual table.
  std::vector<std::size_t> before(b.size() + 1);
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

// The known key `key` is most likely a typo of, if any. One edit is allowed for short names, two
// from 8 letters on: enough for "prefx", "undelray" or "underlayInterfce", while unrelated keys of
// other plugins ("mac", "subnet", "master") stay unmatched.
std::optional<std::string_view> closestKey(std::string_view key,
                                           std::span<const std::string_view> candidates) {
  if (key.size() > kMaxTypoLength) {
    return std::nullopt;
  }
  const std::string typed = normalizedKey(key);
  if (typed.empty()) {
    return std::nullopt;
  }
  std::optional<std::string_view> best;
  std::size_t bestDistance = std::numeric_limits<std::size_t>::max();
  for (const std::string_view candidate : candidates) {
    const std::string known = normalizedKey(candidate);
    const std::size_t allowed = known.size() >= 8 ? 2 : 1;
    const std::size_t distance = editDistance(typed, known);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

bool isStandardKey(std::string_view key) {
  return std::find(kStandardKeys.begin(), kStandardKeys.end(), key) != kStandardKeys.end() ||
         key.starts_with(kReservedPrefix);
}

// A key of one object that sixrd does not read, and the known key it resembles.
struct UnknownKey {
  std::string key;
  std::optional<std::string_view> suggestion;
};

// The keys of one object that are neither in `known` nor (at the top level) the spec's: the
// first kMaxKeysExamined, and how many there are in all.
struct UnknownKeys {
  std::vector<UnknownKey> examined;
  std::size_t total = 0;
};

UnknownKeys unknownKeys(const json& object, std::span<const std::string_view> known,
                        bool topLevel) {
  UnknownKeys unknown;
  if (!object.is_object()) {
    return unknown;
  }
  // Typos of the spec's keys are worth a hint too ("capabilites"), but only at the top level.
  std::vector<std::string_view> candidates(known.begin(), known.end());
  if (topLevel) {
    candidates.insert(candidates.end(), kStandardKeys.begin(), kStandardKeys.end());
  }
  for (const auto& item : object.items()) {
    const std::string& key = item.key();
    if (std::find(known.begin(), known.end(), key) != known.end() ||
        (topLevel && isStandardKey(key))) {
      continue;
    }
    if (++unknown.total <= kMaxKeysExamined) {
      unknown.examined.push_back({key, closestKey(key, candidates)});
    }
  }
  return unknown;
}

// `where` names the object in messages: "" for the plugin object, "log" for its log section.
void appendWarnings(const UnknownKeys& unknown, std::string_view where,
                    std::vector<std::string>& warnings) {
  const std::string object =
      where.empty() ? std::string("the network configuration") : std::string(where);
  const std::string prefix = where.empty() ? std::string() : std::string(where) + ".";
  std::size_t shown = 0;
  for (const UnknownKey& u : unknown.examined) {
    if (shown == kMaxKeyWarnings) {
      warnings.push_back(std::to_string(unknown.total - shown) + " more unknown keys in " + object +
                         " are ignored");
      break;
    }
    if (u.suggestion) {
      warnings.push_back("unknown key " + quoteValue(u.key) + " in " + object +
                         " is ignored: did you mean " + prefix + std::string(*u.suggestion) + "?");
    } else {
      warnings.push_back("unknown key " + quoteValue(u.key) + " in " + object +
                         " is ignored: sixrd does not read it (another plugin or the runtime "
                         "may)");
    }
    ++shown;
  }
}

// `top` is unknownKeys() of `raw` itself.
std::vector<std::string> keyWarnings(const json& raw, const UnknownKeys& top) {
  std::vector<std::string> warnings;
  appendWarnings(top, "", warnings);
  if (const auto log = raw.find("log"); log != raw.end()) {
    appendWarnings(unknownKeys(*log, kLogKeys, false), "log", warnings);
  }
  return warnings;
}

// Reads the members of one JSON object. Optional members that are absent or null keep their
// default, the way Go's encoding/json leaves a field alone on null.
class FieldReader {
 public:
  FieldReader(const json& object, std::string prefix, std::vector<UnknownKey> unknown = {})
      : object_(object), prefix_(std::move(prefix)), unknown_(std::move(unknown)) {}

  [[nodiscard]] std::string path(std::string_view name) const {
    return prefix_ + std::string(name);
  }

  [[nodiscard]] std::string requiredString(std::string_view name, std::string_view hint) const {
    const auto it = object_.find(name);
    if (it == object_.end()) {
      invalid(path(name), "is missing from the network configuration" + typoFor(name) + ": " +
                              std::string(hint));
    }
    if (!it->is_string()) {
      wrongType(path(name), "a string", *it);
    }
    return it->get<std::string>();
  }

  [[nodiscard]] const json* optional(std::string_view name) const {
    const auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) {
      return nullptr;
    }
    return &*it;
  }

  [[nodiscard]] std::optional<std::string> optionalString(std::string_view name) const {
    const json* value = optional(name);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_string()) {
      wrongType(path(name), "a string", *value);
    }
    return value->get<std::string>();
  }

  [[nodiscard]] std::optional<int> optionalInt(std::string_view name, int min, int max) const {
    const json* value = optional(name);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_number_integer()) {
      wrongType(path(name), "an integer", *value);
    }
    // Compare in 64 bits, saturating, so that 2^40 or -2^40 is reported as out of range instead of
    // wrapping into it.
    std::int64_t number = 0;
    if (value->is_number_unsigned()) {
      const auto u = value->get<std::uint64_t>();
      number = u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                   ? std::numeric_limits<std::int64_t>::max()
                   : static_cast<std::int64_t>(u);
    } else {
      number = value->get<std::int64_t>();
    }
    if (number < min || number > max) {
      invalid(path(name), std::to_string(number) + " is out of range: it must be between " +
                              std::to_string(min) + " and " + std::to_string(max));
    }
    return static_cast<int>(number);
  }

  [[nodiscard]] std::optional<bool> optionalBool(std::string_view name) const {
    const json* value = optional(name);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_boolean()) {
      wrongType(path(name), "a boolean", *value);
    }
    return value->get<bool>();
  }

  [[nodiscard]] const json* optionalObject(std::string_view name) const {
    const json* value = optional(name);
    if (value != nullptr && !value->is_object()) {
      wrongType(path(name), "an object", *value);
    }
    return value;
  }

 private:
  // ' (found "prefx": did you mean prefix?)' when an unknown key resembles `name`, else "".
  [[nodiscard]] std::string typoFor(std::string_view name) const {
    for (const UnknownKey& u : unknown_) {
      if (u.suggestion == name) {
        return " (found " + quoteValue(u.key) + ": did you mean " + path(name) + "?)";
      }
    }
    return "";
  }

  const json& object_;
  std::string prefix_;
  std::vector<UnknownKey> unknown_;
};

// The network name becomes a directory under dataDir; anything that could climb out of it or hide
// there (a leading '.') is refused.
void validateName(const std::string& name) {
  if (name.empty()) {
    invalid("name", "is empty: the network name is a directory name in the lease store");
  }
  if (name.size() > kMaxNameLength) {
    invalid("name", quoteValue(name) + " is " + std::to_string(name.size()) +
                        " characters long: a network name holds at most 128");
  }
  if (name.front() == '.') {
    invalid("name", quoteValue(name) +
                        " starts with '.': the network name is a directory name in "
                        "the lease store and may not be hidden or climb out of it");
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) {
      invalid("name", quoteValue(name) +
                          " has a character other than letters, digits, '_', '.' "
                          "and '-' at position " +
                          std::to_string(i) +
                          ": the network name is a directory name in the lease store");
    }
  }
}

void validateAbsolutePath(const std::string& field, const std::string& path) {
  if (path.empty() || path.front() != '/') {
    invalid(field, quoteValue(path) + " is not an absolute path: it must start with '/'");
  }
  if (path.find('\0') != std::string::npos) {
    invalid(field, quoteValue(path) + " holds a NUL byte, which no path can");
  }
}

void validateInterfaceName(const std::string& field, const std::string& name) {
  if (auto problem = interfaceNameProblem(name)) {
    invalid(field, quoteValue(name) + " " + *problem);
  }
}

LogConfig parseLog(const json& object) {
  const FieldReader reader(object, "log.");
  LogConfig log;
  if (auto file = reader.optionalString("file")) {
    if (!file->empty()) {
      validateAbsolutePath("log.file", *file);
    }
    log.file = std::move(*file);
  }
  if (auto level = reader.optionalString("level")) {
    if (!isLogLevel(*level)) {
      invalid("log.level", quoteValue(*level) +
                               " is not a log level: use trace, debug, info, warn, error or off");
    }
    log.level = std::move(*level);
  }
  return log;
}

}  // namespace

// "relay": one IPv4 or a list of them, each a node inside the underlay (a border relay is a node
// of the cluster: its 6rd address is what other nodes route egress to). Duplicates are an error.
std::vector<ipam::Ipv4Addr> parseRelays(const json& value, const ipam::SixrdPlan& plan) {
  std::vector<json> items;
  if (value.is_string()) {
    items.push_back(value);
  } else if (value.is_array()) {
    items.assign(value.begin(), value.end());
    if (items.empty()) invalid("relay", "is an empty list: leave it out for no egress relay");
  } else {
    wrongType("relay", "an IPv4 address or a list of them", value);
  }
  std::vector<ipam::Ipv4Addr> relays;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string field = value.is_array() ? "relay[" + std::to_string(i) + "]" : "relay";
    if (!items[i].is_string()) wrongType(field, "an IPv4 address", items[i]);
    try {
      const ipam::Ipv4Addr address = ipam::parseIpv4(items[i].get<std::string>(), field);
      static_cast<void>(ipam::nodePrefix(plan, address));  // inside the underlay, a node address
      if (std::find(relays.begin(), relays.end(), address) != relays.end()) {
        invalid(field, items[i].get<std::string>() + " is listed twice");
      }
      relays.push_back(address);
    } catch (const ipam::InvalidInput& e) {
      throw Error(Code::kInvalidConfig,
                  field + ": " + std::string(e.what()) + " (a relay is a node of the cluster)");
    }
  }
  return relays;
}

namespace {

// The plugin configuration in `raw`. `owned` is raw itself when the caller gives it up: the
// subtrees kept whole (dns, runtimeConfig, prevResult) are then moved out of it, not copied. A DEL
// through libcni carries the ADD's result as prevResult, and copying it was a tenth of the DEL's
// instructions.
PluginConfig fromJson(const json& raw, json* owned) {
  // The member `key` of raw (known to be there), moved out when raw is given up.
  const auto keep = [owned](const json& value, const char* key) -> json {
    if (owned == nullptr) return value;
    return std::move(owned->find(key).value());
  };
  if (!raw.is_object()) {
    throw Error(Code::kDecodeFailure, std::string("the network configuration must be a JSON "
                                                  "object, not ") +
                                          raw.type_name());
  }
  const UnknownKeys unknown = unknownKeys(raw, kSixrdKeys, true);
  const FieldReader reader(raw, "", unknown.examined);
  PluginConfig config;

  // cniVersion first: every later message is only meaningful if sixrd speaks this version.
  config.cniVersion = reader.requiredString("cniVersion", "the runtime sets it from the conflist");
  if (!isSupported(config.cniVersion)) {
    throw Error(Code::kIncompatibleVersion,
                "cniVersion " + quoteValue(config.cniVersion) + " is not supported: sixrd speaks " +
                    supportedList(),
                {}, "cniVersion");
  }
  config.name = reader.requiredString("name", "the runtime sets it from the conflist");
  validateName(config.name);
  config.type = reader.requiredString("type", "it names the plugin binary, \"sixrd\"");
  if (config.type.empty()) {
    invalid("type", "is empty: it names the plugin binary, \"sixrd\"");
  }

  const std::string prefixText =
      reader.requiredString("prefix",
                            "set it to the cluster's IPv6 6rd prefix, the same on every node, e.g. "
                            "\"fd00:10::/48\"");
  const std::string underlayText = reader.requiredString(
      "underlay", "set it to the IPv4 subnet every node's address is in, e.g. \"10.20.0.0/16\"");
  try {
    const ipam::Ipv6Prefix prefix = ipam::parseIpv6Prefix(prefixText, "prefix");
    const ipam::Ipv4Subnet underlay = ipam::parseIpv4Subnet(underlayText, "underlay");
    config.plan = ipam::SixrdPlan::make(prefix, underlay);
    if (auto nodeIP = reader.optionalString("nodeIP")) {
      const ipam::Ipv4Addr address = ipam::parseIpv4(*nodeIP, "nodeIP");
      // Computing the node prefix is the check: it refuses addresses outside the underlay and
      // the network/broadcast addresses, with the numbers in the message.
      static_cast<void>(ipam::nodePrefix(config.plan, address));
      config.nodeIP = address;
    }
  } catch (const ipam::InvalidInput& e) {
    throw Error(Code::kInvalidConfig, e.what(), {}, e.field());
  }

  // Empty means "not set": templated manifests often render an unset value as "".
  if (auto underlayInterface = reader.optionalString("underlayInterface")) {
    if (!underlayInterface->empty()) {
      validateInterfaceName("underlayInterface", *underlayInterface);
    }
    config.underlayInterface = std::move(*underlayInterface);
  }
  if (auto tunnel = reader.optionalString("tunnel")) {
    validateInterfaceName("tunnel", *tunnel);
    config.tunnel = std::move(*tunnel);
  }
  config.mtu = reader.optionalInt("mtu", kMinMtu, kMaxMtu);
  if (const json* relay = reader.optional("relay")) {
    config.relays = parseRelays(*relay, config.plan);
  }
  config.ttl = reader.optionalInt("ttl", 1, 255).value_or(config.ttl);
  config.tcpMTUProbing = reader.optionalBool("tcpMTUProbing").value_or(config.tcpMTUProbing);
  if (auto dataDir = reader.optionalString("dataDir")) {
    validateAbsolutePath("dataDir", *dataDir);
    config.dataDir = std::move(*dataDir);
  }
  if (const json* log = reader.optionalObject("log")) {
    config.log = parseLog(*log);
  }
  if (const json* dns = reader.optionalObject("dns")) {
    config.dns = keep(*dns, "dns");
  }
  if (const json* runtimeConfig = reader.optionalObject("runtimeConfig")) {
    config.runtimeConfig = keep(*runtimeConfig, "runtimeConfig");
  }
  if (const json* prevResult = reader.optional("prevResult")) {
    config.prevResult = keep(*prevResult, "prevResult");
  }
  // Reads only the log section, which stays in raw.
  config.warnings = keyWarnings(raw, unknown);
  return config;
}

}  // namespace

PluginConfig parseConfig(const json& raw) { return fromJson(raw, nullptr); }

PluginConfig parseConfig(const std::string& stdinBytes) {
  json raw;
  try {
    raw = parseJson(stdinBytes);
  } catch (const json::parse_error& e) {
    throw Error(Code::kDecodeFailure,
                std::string("the network configuration on stdin is not valid JSON: ") + e.what());
  }
  return fromJson(raw, &raw);
}

ConfigPreview previewConfig(std::string_view stdinBytes) noexcept {
  ConfigPreview preview;
  try {
    const json raw = parseJsonOrDiscarded(stdinBytes);
    if (!raw.is_object()) {
      return preview;
    }
    preview.warnings = keyWarnings(raw, unknownKeys(raw, kSixrdKeys, true));
    const auto log = raw.find("log");
    if (log == raw.end() || !log->is_object()) {
      return preview;
    }
    if (const auto file = log->find("file"); file != log->end() && file->is_string()) {
      const auto& path = file->get_ref<const std::string&>();
      if (!path.empty() && path.front() == '/' && path.find('\0') == std::string::npos) {
        preview.log.file = path;
      }
    }
    if (const auto level = log->find("level"); level != log->end() && level->is_string() &&
                                               isLogLevel(level->get_ref<const std::string&>())) {
      preview.log.level = level->get<std::string>();
    }
  } catch (...) {
    // A preview is best effort: what could not be read stays at its default.
  }
  return preview;
}

int podMtu(const PluginConfig& config, int underlayMtu) {
  const int ceiling = underlayMtu - kSixrdOverhead;
  if (ceiling < kMinMtu) {
    throw Error(Code::kInvalidConfig,
                "the underlay MTU " + std::to_string(underlayMtu) +
                    " minus the 20-byte 6rd "
                    "encapsulation header leaves " +
                    std::to_string(ceiling) +
                    " for pods, below the IPv6 minimum of 1280: raise the underlay MTU to at "
                    "least 1300");
  }
  if (!config.mtu) {
    return ceiling;
  }
  if (*config.mtu > ceiling) {
    throw Error(Code::kInvalidConfig,
                "mtu " + std::to_string(*config.mtu) + " is larger than the underlay MTU " +
                    std::to_string(underlayMtu) + " minus the 20-byte 6rd encapsulation header (" +
                    std::to_string(ceiling) +
                    "): packets that large would be dropped where path-MTU discovery is "
                    "filtered; set mtu to at most " +
                    std::to_string(ceiling) + " or remove it to use that default",
                {}, "mtu");
  }
  return *config.mtu;
}

}  // namespace sixrd::cni
