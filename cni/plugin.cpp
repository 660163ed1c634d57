#include "cni/plugin.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <set>
#include <string_view>
#include <variant>

#include "cni/caps.hpp"
#include "cni/config.hpp"
#include "cni/error.hpp"
#include "cni/json_input.hpp"
#include "cni/log.hpp"
#include "cni/result.hpp"
#include "cni/version.hpp"
#include "ipam/interface_id.hpp"
#include "ipam/lease_store.hpp"
#include "util/scope_guard.hpp"

namespace sixrd::cni {

namespace {

constexpr std::size_t kMaxAliasBytes = 255;  // IFALIASZ - 1

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const auto& p : problems) s += (s.empty() ? "" : "; ") + p;
  return s;
}

// Everything one verb needs, built once per invocation.
class Invocation {
 public:
  Invocation(const Request& request, const PluginConfig& config, tunnel::Datapath& datapath,
             std::string netnsOpenPath)
      : request_(request),
        config_(config),
        datapath_(datapath),
        spec_(nodeSpec(config)),
        netnsOpenPath_(std::move(netnsOpenPath)),
        owner_{request.containerId, request.ifname},
        hostVeth_(ipam::hostVethName(request.containerId, request.ifname)) {}

  // The result's JSON text.
  std::string add() {
    // A plugin before sixrd in the chain: its result is merged into, and refused before anything
    // is changed when it cannot be.
    const bool chained = !config_.prevResult.is_null();
    if (chained) checkPrevResult(config_.prevResult, config_.cniVersion);
    const tunnel::Node node = datapath_.resolveNode(spec_);
    const int mtu = podMtu(config_, node.underlayMtu);
    datapath_.ensureTunnel(spec_, node);

    ipam::LeaseStore store(config_.dataDir, config_.name);
    // One ADD or DEL of this attachment at a time: a concurrent ADD for the same container (or its
    // DEL) sees all of this one's work or none of it. The loser of two ADDs finds the winner's
    // lease and pod and fails with 105 (the interface exists), taking nothing of the winner's.
    const auto locked = store.lock(owner_);
    // A lease that predates this ADD belongs to an attachment that may still be alive: only a
    // lease this ADD took is given back on failure.
    bool tookLease = false;
    const ipam::Lease lease =
        store.acquire(owner_, node.prefix.node64, &tookLease, [this] { return chooseHostVeth(); });
    hostVeth_ = ipam::hostVethOf(lease);
    const ipam::Ipv6Addr address = ipam::withInterfaceId(node.prefix.node64, lease.interfaceId);
    spdlog::info("lease {} (interface id {:016x}) in {}, host veth {}", ipam::formatIpv6(address),
                 lease.interfaceId, ipam::formatPrefix(node.prefix.node64), hostVeth_);

    util::ScopeGuard giveBack([&]() noexcept {
      if (!tookLease) return;
      try {
        store.release(lease);
      } catch (const std::exception& e) {
        spdlog::error("releasing lease after failed ADD: {}", e.what());
      }
    });
    const tunnel::PodLinks links = datapath_.addPod(podSpec(address, mtu));
    giveBack.dismiss();
    summary_ = fmt::format("pod {} ready: {}/128 mtu {} via {} on {}", request_.ifname,
                           ipam::formatIpv6(address), mtu, tunnel::kGateway, hostVeth_);

    Result result;
    result.interfaces.push_back({hostVeth_, links.hostMac, std::nullopt, ""});
    result.interfaces.push_back({request_.ifname, links.podMac, mtu, request_.netns});
    result.ips.push_back({ipam::formatIpv6(address) + "/128", std::string(tunnel::kGateway), 1});
    if (links.defaultRoute) result.routes.push_back({"::/0", std::string(tunnel::kGateway)});
    result.dns = config_.dns;
    if (!chained) return dumpResult(result, config_.cniVersion);
    spdlog::info("prevResult: sixrd's interfaces, address and routes follow the earlier plugin's");
    return mergeResult(config_.prevResult, result, config_.cniVersion).dump();
  }

