#include "install/installer.hpp"

#include "cni/plugin.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <sstream>
#include <system_error>

#include "cni/caps.hpp"
#include "cni/error.hpp"
#include "cni/json_input.hpp"
#include "cni/version.hpp"
#include "install/egress.hpp"
#include "install/files.hpp"
#include "install/liveness.hpp"
#include "install/reclaim.hpp"
#include "ipam/lease_store.hpp"

namespace sixrd::install {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr mode_t kBinaryMode = 0755;
constexpr mode_t kConflistMode = 0644;
constexpr std::string_view kBinaryName = "sixrd";

// The setting behind a config field (cni::Error::field()), so that the plugin's reason can be put
// in terms of what the user typed.
const Setting* settingOfField(const std::optional<std::string>& field) {
  struct Field {
    std::string_view name;
    const Setting* setting;
  };
  static constexpr Field kFields[] = {
      {"prefix", &kPrefix},    {"underlay", &kUnderlay},
      {"nodeIP", &kNodeIp},    {"underlayInterface", &kUnderlayInterface},
      {"tunnel", &kTunnel},    {"mtu", &kMtu},
      {"dataDir", &kDataDir},  {"log.file", &kLogFile},
      {"name", &kNetworkName}, {"cniVersion", &kCniVersion},
  };
  if (!field) return nullptr;
  for (const auto& f : kFields) {
    if (*field == f.name) return f.setting;
  }
  return nullptr;
}

[[noreturn]] void refused(const cni::Error& e) {
  const Setting* s = settingOfField(e.field());
  const std::string field = s != nullptr ? std::string(s->flag) : std::string("configuration");
  throw UsageError(field, fmt::format("{}the plugin would refuse this configuration: {}; nothing "
                                      "was written",
                                      s != nullptr ? named(*s) + ": " : "", e.what()));
}

ordered_json chainElement(std::string_view type) {
  if (type == "portmap") {
    return {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}};
  }
  if (type == "bandwidth") {
    return {{"type", "bandwidth"}, {"capabilities", {{"bandwidth", true}}}};
  }
  return {{"type", "tuning"}, {"capabilities", {{"mac", true}}}};
}

// Config files the runtime would pick before ours: kubelet/containerd/CRI-O use the first
// *.conf, *.conflist or *.json file by name.
std::vector<std::string> configsBefore(const Paths& paths) {
  std::vector<std::string> before;
  const fs::path dir = paths.conflist().parent_path();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string ext = entry.path().extension().string();
    if ((ext == ".conf" || ext == ".conflist" || ext == ".json") && name < paths.conflistName) {
      before.push_back(name);
    }
  }
  std::sort(before.begin(), before.end());
  return before;
}

// Whether this process lacks CAP_NET_ADMIN (false when that cannot be told: the kernel's EPERM
// will say it then).
bool lacksNetAdmin() noexcept {
  try {
    const auto missing = cni::missingCapabilities();
    return std::find(missing.begin(), missing.end(), "CAP_NET_ADMIN") != missing.end();
  } catch (...) {
    return false;
  }
}

bool isForwardingOnly(const std::vector<std::string>& problems) {
  return problems.size() == 1 && problems.front().find("forwarding") != std::string::npos;
}

bool overlaps(const ipam::Ipv6Prefix& a, const ipam::Ipv6Prefix& b) {
  return a.len <= b.len ? ipam::contains(a, b.addr) : ipam::contains(b, a.addr);
}

}  // namespace

std::optional<std::string> lookup(const Setting& setting,
                                  const std::optional<std::string>& flagValue,
                                  const cni::Environment& env) {
  if (flagValue) return flagValue;
  if (auto value = env(std::string(setting.env)); value && !value->empty()) return value;
  return std::nullopt;
}

fs::path Paths::binary() const {
  return hostRoot / fs::path(cniBinDir).relative_path() / kBinaryName;
}

fs::path Paths::conflist() const {
  return hostRoot / fs::path(cniConfDir).relative_path() / conflistName;
}

void Paths::validate() const {
  for (const auto& [setting, dir] : {std::pair{kCniBinDir, cniBinDir}, {kCniConfDir, cniConfDir}}) {
    const fs::path asPath(dir);
    if (std::any_of(asPath.begin(), asPath.end(), [](const fs::path& p) { return p == ".."; })) {
      throw UsageError(
          std::string(setting.flag),
          fmt::format("{} \"{}\" has a \"..\" component: give the directory on the "
                      "node as a plain absolute path, e.g. {}",
                      named(setting), dir,
                      setting.flag == kCniBinDir.flag ? "/opt/cni/bin" : "/etc/cni/net.d"));
    }
    if (dir.empty() || dir.front() != '/') {
      throw UsageError(
          std::string(setting.flag),
          fmt::format("{} \"{}\" is not an absolute path: it is the directory on the "
                      "node, e.g. {}",
                      named(setting), dir,
                      setting.flag == kCniBinDir.flag ? "/opt/cni/bin" : "/etc/cni/net.d"));
    }
  }
  if (conflistName.empty() || conflistName.find('/') != std::string::npos ||
      conflistName.front() == '.' || !conflistName.ends_with(".conflist") ||
      conflistName == ".conflist") {
    throw UsageError(
        std::string(kConflistName.flag),
        fmt::format("{} \"{}\" must be a plain file name ending in .conflist (runtimes "
                    "read a plugin list only from such files), e.g. 10-sixrd.conflist",
                    named(kConflistName), conflistName));
  }
}

