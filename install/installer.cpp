#include "install/installer.hpp"

#include "cni/plugin.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <sstream>
#include <system_error>

#include "cni/caps.hpp"
#include "cni/error.hpp"
#include "cni/version.hpp"
#include "install/files.hpp"

namespace sixrd::install {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr mode_t kBinaryMode = 0755;
constexpr mode_t kConflistMode = 0644;
constexpr std::string_view kBinaryName = "sixrd";

std::string named(const Setting& s) { return fmt::format("{} ({})", s.flag, s.env); }

// The setting behind a config field, so that the plugin's reason can be put in terms of what the
// user typed. parseConfig's messages start with the field they are about.
const Setting* settingOfMessage(std::string_view message) {
  struct Field {
    std::string_view name;
    const Setting* setting;
  };
  static constexpr Field kFields[] = {
      {"prefix", &kPrefix},    {"underlay ", &kUnderlay},
      {"nodeIP", &kNodeIp},    {"underlayInterface", &kUnderlayInterface},
      {"tunnel", &kTunnel},    {"mtu", &kMtu},
      {"dataDir", &kDataDir},  {"log.file", &kLogFile},
      {"name", &kNetworkName}, {"cniVersion", &kCniVersion},
  };
  for (const auto& f : kFields) {
    if (message.starts_with(f.name)) return f.setting;
  }
  return nullptr;
}

[[noreturn]] void refused(const std::exception& e) {
  const Setting* s = settingOfMessage(e.what());
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

ordered_json makeConflist(const InstallSettings& s, const std::optional<std::string>& nodeIp) {
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
  return {{"cniVersion", s.cniVersion}, {"name", s.networkName}, {"plugins", plugins}};
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
  } catch (const std::system_error& e) {
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

InstallReport install(const InstallSettings& settings, const Context& context) {
  settings.paths.validate();
  if (settings.prefix.empty()) {
    throw UsageError(std::string(kPrefix.flag),
                     fmt::format("{} is required: the cluster's IPv6 6rd prefix, the same on every "
                                 "node, e.g. fd00:10::/48",
                                 named(kPrefix)));
  }
  if (settings.underlay.empty()) {
    throw UsageError(std::string(kUnderlay.flag),
                     fmt::format("{} is required: the IPv4 subnet every node's address is in, "
                                 "e.g. 10.20.0.0/16",
                                 named(kUnderlay)));
  }

  // Everything that can be refused is refused before the kernel or the disk is touched.
  cni::PluginConfig config = validateConflist(makeConflist(settings, settings.nodeIp));
  const std::string binary = readFile(context.selfExe);

  InstallReport report;
  std::unique_ptr<tunnel::Datapath> datapath;
  std::optional<tunnel::Node> node;
  if (!settings.nodeIp || !settings.noTunnel) {
    datapath = context.makeDatapath();
    try {
      node = datapath->resolveNode(cni::nodeSpec(config));
    } catch (const tunnel::NodeError& e) {
      throw InstallError(fmt::format("cannot find this node's IPv4 address: {}; set {} or {}",
                                     e.what(), named(kNodeIp), named(kUnderlayInterface)));
    }
    try {
      static_cast<void>(cni::podMtu(config, node->underlayMtu));
    } catch (const cni::Error& e) {
      refused(e);
    }
  }
  const std::string nodeIp =
      settings.nodeIp ? *settings.nodeIp : ipam::formatIpv4(node->prefix.nodeIp);
  const ordered_json conflist = makeConflist(settings, nodeIp);
  config = validateConflist(conflist);
  report.tunnelName = config.tunnel;
  report.nodeIp = ipam::formatIpv4(*config.nodeIP);
  report.nodePrefix = ipam::formatPrefix(ipam::nodePrefix(config.plan, *config.nodeIP).node64);

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

  report.binary = settings.paths.binary();
  report.conflist = settings.paths.conflist();
  fs::create_directories(report.binary.parent_path());
  fs::create_directories(report.conflist.parent_path());
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
  paths.validate();
  UninstallReport report;
  report.binary = paths.binary();
  report.conflist = paths.conflist();
  if (const auto content = readFileIfExists(report.conflist)) {
    const json conf = json::parse(*content, nullptr, false);
    bool ours = false;
    try {
      static_cast<void>(pluginStdin(conf));
      ours = true;
    } catch (const InstallError&) {
    }
    if (!ours) {
      throw InstallError(
          fmt::format("{} is not a sixrd network configuration (no plugin of type "
                      "\"sixrd\"): not removing it, nor {}",
                      report.conflist.string(), report.binary.string()));
    }
  }
  report.conflistRemoved = removeFile(report.conflist);
  report.binaryRemoved = removeFile(report.binary);
  return report;
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
  json conf = json::parse(*content, nullptr, false);
  if (conf.is_discarded()) {
    throw InstallError(fmt::format("{} is not valid JSON", file.string()));
  }
  return conf;
}

StatusReport status(const json& conf, const cni::PluginOptions& options,
                    std::string_view logLevel) {
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
    const json error = json::parse(out.str(), nullptr, false);
    const std::string msg = error.is_object() ? error.value("msg", out.str()) : out.str();
    const unsigned code = error.is_object() ? error.value("code", 0U) : 0U;
    report.line = fmt::format("not ready: {} (CNI error {})", msg, code);
    if (lacksNetAdmin()) {
      report.line +=
          "; this process lacks CAP_NET_ADMIN, so the answer may be its own: run as root";
    }
    return report;
  }
  // runPlugin accepted it, so this parse cannot fail.
  const cni::PluginConfig config = cni::parseConfig(in.dump());
  std::string node;
  if (config.nodeIP) {
    node = fmt::format(", node {} with {}", ipam::formatIpv4(*config.nodeIP),
                       ipam::formatPrefix(ipam::nodePrefix(config.plan, *config.nodeIP).node64));
  }
  report.ready = true;
  report.line = fmt::format("ready: network {} can serve ADD (prefix {}, underlay {}{}, tunnel {})",
                            config.name, ipam::formatPrefix(config.plan.prefix),
                            ipam::formatSubnet(config.plan.underlay), node, config.tunnel);
  return report;
}

TunnelOutcome reconcile(const fs::path& conf, tunnel::Datapath& datapath) {
  const cni::PluginConfig config = cni::parseConfig(pluginStdin(readConf(conf)).dump());
  const tunnel::Node node = datapath.resolveNode(cni::nodeSpec(config));
  return ensureNodeTunnel(config, datapath, node);
}

int runDaemon(const DaemonSettings& settings, const Context& context) {
  if (settings.intervalSeconds < 1) {
    throw UsageError("--interval", "--interval must be at least 1 second");
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
  for (int round = 1;; ++round) {
    std::string problem;
    try {
      const auto datapath = context.makeDatapath();
      const TunnelOutcome outcome = reconcile(settings.conf, *datapath);
      for (const auto& r : outcome.repaired) spdlog::info("repaired: {}", r);
      if (outcome.repaired.empty()) spdlog::debug("tunnel is as configured");
      if (outcome.warning) problem = *outcome.warning;
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