  void del() {
    ipam::LeaseStore store(config_.dataDir, config_.name);
    std::optional<ipam::LeaseStore::OwnerLock> locked;
    try {
      locked.emplace(store.lock(owner_));
    } catch (const ipam::StoreError& e) {
      // A store that cannot even hold a lock file holds no lease either; the veth still goes.
      spdlog::warn("DEL without the attachment's lock: {}", e.what());
    }
    const auto lease = store.find(owner_);
    if (lease) hostVeth_ = ipam::hostVethOf(*lease);
    // The veth first: its address must not be handed out again while the old pod still holds it.
    // Only this attachment's: the one whose alias names it (ADD sets it right after creating the
    // veth), or one without an alias under the very name this attachment's lease recorded (its ADD
    // found the name free and was killed before it set the alias). Anything else of that name
    // (another network's veth, a hash collision, an operator's device) is left alone.
    bool hadVeth = false;
    const std::string mine = hostVethAlias(config_.name, request_.containerId, request_.ifname);
    if (const auto alias = datapath_.linkAlias(hostVeth_)) {
      const bool recorded = lease && lease->hostVeth == hostVeth_;
      if (*alias == mine || (alias->empty() && recorded)) {
        if (alias->empty()) {
          spdlog::info(
              "DEL: {} has no alias; this attachment's lease names it (an ADD killed "
              "before it marked the veth)",
              hostVeth_);
        }
        hadVeth = datapath_.delPod(hostVeth_);
      } else {
        spdlog::warn("DEL: {} is not this attachment's ({}): {}; left alone", hostVeth_, mine,
                     alias->empty() ? "it has no owner alias and no lease of this attachment "
                                      "names it (not made by sixrd for it)"
                                    : "its alias names " + *alias);
      }
    }
    // Under the owner's lock the lease just found is the one to release (no other call of this
    // owner can change it meanwhile): its file alone is checked again.
    const bool hadLease = locked ? lease && store.release(*lease) : store.release(owner_);
    summary_ = fmt::format("host veth {} {}, lease {}", hostVeth_, hadVeth ? "removed" : "absent",
                           hadLease ? "released" : "absent");
  }

  void check() {
    if (config_.prevResult.is_null()) {
      throw Error(Code::kInvalidConfig,
                  "CHECK needs prevResult: the runtime must pass the ADD result");
    }
    const Result prev = parseResult(config_.prevResult);
    const tunnel::Node node = datapath_.resolveNode(spec_);
    const int mtu = podMtu(config_, node.underlayMtu);
    const ipam::LeaseStore store(config_.dataDir, config_.name);
    const auto lease = store.find(owner_);
    if (!lease) {
      throw Error(Code::kCheckFailed,
                  fmt::format("no lease for container {} ifname {} in {}", owner_.containerId,
                              owner_.ifname, store.dir().string()));
    }
    hostVeth_ = ipam::hostVethOf(*lease);
    const ipam::Ipv6Addr address = ipam::withInterfaceId(node.prefix.node64, lease->interfaceId);
    const std::string want = ipam::formatIpv6(address) + "/128";
    std::vector<std::string> problems;
    bool inPrev = false;
    for (const auto& ip : prev.ips) inPrev = inPrev || ip.address == want;
    if (!inPrev)
      problems.push_back(fmt::format("prevResult does not hold the pod address {}", want));
    for (auto& p : datapath_.verifyTunnel(spec_, node)) problems.push_back(std::move(p));
    tunnel::PodSpec pod = podSpec(address, mtu);
    // The default route is checked where this attachment's ADD made it (its result says so).
    pod.defaultRoute = false;
    for (const auto& r : prev.routes) pod.defaultRoute = pod.defaultRoute || r.dst == "::/0";
    for (auto& p : datapath_.checkPod(pod)) problems.push_back(std::move(p));
    if (!problems.empty()) throw Error(Code::kCheckFailed, "CHECK failed: " + joined(problems));
  }

  void gc(const std::set<ipam::Owner>& valid) {
    // Veths before leases, as in DEL: an address is free only once no pod holds it.
    // By alias, not by name: a valid attachment's veth may carry a later candidate name.
    std::set<std::string> keep;
    for (const auto& o : valid) keep.insert(hostVethAlias(config_.name, o.containerId, o.ifname));
    const std::string mine = fmt::format("sixrd/{}/", config_.name);
    for (const auto& veth : datapath_.listHostVeths()) {
      if (keep.contains(veth.alias) || !veth.alias.starts_with(mine)) continue;
      spdlog::info("GC removes host veth {} ({})", veth.name, veth.alias);
      datapath_.delPod(veth.name);
    }
    ipam::LeaseStore store(config_.dataDir, config_.name);
    for (const auto& lease : store.gc(valid)) {
      spdlog::info("GC released lease {} of {}/{}", ipam::formatIpv6(lease.address),
                   lease.owner.containerId, lease.owner.ifname);
    }
  }