ordered_json makeConflist(const InstallSettings& s, const std::optional<std::string>& nodeIp,
                          const ListVersions& versions) {
  ordered_json plugin = {{"type", "sixrd"}, {"prefix", s.prefix}, {"underlay", s.underlay}};
  if (nodeIp) plugin["nodeIP"] = *nodeIp;
  if (!s.underlayInterface.empty()) plugin["underlayInterface"] = s.underlayInterface;
  if (!s.tunnel.empty()) plugin["tunnel"] = s.tunnel;
  if (s.mtu) plugin["mtu"] = *s.mtu;
  if (!s.dataDir.empty()) plugin["dataDir"] = s.dataDir;
  if (!s.logFile.empty()) plugin["log"] = {{"file", s.logFile}};

  ordered_json plugins = ordered_json::array({plugin});
  std::vector<std::string_view> seen;
  for (const auto& type : s.chain) {
    if (std::find(std::begin(kChainable), std::end(kChainable), type) == std::end(kChainable)) {
      throw UsageError(std::string(kChain.flag),
                       fmt::format("{}: \"{}\" is not a meta plugin sixrd chains: use a comma list "
                                   "of portmap, bandwidth, tuning (or an empty value for none)",
                                   named(kChain), type));
    }
    if (std::find(seen.begin(), seen.end(), type) != seen.end()) {
      throw UsageError(std::string(kChain.flag),
                       fmt::format("{}: \"{}\" is listed twice", named(kChain), type));
    }
    seen.emplace_back(type);
    plugins.push_back(chainElement(type));
  }
  ordered_json list = {{"cniVersion", versions.cniVersion}};
  if (!versions.cniVersions.empty()) list["cniVersions"] = versions.cniVersions;
  list["name"] = s.networkName;
  list["plugins"] = plugins;
  return list;
}

std::vector<std::string> serviceCidrWarnings(const InstallSettings& settings,
                                             const ipam::Ipv6Prefix& prefix) {
  std::vector<std::string> warnings;
  std::vector<ipam::Ipv6Prefix> services;
  for (const auto& text : settings.serviceCidrs) {
    try {
      if (text.find(':') == std::string::npos) {
        static_cast<void>(ipam::parseIpv4Subnet(text, kServiceCidr.flag));
        continue;  // IPv4 services cannot collide with IPv6 pods
      }
      services.push_back(ipam::parseIpv6Prefix(text, kServiceCidr.flag));
    } catch (const ipam::InvalidInput& e) {
      throw UsageError(
          std::string(kServiceCidr.flag),
          fmt::format("{} \"{}\" is not a CIDR: {}", named(kServiceCidr), text, e.what()));
    }
    if (overlaps(services.back(), prefix)) {
      warnings.push_back(fmt::format(
          "SERVICE CIDR OVERLAP: the service CIDR {} ({}) overlaps the pod prefix {}: a pod "
          "whose address is also a Service ClusterIP cannot be reached (kube-proxy takes that "
          "traffic); choose a prefix outside every service CIDR",
          text, named(kServiceCidr), ipam::formatPrefix(prefix)));
    }
  }
  if (const auto& host = settings.kubernetesServiceHost;
      host && host->find(':') != std::string::npos) {
    ipam::Ipv6Addr addr{};
    try {
      addr = ipam::parseIpv6(*host, kKubernetesServiceHost);
    } catch (const ipam::InvalidInput&) {
      return warnings;  // not ours to judge
    }
    const bool told = std::any_of(services.begin(), services.end(), [&](const auto& svc) {
      return ipam::contains(svc, addr) && overlaps(svc, prefix);
    });
    if (ipam::contains(prefix, addr) && !told) {
      warnings.push_back(fmt::format(
          "SERVICE CIDR OVERLAP: the kubernetes Service's ClusterIP {} ({}, the first address "
          "of the cluster's service CIDR) lies inside the pod prefix {}: pods whose addresses "
          "are also ClusterIPs cannot be reached (kube-proxy takes that traffic); choose a "
          "prefix outside the service CIDR (kind's IPv6 default is fd00:10:96::/112), or give "
          "{} to check it",
          *host, kKubernetesServiceHost, ipam::formatPrefix(prefix), named(kServiceCidr)));
    }
  }
  return warnings;
}

