#include "install/egress.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cni/plugin.hpp"
#include "install/installer.hpp"

namespace sixrd::install {

namespace {

constexpr int kRelayProbeTries = 3;
constexpr int kProbeSize = 104;

bool isRelay(const cni::PluginConfig& config, ipam::Ipv4Addr node) {
  return std::find(config.relays.begin(), config.relays.end(), node) != config.relays.end();
}

}  // namespace

std::vector<RelayProbe> probeRelays(const cni::PluginConfig& config, tunnel::Datapath& datapath,
                                    tunnel::Prober& prober) {
  const auto inUse = datapath.egressRelaysInUse();
  std::vector<RelayProbe> out;
  for (const auto relay : config.relays) {
    RelayProbe p;
    p.relay = relay;
    p.inUse = std::find(inUse.begin(), inUse.end(), relay) != inUse.end();
    out.push_back(p);
  }
  // Rounds over the relays still silent; a silent try costs its whole timeout, an answer its
  // round trip. The first round is always whole.
  std::chrono::microseconds spent{0};
  for (int round = 0; round < kRelayProbeTries; ++round) {
    if (round > 0 && spent >= kRelayProbeBudget) break;
    for (RelayProbe& p : out) {
      if (p.answers || (round > 0 && spent >= kRelayProbeBudget)) continue;
      const auto target = ipam::nodePrefix(config.plan, p.relay).overlayAddr;
      const auto rtt = prober.echo6(target, kProbeSize, kRelayProbeTimeout);
      p.answers = rtt.has_value();
      spent += rtt ? *rtt : std::chrono::microseconds(kRelayProbeTimeout);
    }
  }
  return out;
}

std::vector<std::string> steerEgress(const cni::PluginConfig& config, const tunnel::Node& node,
                                     tunnel::Datapath& datapath, tunnel::Prober& prober) {
  if (config.relays.empty() || isRelay(config, node.prefix.nodeIp)) return {};
  std::vector<ipam::Ipv4Addr> alive;
  for (const auto& p : probeRelays(config, datapath, prober)) {
    if (p.answers) alive.push_back(p.relay);
  }
  if (alive.empty()) {
    // Nothing answers: keep routing as before; the first relay back gets the traffic again.
    return {};
  }
  return datapath.setEgressRelays(cni::nodeSpec(config), node, alive);
}

std::vector<std::string> relayStatusLines(const cni::PluginConfig& config,
                                          tunnel::Datapath& datapath, tunnel::Prober& prober) {
  std::vector<std::string> lines;
  if (config.relays.empty()) return lines;
  const tunnel::Node node = datapath.resolveNode(cni::nodeSpec(config));
  if (isRelay(config, node.prefix.nodeIp)) {
    lines.push_back(fmt::format("this node ({}) is a relay: it forwards egress with its own routes",
                                ipam::formatIpv4(node.prefix.nodeIp)));
  }
  for (const auto& p : probeRelays(config, datapath, prober)) {
    if (p.relay == node.prefix.nodeIp) continue;
    lines.push_back(fmt::format("relay {} {}{}", ipam::formatIpv4(p.relay),
                                p.answers ? "answers" : "does not answer (unreachable)",
                                p.inUse ? ", in use" : ""));
  }
  return lines;
}

std::vector<std::string> runRelay(const RelaySettings& settings, const Context& context) {
  const cni::PluginConfig config = cni::parseConfig(pluginStdin(readConf(settings.conf)).dump());
  if (config.relays.empty()) {
    throw UsageError("relay", fmt::format("{} has no \"relay\": list this node's IPv4 there (on "
                                          "every node) to make it a relay",
                                          settings.conf.string()));
  }
  const auto datapath = context.makeDatapath();
  const tunnel::NodeSpec spec = cni::nodeSpec(config);
  const tunnel::Node node = datapath->resolveNode(spec);
  if (!isRelay(config, node.prefix.nodeIp)) {
    throw UsageError("relay", fmt::format("this node ({}) is not a relay: \"relay\" lists {}",
                                          ipam::formatIpv4(node.prefix.nodeIp),
                                          ipam::formatIpv4List(config.relays)));
  }
  std::vector<std::string> done;
  datapath->ensureTunnel(spec, node);
  done.push_back(fmt::format("tunnel {} up: this node {} relays for the prefix {}", spec.tunnel,
                             ipam::formatIpv4(node.prefix.nodeIp),
                             ipam::formatPrefix(config.plan.prefix)));
  if (!settings.nat64Device.empty()) {
    ipam::Ipv6Prefix prefix;
    try {
      prefix = ipam::parseIpv6Prefix(settings.nat64Prefix, "--nat64-prefix");
    } catch (const ipam::InvalidInput& e) {
      throw UsageError("--nat64-prefix", e.what());
    }
    if (prefix.len != 96 && prefix.len != 64 && prefix.len != 56 && prefix.len != 48 &&
        prefix.len != 40 && prefix.len != 32) {
      throw UsageError("--nat64-prefix",
                       fmt::format("--nat64-prefix {} has length {}: NAT64 prefixes are /32, /40, "
                                   "/48, /56, /64 or /96 (RFC 6052)",
                                   settings.nat64Prefix, prefix.len));
    }
    if (ipam::contains(config.plan.prefix, prefix.addr)) {
      throw UsageError("--nat64-prefix",
                       fmt::format("--nat64-prefix {} is inside the cluster "
                                   "prefix {}",
                                   settings.nat64Prefix, ipam::formatPrefix(config.plan.prefix)));
    }
    auto changed = datapath->ensureNat64Route(prefix, settings.nat64Device);
    done.push_back(fmt::format(
        "NAT64: {} routed to {} (the translator); IPv4 and IPv6 forwarding "
        "on{}",
        ipam::formatPrefix(prefix), settings.nat64Device, changed.empty() ? " (already so)" : ""));
  }
  return done;
}

}  // namespace sixrd::install