  // What the verb did, for the call's last log line ("ADD done: ..."); empty when it has
  // nothing to add to "done".
  [[nodiscard]] const std::string& summary() const noexcept { return summary_; }

  void status() {
    tunnel::Node node;
    try {
      node = datapath_.resolveNode(spec_);
      podMtu(config_, node.underlayMtu);
    } catch (const std::exception& e) {
      throw Error(Code::kNotAvailable, fmt::format("cannot serve ADD: {}", e.what()));
    }
    if (!datapath_.sitAvailable(spec_)) {
      throw Error(Code::kNotAvailable,
                  "cannot serve ADD: this kernel has no sit/6rd support; load it with `modprobe "
                  "sit` on the node (or build the kernel with CONFIG_IPV6_SIT and "
                  "CONFIG_IPV6_SIT_6RD)");
    }
    for (const auto& p : datapath_.verifyTunnel(spec_, node)) {
      spdlog::info("STATUS: the next ADD will repair: {}", p);
    }
  }

 private:
  // The first of this attachment's host veth name candidates that no device holds. One held by a
  // device that is not this attachment's (another network's veth, a 48-bit hash collision, an
  // operator's device) is skipped and never touched; one this attachment's own veth holds (a
  // repeated ADD) is returned, and addPod reports it.
  std::string chooseHostVeth() {
    const std::string mine = hostVethAlias(config_.name, request_.containerId, request_.ifname);
    std::string taken;
    for (unsigned attempt = 0; attempt < ipam::kMaxHostVethCandidates; ++attempt) {
      std::string name = ipam::hostVethName(request_.containerId, request_.ifname, attempt);
      const auto alias = datapath_.linkAlias(name);
      if (!alias || *alias == mine) return name;
      const std::string owner = alias->empty() ? "a device without an owner alias" : *alias;
      spdlog::warn(
          "host veth name {} is taken by {}, not this attachment: left alone, trying "
          "another name",
          name, owner);
      taken += fmt::format("{}{} ({})", taken.empty() ? "" : ", ", name, owner);
    }
    throw tunnel::Conflict(fmt::format(
        "every host veth name of this attachment is taken by another device: {}; sixrd leaves "
        "them alone",
        taken));
  }

  tunnel::PodSpec podSpec(const ipam::Ipv6Addr& address, int mtu) const {
    tunnel::PodSpec pod;
    pod.netns = request_.netns;
    pod.openPath = netnsOpenPath_;
    pod.ifname = request_.ifname;
    pod.hostVeth = hostVeth_;
    pod.alias = hostVethAlias(config_.name, request_.containerId, request_.ifname);
    pod.address = address;
    pod.mtu = mtu;
    pod.tcpMtuProbing = config_.tcpMTUProbing;
    return pod;
  }

  const Request& request_;
  const PluginConfig& config_;
  tunnel::Datapath& datapath_;
  tunnel::NodeSpec spec_;
  std::string netnsOpenPath_;
  ipam::Owner owner_;
  std::string hostVeth_;
  std::string summary_;
};

// cni.dev/valid-attachments of a GC request.
std::set<ipam::Owner> validAttachments(const std::string& stdinBytes) {
  const auto raw = parseJson(stdinBytes);
  std::set<ipam::Owner> valid;
  const auto it = raw.find("cni.dev/valid-attachments");
  if (it == raw.end()) return valid;
  if (!it->is_array())
    throw Error(Code::kDecodeFailure, "cni.dev/valid-attachments is not an array");
  for (const auto& a : *it) {
    if (!a.is_object() || !a.contains("containerID") || !a.contains("ifname") ||
        !a["containerID"].is_string() || !a["ifname"].is_string()) {
      throw Error(Code::kDecodeFailure,
                  "cni.dev/valid-attachments entries need string containerID and ifname");
    }
    valid.insert({a["containerID"].get<std::string>(), a["ifname"].get<std::string>()});
  }
  return valid;
}

// The version errors are reported in: the config's when it parses that far, else the latest.
std::string versionOf(const std::string& stdinBytes) {
  const auto raw = parseJsonOrDiscarded(stdinBytes);
  if (raw.is_object()) {
    const auto it = raw.find("cniVersion");
    if (it != raw.end() && it->is_string() && isSupported(it->get<std::string>())) {
      return it->get<std::string>();
    }
  }
  return std::string(kLatestVersion);
}