json pluginStdin(const json& conf) {
  if (!conf.is_object()) throw InstallError("the network configuration is not a JSON object");
  const auto plugins = conf.find("plugins");
  if (plugins == conf.end()) {
    // A single-plugin .conf is handed over as it is.
    if (conf.value("type", json()) != "sixrd") {
      throw InstallError(
          "the network configuration is not a sixrd one: its \"type\" is not "
          "\"sixrd\" and it has no \"plugins\" list");
    }
    return conf;
  }
  if (plugins->is_array()) {
    for (const auto& element : *plugins) {
      if (element.is_object() && element.value("type", json()) == "sixrd") {
        json in = element;
        if (conf.contains("name")) in["name"] = conf["name"];
        if (conf.contains("cniVersion")) in["cniVersion"] = conf["cniVersion"];
        return in;
      }
    }
  }
  throw InstallError("the network configuration list has no plugin of type \"sixrd\"");
}

cni::PluginConfig validateConflist(const ordered_json& conflist) {
  try {
    return cni::parseConfig(pluginStdin(json::parse(conflist.dump())).dump());
  } catch (const cni::Error& e) {
    refused(e);
  }
}

TunnelOutcome ensureNodeTunnel(const cni::PluginConfig& config, tunnel::Datapath& datapath,
                               const tunnel::Node& node) {
  const tunnel::NodeSpec spec = cni::nodeSpec(config);
  TunnelOutcome outcome;
  outcome.repaired = datapath.verifyTunnel(spec, node);
  try {
    datapath.ensureTunnel(spec, node);
  } catch (const tunnel::SitUnavailable& e) {
    throw InstallError(fmt::format(
        "the host kernel has no sit/6rd support, which the tunnel needs: load it on the host with "
        "`modprobe sit` (and list sit in /etc/modules-load.d/ to load it at every boot), or use a "
        "kernel built with CONFIG_IPV6_SIT and CONFIG_IPV6_SIT_6RD; {1} installs without the "
        "tunnel [{0}]",
        e.what(), named(kNoTunnel)));
  } catch (const tunnel::SysctlError& e) {
    // Everything but the forwarding sysctl is netlink; /proc/sys is read-only in an unprivileged
    // container. Accept that one gap: the plugin runs on the host and switches it on at ADD.
    if (!isForwardingOnly(datapath.verifyTunnel(spec, node))) throw;
    outcome.warning = fmt::format(
        "IPv6 forwarding is off and cannot be switched on from here ({}): the plugin switches it "
        "on at the first pod ADD, or set net.ipv6.conf.all.forwarding=1 on the host",
        e.what());
  }
  return outcome;
}

namespace {

// SIXRD_NODE_IP as a hint: nullopt (with a warning saying why) unless it is an IPv4 address inside
// the underlay.
std::optional<ipam::Ipv4Addr> nodeIpHint(const InstallSettings& settings,
                                         const cni::PluginConfig& config,
                                         std::vector<std::string>& warnings) {
  if (settings.nodeIp || !settings.nodeIpHint || settings.nodeIpHint->empty()) return std::nullopt;
  const std::string& text = *settings.nodeIpHint;
  if (text.find(':') != std::string::npos) {
    spdlog::warn(
        "{}={} is not IPv4 (the kubelet's primary address on an IPv6-primary node): using the "
        "node's IPv4 address inside the underlay instead",
        kNodeIp.env, text);
    return std::nullopt;
  }
  ipam::Ipv4Addr addr = 0;
  try {
    addr = ipam::parseIpv4(text, kNodeIp.env);
  } catch (const ipam::InvalidInput& e) {
    warnings.push_back(
        fmt::format("{} is not used: {}; the node's IPv4 address inside the "
                    "underlay is used instead",
                    kNodeIp.env, e.what()));
    return std::nullopt;
  }
  if (!ipam::contains(config.plan.underlay, addr)) {
    warnings.push_back(fmt::format(
        "{}={} (the kubelet's address) is outside underlay {}: the kubelet talks on another "
        "network; the tunnel uses the node's IPv4 address inside the underlay",
        kNodeIp.env, text, ipam::formatSubnet(config.plan.underlay)));
    return std::nullopt;
  }
  return addr;
}

// The node as the plugin will find it at ADD time (no address pinned), the hint deciding only
// what the node's addresses leave open: then its interface, or failing that the address itself,
// is written into `written` / `writtenNodeIp`.
tunnel::Node resolveWithHint(tunnel::Datapath& datapath, const tunnel::NodeSpec& spec,
                             const std::optional<ipam::Ipv4Addr>& hint, InstallSettings& written,
                             std::optional<std::string>& writtenNodeIp,
                             std::vector<std::string>& warnings) {
  if (!hint) return datapath.resolveNode(spec);
  std::optional<tunnel::NodeError> unhinted;
  try {
    tunnel::Node node = datapath.resolveNode(spec);
    if (node.prefix.nodeIp != *hint) {
      warnings.push_back(fmt::format(
          "{}={} (the kubelet's address) is not the node IPv4 sixrd finds inside the underlay, "
          "{} on {}: the tunnel uses {}; pass {} to pin another address",
          kNodeIp.env, ipam::formatIpv4(*hint), ipam::formatIpv4(node.prefix.nodeIp),
          node.underlayInterface, ipam::formatIpv4(node.prefix.nodeIp), kNodeIp.flag));
    }
    return node;
  } catch (const tunnel::NodeError& e) {
    unhinted = e;
  }
  tunnel::NodeSpec hinted = spec;
  hinted.nodeIp = hint;
  tunnel::Node node;
  try {
    node = datapath.resolveNode(hinted);
  } catch (const tunnel::NodeError& e) {
    throw tunnel::NodeError(fmt::format("{} (and {}={} is not an address of this node either)",
                                        unhinted->what(), kNodeIp.env, ipam::formatIpv4(*hint)));
  }
  // Pin the interface when that is enough: the address on it may change with the node.
  if (spec.underlayInterface.empty()) {
    tunnel::NodeSpec byInterface = spec;
    byInterface.underlayInterface = node.underlayInterface;
    try {
      if (datapath.resolveNode(byInterface).prefix.nodeIp == *hint) {
        written.underlayInterface = node.underlayInterface;
        warnings.push_back(fmt::format(
            "{}; {}={} (the kubelet's address) decides: underlayInterface {} is written",
            unhinted->what(), kNodeIp.env, ipam::formatIpv4(*hint), node.underlayInterface));
        return node;
      }
    } catch (const tunnel::NodeError&) {
      // The interface alone does not decide: the address is pinned below.
    }
  }
  writtenNodeIp = ipam::formatIpv4(*hint);
  warnings.push_back(fmt::format(
      "{}; {}={} (the kubelet's address) decides: nodeIP {} is written (renumbering this node "
      "then needs a new install)",
      unhinted->what(), kNodeIp.env, ipam::formatIpv4(*hint), ipam::formatIpv4(*hint)));
  return node;
}

}  // namespace

InstallReport install(const InstallSettings& settings, const Context& context) {
  settings.paths.validate();
  if (settings.prefix.empty()) {
    throw UsageError(std::string(kPrefix.flag),
                     fmt::format("{} is required: the cluster's IPv6 6rd prefix, the same on every "
                                 "node, e.g. fdcd:6a70::/48",
                                 named(kPrefix)));
  }
  if (settings.underlay.empty()) {
    throw UsageError(std::string(kUnderlay.flag),
                     fmt::format("{} is required: the IPv4 subnet every node's address is in, "
                                 "e.g. 10.20.0.0/16",
                                 named(kUnderlay)));
  }

  // Everything that can be refused is refused before the kernel or the disk is touched.
  const ListVersions asked{
      settings.cniVersion.empty() ? std::string(kDefaultCniVersion) : settings.cniVersion, {}};
  cni::PluginConfig config = validateConflist(makeConflist(settings, settings.nodeIp, asked));
  InstallReport report;
  report.warnings = serviceCidrWarnings(settings, config.plan.prefix);
  const std::vector<ChainedPlugin> chain = probeChain(settings);
  for (const auto& p : chain) {
    if (!p.supportedVersions) {
      report.warnings.push_back(
          fmt::format("the CNI versions of the chained plugin {} in {} were not checked: {}; "
                      "cniVersion {} (which the reference plugins speak since their 1.0) is "
                      "written without cniVersions",
                      p.type, settings.paths.cniBinDir, p.why, kDefaultCniVersion));
    }
  }
  report.versions = negotiateVersions(settings.cniVersion, chain);
  const std::string binary = readFile(context.selfExe);

  const std::optional<ipam::Ipv4Addr> hint = nodeIpHint(settings, config, report.warnings);
  // What the conflist pins: an ordered --node-ip, else only what the hint had to decide.
  InstallSettings written = settings;
  std::optional<std::string> writtenNodeIp = settings.nodeIp;

  std::unique_ptr<tunnel::Datapath> datapath;
  std::optional<tunnel::Node> node;
  // Without --node-ip or with the tunnel the node is resolved anyway; a file-only install with
  // --node-ip looks at the node only to check an --mtu against the interface it names.
  // A hint counts as an address here: a file-only install does not need the node to have it.
  const bool haveAddress = settings.nodeIp || hint;
  const bool mtuOnly =
      settings.noTunnel && haveAddress && settings.mtu && !settings.underlayInterface.empty();
  if (!haveAddress || !settings.noTunnel || mtuOnly) {
    datapath = context.makeDatapath();
    try {
      node = resolveWithHint(*datapath, cni::nodeSpec(config), hint, written, writtenNodeIp,
                             report.warnings);
    } catch (const tunnel::NodeError& e) {
      if (!mtuOnly) {
        throw InstallError(fmt::format("cannot find this node's IPv4 address: {}; set {} or {}",
                                       e.what(), named(kNodeIp), named(kUnderlayInterface)));
      }
      report.warnings.push_back(fmt::format(
          "{} {} is not checked against the underlay: {}; every pod ADD refuses an mtu above the "
          "MTU of {} minus 20",
          named(kMtu), *settings.mtu, e.what(), settings.underlayInterface));
    }
    if (node) {
      try {
        static_cast<void>(cni::podMtu(config, node->underlayMtu));
      } catch (const cni::Error& e) {
        refused(e);
      }
    }
  } else if (settings.mtu) {
    report.warnings.push_back(fmt::format(
        "{} {} is not checked against the underlay: with {} and {} the node's interfaces are not "
        "looked at; give {} to check it here. Every pod ADD refuses an mtu above the underlay "
        "interface's MTU minus 20 (1480 on a 1500-byte underlay)",
        named(kMtu), *settings.mtu, kNoTunnel.flag, kNodeIp.flag, named(kUnderlayInterface)));
  }
  const ordered_json conflist = makeConflist(written, writtenNodeIp, report.versions);
  config = validateConflist(conflist);
  report.tunnelName = config.tunnel;
  const ipam::Ipv4Addr nodeIp = node ? node->prefix.nodeIp : config.nodeIP ? *config.nodeIP : *hint;
  report.nodeIp = ipam::formatIpv4(nodeIp);
  report.nodePrefix = ipam::formatPrefix(ipam::nodePrefix(config.plan, nodeIp).node64);

  if (!settings.noTunnel) {
    if (context.checkCapabilities && lacksNetAdmin()) {
      throw InstallError(fmt::format(
          "bringing up the tunnel needs CAP_NET_ADMIN, which this process lacks: run as root on "
          "the node, give the container NET_ADMIN, or pass {} to write the files only; nothing "
          "was written",
          named(kNoTunnel)));
    }
    try {
      report.tunnel = ensureNodeTunnel(config, *datapath, *node);
    } catch (const std::exception& e) {
      throw InstallError(fmt::format("{}; nothing was written", e.what()));
    }
    report.tunnelEnsured = true;
  }

  // Each directory resolved in the host root as the node sees it: a symlink there (even an
  // absolute one) or a ".." never leads the write out of it.
  report.binary = *dirUnderRoot(settings.paths.hostRoot, settings.paths.cniBinDir, true) /
                  std::string(kBinaryName);
  report.conflist = *dirUnderRoot(settings.paths.hostRoot, settings.paths.cniConfDir, true) /
                    settings.paths.conflistName;
  report.binaryWritten = writeFileAtomic(report.binary, binary, kBinaryMode);
  report.conflistWritten = writeFileAtomic(report.conflist, conflist.dump(2) + "\n", kConflistMode);

  if (const auto before = configsBefore(settings.paths); !before.empty()) {
    report.warnings.push_back(fmt::format(
        "{} sorts before {} in {}: runtimes use the first network configuration by name, so "
        "sixrd is not in use; remove it or choose a {} that sorts first (e.g. 00-sixrd.conflist)",
        before.front(), settings.paths.conflistName, settings.paths.cniConfDir,
        named(kConflistName)));
  }
  return report;
}