// The attachment a log line names, from the environment as the runtime set it: a value the
// request refused is shown quoted (and cut), never raw.
std::string envTag(const Environment& env, const std::string& name,
                   std::optional<std::string> (*problem)(std::string_view)) {
  const std::optional<std::string> value = env(name);
  if (!value) return "";
  return problem(*value) ? quoteValue(*value) : *value;
}

// An error found before the config was parsed (a bad environment, an invalid prefix) belongs in
// the log file the config names as much as one found later: an operator reads that file, not the
// runtime's event stream. Whatever of the log section can be read is used.
void logBeforeConfig(const Environment& env, const std::string& stdinBytes, bool toStderr,
                     const Error& error) noexcept {
  try {
    const ConfigPreview preview = previewConfig(stdinBytes);
    initLogging(preview.log, envTag(env, "CNI_CONTAINERID", containerIdProblem),
                envTag(env, "CNI_IFNAME", interfaceNameProblem), toStderr);
    const std::optional<std::string> command = env("CNI_COMMAND");
    spdlog::info("CNI_COMMAND {} failed before its network configuration was accepted",
                 command ? quoteValue(*command) : "(unset)");
    for (const auto& w : preview.warnings) spdlog::warn("{}", w);
    spdlog::error("error {}: {}", static_cast<unsigned>(error.code()), error.what());
  } catch (...) {
    // Logging is a diagnostic aid: the error JSON on stdout is what counts.
  }
}

// The result goes out in one write(2) (a few hundred bytes; a pipe takes up to 4 KiB atomically).
// A failing write leaves nothing to report through: the runtime sees the exit status.
void writeStdout(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

const char* verbName(Verb verb) {
  switch (verb) {
    case Verb::kAdd:
      return "ADD";
    case Verb::kDel:
      return "DEL";
    case Verb::kCheck:
      return "CHECK";
    case Verb::kVersion:
      return "VERSION";
    case Verb::kGc:
      return "GC";
    case Verb::kStatus:
      return "STATUS";
  }
  return "?";
}

// Every error family below the CNI layer, by kind, and the code the runtime sees for it.
struct CodeOf {
  std::variant<ipam::Error::Kind, tunnel::Error::Kind> kind;
  Code code;
};
constexpr CodeOf kCodes[] = {
    {ipam::Error::Kind::kInvalidInput, Code::kInvalidConfig},
    {ipam::Error::Kind::kAddressesExhausted, Code::kAddressesExhausted},
    {ipam::Error::Kind::kStore, Code::kIoFailure},
    {tunnel::Error::Kind::kKernel, Code::kKernel},
    {tunnel::Error::Kind::kSitUnavailable, Code::kSitUnavailable},
    {tunnel::Error::Kind::kNode, Code::kInvalidConfig},
    {tunnel::Error::Kind::kNetnsMissing, Code::kContainerUnknown},
    {tunnel::Error::Kind::kNetnsInvalid, Code::kInvalidEnv},
    {tunnel::Error::Kind::kConflict, Code::kConflict},
};

template <class Kind>
Code codeOf(Kind kind) {
  for (const CodeOf& row : kCodes) {
    if (const Kind* k = std::get_if<Kind>(&row.kind); k != nullptr && *k == kind) return row.code;
  }
  return Code::kInternal;  // a kind missing from the table is a bug
}

}  // namespace

Error toCniError(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const Error& e) {
    return e;
  } catch (const ipam::Error& e) {
    std::optional<std::string> field;
    if (e.kind() == ipam::Error::Kind::kInvalidInput && !e.details().empty()) field = e.details();
    return {codeOf(e.kind()), e.what(), e.details(), field};
  } catch (const tunnel::Error& e) {
    return {codeOf(e.kind()), e.what(), e.details()};
  } catch (const nlohmann::json::exception& e) {
    return {Code::kDecodeFailure, e.what()};
  } catch (const std::exception& e) {
    return {Code::kInternal, fmt::format("internal error: {}", e.what())};
  } catch (...) {
    return {Code::kInternal, "internal error: unknown exception"};
  }
}

tunnel::NodeSpec nodeSpec(const PluginConfig& config) {
  tunnel::NodeSpec spec;
  spec.plan = config.plan;
  spec.nodeIp = config.nodeIP;
  spec.underlayInterface = config.underlayInterface;
  spec.tunnel = config.tunnel;
  spec.relays = config.relays;
  spec.ttl = config.ttl;
  spec.network = config.name;
  return spec;
}

std::string hostVethAlias(const std::string& network, const std::string& containerId,
                          const std::string& ifname) {
  std::string alias = fmt::format("sixrd/{}/{}/{}", network, ifname, containerId);
  if (alias.size() > kMaxAliasBytes) alias.resize(kMaxAliasBytes);
  return alias;
}