UninstallReport uninstall(const Paths& paths) {
  Context context;
  return uninstall(paths, false, context);
}

UninstallReport uninstall(const Paths& paths, bool removeTunnel, const Context& context) {
  paths.validate();
  UninstallReport report;
  report.binary = paths.binary();
  report.conflist = paths.conflist();
  // Resolved in the host root (see install); a directory that is not there holds nothing to remove.
  const auto binDir = dirUnderRoot(paths.hostRoot, paths.cniBinDir, false);
  const auto confDir = dirUnderRoot(paths.hostRoot, paths.cniConfDir, false);
  if (binDir) report.binary = *binDir / std::string(kBinaryName);
  if (confDir) report.conflist = *confDir / paths.conflistName;
  std::optional<json> element;
  if (const auto content = confDir ? readFileIfExists(report.conflist) : std::nullopt) {
    json conf;
    try {
      conf = cni::parseJson(*content);
    } catch (const json::parse_error&) {
      conf = json(json::value_t::discarded);  // not sixrd's: refused below
    } catch (const cni::Error& e) {
      throw InstallError(fmt::format("{}: {}; not removing it, nor {}", report.conflist.string(),
                                     e.what(), report.binary.string()));
    }
    try {
      element = pluginStdin(conf);
    } catch (const InstallError&) {
      throw InstallError(
          fmt::format("{} is not a sixrd network configuration (no plugin of type "
                      "\"sixrd\"): not removing it, nor {}",
                      report.conflist.string(), report.binary.string()));
    }
  }

  std::unique_ptr<tunnel::Datapath> datapath;
  if (removeTunnel) {
    // The conflist's own settings, read field by field: an old or hand-edited one that the plugin
    // would now refuse still names its tunnel and its lease store.
    auto field = [&](const char* key, std::string fallback) {
      if (element && element->contains(key) && (*element)[key].is_string() &&
          !(*element)[key].get<std::string>().empty()) {
        return (*element)[key].get<std::string>();
      }
      return fallback;
    };
    report.tunnelName = field("tunnel", "sixrd0");
    const std::string dataDir = field("dataDir", "/run/sixrd");
    const std::string network = field("name", "");
    // The tunnel goes only when it is this network's (its owner mark, or, unmarked, its 6rd
    // prefix): a prefix the plugin would refuse just leaves an unmarked tunnel in place.
    std::optional<ipam::Ipv6Prefix> prefix;
    try {
      if (const std::string text = field("prefix", ""); !text.empty()) {
        prefix = ipam::parseIpv6Prefix(text, "prefix");
      }
    } catch (const ipam::Error&) {
      prefix.reset();
    }
    report.tunnelNetwork = network;
    report.tunnelPrefix = prefix;
    if (context.checkCapabilities && lacksNetAdmin()) {
      throw InstallError(
          "removing the tunnel needs CAP_NET_ADMIN, which this process lacks: run as root on the "
          "node or give the container NET_ADMIN; nothing was removed");
    }
    datapath = context.makeDatapath();
    std::vector<std::string> holders;
    for (const auto& veth : datapath->listHostVeths()) {
      holders.push_back(fmt::format("host veth {} ({})", veth.name,
                                    veth.alias.empty() ? "no owner recorded" : veth.alias));
    }
    const auto storeDir = dirUnderRoot(paths.hostRoot, dataDir, false);
    const fs::path store = storeDir ? *storeDir : fs::path();
    std::vector<std::string> networks;
    if (!storeDir) {
      // No lease store under the host root: no lease holds the tunnel.
    } else if (!network.empty()) {
      networks.push_back(network);
    } else {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(store, ec)) {
        if (entry.is_directory(ec)) networks.push_back(entry.path().filename().string());
      }
    }
    for (const auto& net : networks) {
      try {
        for (const auto& lease : ipam::LeaseStore(store, net).list()) {
          holders.push_back(fmt::format("lease {} of container {} ({}) in {}",
                                        ipam::formatIpv6(lease.address), lease.owner.containerId,
                                        lease.owner.ifname, (store / net).string()));
        }
      } catch (const ipam::InvalidInput&) {
        // A directory name no network can have is not a lease store.
      }
    }
    if (!holders.empty()) {
      const std::size_t shown = std::min<std::size_t>(holders.size(), 10);
      throw InstallError(fmt::format(
          "tunnel {} is still in use on this node: {}{}; delete those pods first (kubectl drain "
          "the node); a lease whose pod is gone goes with the runtime's CNI GC, or delete its "
          "file; "
          "nothing was removed",
          report.tunnelName,
          joined(std::vector<std::string>(holders.begin(),
                                          holders.begin() + static_cast<std::ptrdiff_t>(shown))),
          holders.size() > shown ? fmt::format(" and {} more", holders.size() - shown) : ""));
    }
  }

  report.conflistRemoved = confDir && removeFile(report.conflist);
  report.binaryRemoved = binDir && removeFile(report.binary);
  if (removeTunnel) {
    try {
      report.removed =
          datapath->removeTunnel(report.tunnelName, report.tunnelNetwork, report.tunnelPrefix);
    } catch (const std::exception& e) {
      throw InstallError(fmt::format("{} and {} were removed, but not the tunnel: {}",
                                     report.conflist.string(), report.binary.string(), e.what()));
    }
  }
  return report;
}

int waitForStopSignal() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (sigprocmask(SIG_BLOCK, &stop, nullptr) != 0) {
    throw std::system_error(errno, std::generic_category(), "block SIGTERM and SIGINT");
  }
  for (;;) {
    const int sig = sigwaitinfo(&stop, nullptr);
    if (sig > 0) return sig;
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "wait for SIGTERM");
  }
}

json readConf(const fs::path& file) {
  std::optional<std::string> content;
  try {
    content = readFileIfExists(file);
  } catch (const std::system_error& e) {
    throw InstallError(fmt::format("cannot read the network configuration: {}", e.what()));
  }
  if (!content) {
    throw InstallError(
        fmt::format("no network configuration at {}: is sixrd installed on this "
                    "node (sixrd install)?",
                    file.string()));
  }
  try {
    return cni::parseJson(*content);
  } catch (const json::parse_error& e) {
    throw InstallError(fmt::format("{} is not valid JSON: {}", file.string(), e.what()));
  } catch (const cni::Error& e) {
    throw InstallError(fmt::format("{}: {}", file.string(), e.what()));
  }
}

std::vector<ipam::Lease> staleLeases(const cni::PluginConfig& config,
                                     const ipam::Ipv6Prefix& node64, const fs::path& hostRoot) {
  const fs::path store = hostRoot / fs::path(config.dataDir).relative_path();
  std::error_code ec;
  if (!fs::is_directory(store / config.name, ec)) return {};
  std::vector<ipam::Lease> stale;
  for (auto& lease : ipam::LeaseStore(store, config.name).list()) {
    if (!ipam::contains(node64, lease.address)) stale.push_back(std::move(lease));
  }
  return stale;
}