int runPlugin(const Environment& env, const Reader& in, const Writer& out,
              const PluginOptions& options) noexcept {
  // spdlog is first touched by initLogging (or logBeforeConfig): its default logger writes to
  // stdout, so nothing before those may log, and nothing does (the binary tests parse the whole of
  // stdout of calls that fail before the config is read). A silent logger built first, as
  // before, gave every call spdlog's start-up, VERSION included, which logs nothing.
  std::string stdinBytes;
  bool stdinRead = false;
  bool logging = false;
  try {
    const Request request = readRequest(env, in);
    stdinBytes = request.stdinBytes;
    stdinRead = true;
    if (request.verb == Verb::kVersion) {
      out(versionJson(versionOf(stdinBytes)).dump() + '\n');
      return 0;
    }
    const auto datapath = options.makeDatapath();
    // Least privilege first, before a byte of stdin is parsed or a file opened. The pod's
    // namespace is opened before that: a bad CNI_NETNS fails before any kernel change, and a
    // /proc/<pid>/ns/net path stays reachable after the capabilities below are dropped (opening
    // another process's namespace file needs CAP_SYS_PTRACE then).
    std::string netnsOpenPath;
    if (request.verb == Verb::kAdd || request.verb == Verb::kCheck) {
      netnsOpenPath = datapath->holdNetns(request.netns);
    }
    if (options.checkCapabilities) {
      requireAndDropToKernelCapabilities();
    }
    const PluginConfig config = parseConfig(stdinBytes);
    initLogging(config.log, request.containerId, request.ifname, options.logToStderr);
    logging = true;
    spdlog::info("{} netns {} network {}", verbName(request.verb), request.netns, config.name);
    for (const auto& warning : config.warnings) spdlog::warn("{}", warning);
    if ((request.verb == Verb::kGc || request.verb == Verb::kStatus) &&
        !hasGcAndStatus(config.cniVersion)) {
      throw Error(Code::kIncompatibleVersion,
                  fmt::format("{} needs cniVersion 1.1.0 or later; the config says {}",
                              verbName(request.verb), config.cniVersion));
    }
    if (request.verb == Verb::kCheck && !hasCheck(config.cniVersion)) {
      throw Error(Code::kIncompatibleVersion,
                  fmt::format("CHECK needs cniVersion 0.4.0 or later; the config says {}",
                              config.cniVersion));
    }
    Invocation run(request, config, *datapath, netnsOpenPath);
    switch (request.verb) {
      case Verb::kAdd:
        out(run.add() + '\n');
        break;
      case Verb::kDel:
        run.del();
        break;
      case Verb::kCheck:
        run.check();
        break;
      case Verb::kGc:
        run.gc(validAttachments(stdinBytes));
        break;
      case Verb::kStatus:
        run.status();
        break;
      case Verb::kVersion:
        break;
    }
    // What the verb did and that the call is over, in one line: each line is a write(2) of its
    // own.
    if (run.summary().empty()) {
      spdlog::info("{} done", verbName(request.verb));
    } else {
      spdlog::info("{} done: {}", verbName(request.verb), run.summary());
    }
    return 0;
  } catch (...) {
    const Error error = toCniError(std::current_exception());
    if (logging) {
      try {
        spdlog::error("error {}: {}", static_cast<unsigned>(error.code()), error.what());
      } catch (...) {
        // The error JSON below is what counts.
      }
    } else {
      // readRequest checks the environment before it reads stdin; the config is still there.
      if (!stdinRead && error.code() == Code::kInvalidEnv) {
        try {
          stdinBytes = readStdin(in);
        } catch (...) {
          stdinBytes.clear();
        }
      }
      logBeforeConfig(env, stdinBytes, options.logToStderr, error);
    }
    try {
      out(errorJson(error, versionOf(stdinBytes)).dump() + '\n');
    } catch (...) {
      // Nothing left to report through.
    }
    return 1;
  }
}

int runPlugin(const Environment& env, std::istream& in, std::ostream& out,
              const PluginOptions& options) noexcept {
  return runPlugin(
      env, streamReader(in), [&out](std::string_view text) { out << text; }, options);
}

int runPluginOnStdio(const Environment& env, const PluginOptions& options) noexcept {
  return runPlugin(env, fdReader(STDIN_FILENO), writeStdout, options);
}

}  // namespace sixrd::cni