std::vector<std::string> describeLeases(const std::vector<ipam::Lease>& leases) {
  std::vector<std::string> out;
  out.reserve(leases.size());
  for (const auto& l : leases) {
    out.push_back(fmt::format("{} (container {}, {})", ipam::formatIpv6(l.address),
                              l.owner.containerId, l.owner.ifname));
  }
  return out;
}

StatusReport status(const json& conf, const cni::PluginOptions& options, std::string_view logLevel,
                    const fs::path& hostRoot) {
  json in = pluginStdin(conf);
  in["cniVersion"] = std::string(cni::kLatestVersion);
  in["log"] = {{"level", std::string(logLevel)}};
  cni::PluginOptions opts = options;
  opts.logToStderr = logLevel != "off";

  const cni::Environment env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "CNI_COMMAND") return "STATUS";
    return std::nullopt;
  };
  std::istringstream stdinStream(in.dump());
  std::ostringstream out;
  StatusReport report;
  if (cni::runPlugin(env, stdinStream, out, opts) != 0) {
    const json error = cni::parseJsonOrDiscarded(out.str());
    const std::string msg = error.is_object() ? error.value("msg", out.str()) : out.str();
    const unsigned code = error.is_object() ? error.value("code", 0U) : 0U;
    report.line = fmt::format("not ready: {} (CNI error {})", msg, code);
    if (lacksNetAdmin()) {
      report.line +=
          "; this process lacks CAP_NET_ADMIN, so the answer may be its own: run as root";
    }
    return report;
  }
  // runPlugin accepted it, so this parse cannot fail; STATUS resolved the node, so this does too.
  const cni::PluginConfig config = cni::parseConfig(in.dump());
  const tunnel::Node node = opts.makeDatapath()->resolveNode(cni::nodeSpec(config));
  report.ready = true;
  report.line = fmt::format(
      "ready: network {} can serve ADD (prefix {}, underlay {}, node {} with {}, tunnel {})",
      config.name, ipam::formatPrefix(config.plan.prefix), ipam::formatSubnet(config.plan.underlay),
      ipam::formatIpv4(node.prefix.nodeIp), ipam::formatPrefix(node.prefix.node64), config.tunnel);
  try {
    report.stalePods = describeLeases(staleLeases(config, node.prefix.node64, hostRoot));
  } catch (const std::exception& e) {
    report.line += fmt::format("; the lease store could not be read: {}", e.what());
  }
  if (!report.stalePods.empty()) {
    report.line += fmt::format(
        "; {} pod(s) still hold an address outside this node's {} (the node IPv4 changed since "
        "their ADD; restart them to give them one inside it): {}",
        report.stalePods.size(), ipam::formatPrefix(node.prefix.node64), joined(report.stalePods));
  }
  return report;
}

TunnelOutcome reconcile(const fs::path& conf, tunnel::Datapath& datapath) {
  const cni::PluginConfig config = cni::parseConfig(pluginStdin(readConf(conf)).dump());
  const tunnel::Node node = datapath.resolveNode(cni::nodeSpec(config));
  TunnelOutcome outcome = ensureNodeTunnel(config, datapath, node);
  outcome.node = node;
  return outcome;
}

int runDaemon(const DaemonSettings& settings, const Context& context) {
  if (settings.intervalSeconds < 1) {
    throw UsageError("--interval", "--interval must be at least 1 second");
  }
  if (settings.reclaimGraceSeconds < 0) {
    throw UsageError("--reclaim-grace", "--reclaim-grace must be 0 (off) or a number of seconds");
  }
  Reclaimer reclaimer{std::chrono::seconds(settings.reclaimGraceSeconds)};
  std::string lastReclaimProblem;
  if (settings.reclaimGraceSeconds > 0) {
    spdlog::info("sixrd daemon: reclaiming leases and host veths whose pod is gone, after {} s",
                 settings.reclaimGraceSeconds);
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigset_t previous;
  if (sigprocmask(SIG_BLOCK, &stop, &previous) != 0) {
    throw std::system_error(errno, std::generic_category(), "block SIGTERM and SIGINT");
  }
  struct Restore {
    const sigset_t& set;
    ~Restore() { sigprocmask(SIG_SETMASK, &set, nullptr); }
  } restore{previous};

  spdlog::info("sixrd daemon: keeping the tunnel of {} up, every {} s", settings.conf.string(),
               settings.intervalSeconds);
  std::string lastProblem;
  std::optional<ipam::Ipv4Addr> lastNodeIp;
  std::vector<std::string> lastStale;
  std::string lastHeartbeatProblem;
  for (int round = 1;; ++round) {
    if (!settings.heartbeat.empty()) {
      // First thing in the round: a round that hangs leaves the heartbeat aging.
      std::string heartbeatProblem;
      try {
        writeHeartbeat(settings.heartbeat,
                       {getpid(), round, settings.intervalSeconds, bootSeconds()});
      } catch (const std::exception& e) {
        heartbeatProblem = fmt::format("cannot write the heartbeat {} (liveness will fail): {}",
                                       settings.heartbeat.string(), e.what());
      }
      if (heartbeatProblem != lastHeartbeatProblem && !heartbeatProblem.empty()) {
        spdlog::warn("{}", heartbeatProblem);
      }
      lastHeartbeatProblem = heartbeatProblem;
    }
    std::string problem;
    try {
      const auto datapath = context.makeDatapath();
      const TunnelOutcome outcome = reconcile(settings.conf, *datapath);
      for (const auto& r : outcome.repaired) spdlog::info("repaired: {}", r);
      if (outcome.repaired.empty()) spdlog::debug("tunnel is as configured");
      if (outcome.warning) problem = *outcome.warning;
      const tunnel::Node& node = *outcome.node;
      if (lastNodeIp && *lastNodeIp != node.prefix.nodeIp) {
        spdlog::warn(
            "the node IPv4 changed from {} to {}: the tunnel now uses {} and the node owns {}; "
            "new pods get addresses there",
            ipam::formatIpv4(*lastNodeIp), ipam::formatIpv4(node.prefix.nodeIp),
            ipam::formatIpv4(node.prefix.nodeIp), ipam::formatPrefix(node.prefix.node64));
      }
      lastNodeIp = node.prefix.nodeIp;
      const cni::PluginConfig config =
          cni::parseConfig(pluginStdin(readConf(settings.conf)).dump());
      const auto stale = describeLeases(staleLeases(config, node.prefix.node64, settings.hostRoot));
      if (stale != lastStale && !stale.empty()) {
        spdlog::warn(
            "{} pod(s) still hold an address outside this node's {} (the node IPv4 changed "
            "since their ADD; other nodes no longer route it here): restart them: {}",
            stale.size(), ipam::formatPrefix(node.prefix.node64), joined(stale));
      }
      lastStale = stale;
    } catch (const std::exception& e) {
      problem = fmt::format("cannot ensure the tunnel (retrying in {} s): {}",
                            settings.intervalSeconds, e.what());
    }
    // The same problem every round is news once.
    if (problem != lastProblem) {
      if (problem.empty()) {
        spdlog::info("tunnel is as configured again");
      } else {
        spdlog::warn("{}", problem);
      }
      lastProblem = problem;
    }
    try {
      // Egress: keep the route on the relays that answer.
      const cni::PluginConfig config =
          cni::parseConfig(pluginStdin(readConf(settings.conf)).dump());
      if (!config.relays.empty()) {
        const auto datapath = context.makeDatapath();
        const auto prober = context.makeProber();
        const tunnel::Node node = datapath->resolveNode(cni::nodeSpec(config));
        for (const auto& c : steerEgress(config, node, *datapath, *prober)) {
          spdlog::warn("egress: {}", c);
        }
      }
    } catch (const std::exception& e) {
      spdlog::warn("cannot steer egress (retrying in {} s): {}", settings.intervalSeconds,
                   e.what());
    }
    if (settings.reclaimGraceSeconds > 0) {
      // What the runtime's DEL or GC should have removed, when a chained plugin failed first.
      std::string reclaimProblem;
      try {
        const auto datapath = context.makeDatapath();
        reclaimer.runFor(settings.conf, settings.hostRoot, *datapath);
      } catch (const std::exception& e) {
        reclaimProblem = fmt::format("reclaim pass failed (retrying in {} s): {}",
                                     settings.intervalSeconds, e.what());
      }
      if (reclaimProblem != lastReclaimProblem && !reclaimProblem.empty()) {
        spdlog::warn("{}", reclaimProblem);
      }
      lastReclaimProblem = reclaimProblem;
    }
    if (settings.rounds > 0 && round >= settings.rounds) return 0;

    const timespec wait{settings.intervalSeconds, 0};
    const int sig = sigtimedwait(&stop, nullptr, &wait);
    if (sig > 0) {
      spdlog::info("sixrd daemon: SIG{} received, exiting", sigabbrev_np(sig));
      return 0;
    }
    if (errno != EAGAIN && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "wait for SIGTERM");
    }
  }
}

}  // namespace sixrd::install
