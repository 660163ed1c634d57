// An in-memory tunnel::Datapath for tests of the CNI layer: no root, no kernel.
// It keeps pods by host veth name the way the kernel keeps links (adding a name twice is a
// Conflict, deleting an absent one returns false), records every call in order, and can be told
// to fail where the real datapath can.
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ipam/sixrd_math.hpp"
#include "tunnel/datapath.hpp"

namespace sixrd::fake {

class FakeDatapath : public tunnel::Datapath {
 public:
  // --- What the fake "kernel" looks like (set before the call under test) ---

  // The node IPv4 resolveNode() finds when the config has no nodeIP, and the underlay MTU.
  ipam::Ipv4Addr hostIp = ipam::parseIpv4("198.18.3.7", "hostIp");
  int underlayMtu = 1500;
  // When set, resolveNode() throws NodeError with this message.
  std::optional<std::string> nodeError;
  // What sitAvailable() answers; when false, ensureTunnel() throws SitUnavailable too.
  bool sit = true;
  // Called at the start of addPod(); throw from it to make addPod() fail.
  std::function<void(const tunnel::PodSpec&)> addPodFails;
  // Returned by verifyTunnel() / added to checkPod()'s own findings.
  std::vector<std::string> tunnelProblems;
  std::vector<std::string> podProblems;

  // --- What the plugin did ---

  struct Pod {
    tunnel::PodSpec spec;
    tunnel::PodLinks links;
  };
  std::map<std::string, Pod> pods;  // by host veth name: the kernel's link table
  std::vector<std::string> calls;   // "resolveNode", "ensureTunnel", "addPod <veth>", ...
  std::vector<tunnel::NodeSpec> resolved;
  std::vector<tunnel::Node> ensured;   // the Node each ensureTunnel() got
  std::vector<tunnel::PodSpec> added;  // every addPod() spec, including failed ones
  std::vector<std::string> deleted;    // every delPod() name, existing or not

  // Where each host veth's peer is, as listHostVeths() reports it; a pod missing here has its peer
  // in its (alive) pod namespace.
  std::map<std::string, HostVeth::Peer> peers;
  // Called at the start of findHostVeth(): a test makes an ADD race a reclaim from here.
  std::function<void(const std::string&)> onFindHostVeth;

  // A link sixrd did not make in this test (another network's veth, a leftover of a crash, ...).
  void plantVeth(const std::string& name, const std::string& alias,
                 HostVeth::Peer peer = HostVeth::Peer::kOtherNetns) {
    Pod pod;
    pod.spec.hostVeth = name;
    pod.spec.alias = alias;
    pods[name] = pod;
    peers[name] = peer;
  }

  // What the kernel does when the last reference to a pod namespace goes: every veth with an end
  // inside dies, the host end (and with it its /128 route) too. Returns how many went.
  std::size_t destroyNetns(const std::string& netns) {
    std::size_t n = 0;
    for (auto it = pods.begin(); it != pods.end();) {
      if (it->second.spec.netns == netns) {
        peers.erase(it->first);
        it = pods.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  [[nodiscard]] std::size_t count(const std::string& call) const {
    std::size_t n = 0;
    for (const auto& c : calls) n += c.rfind(call, 0) == 0 ? 1 : 0;
    return n;
  }

  // --- tunnel::Datapath ---

  tunnel::Node resolveNode(const tunnel::NodeSpec& spec) override {
    calls.emplace_back("resolveNode");
    resolved.push_back(spec);
    if (nodeError) throw tunnel::NodeError(*nodeError);
    tunnel::Node node;
    node.prefix = ipam::nodePrefix(spec.plan, spec.nodeIp.value_or(hostIp));
    node.underlayInterface = "eth0";
    node.underlayMtu = underlayMtu;
    return node;
  }

  void ensureTunnel(const tunnel::NodeSpec& /*spec*/, const tunnel::Node& node) override {
    calls.emplace_back("ensureTunnel");
    if (!sit) throw tunnel::SitUnavailable("creating sit link sixrd0: Operation not supported");
    ensured.push_back(node);
  }

  std::vector<std::string> verifyTunnel(const tunnel::NodeSpec& /*spec*/,
                                        const tunnel::Node& /*node*/) override {
    calls.emplace_back("verifyTunnel");
    return tunnelProblems;
  }

  bool sitAvailable(const tunnel::NodeSpec& /*spec*/) override {
    calls.emplace_back("sitAvailable");
    return sit;
  }

  tunnel::PodLinks addPod(const tunnel::PodSpec& spec) override {
    calls.push_back("addPod " + spec.hostVeth);
    added.push_back(spec);
    if (addPodFails) addPodFails(spec);
    if (pods.contains(spec.hostVeth)) {
      throw tunnel::Conflict("creating veth " + spec.hostVeth + ": File exists");
    }
    // Like the kernel: only the first attachment in a netns gets the default route.
    bool routed = false;
    for (const auto& [name, other] : pods) {
      routed = routed || (other.spec.netns == spec.netns && other.links.defaultRoute);
    }
    Pod pod{spec, {mac(2 * added.size()), mac(2 * added.size() + 1), !routed}};
    pods[spec.hostVeth] = pod;
    return pod.links;
  }

  bool delPod(const std::string& hostVeth) override {
    calls.push_back("delPod " + hostVeth);
    deleted.push_back(hostVeth);
    return pods.erase(hostVeth) > 0;
  }

  std::vector<std::string> checkPod(const tunnel::PodSpec& spec) override {
    calls.push_back("checkPod " + spec.hostVeth);
    std::vector<std::string> problems;
    const auto it = pods.find(spec.hostVeth);
    if (it == pods.end()) {
      problems.push_back("host veth " + spec.hostVeth + " is missing");
    } else {
      const tunnel::PodSpec& have = it->second.spec;
      if (have.address != spec.address) problems.push_back("pod address differs");
      if (have.mtu != spec.mtu) problems.push_back("pod mtu differs");
      if (have.ifname != spec.ifname || have.netns != spec.netns) {
        problems.push_back("pod interface differs");
      }
      if (spec.defaultRoute && !it->second.links.defaultRoute) {
        problems.push_back("pod default route via " + spec.ifname + " is missing");
      }
    }
    problems.insert(problems.end(), podProblems.begin(), podProblems.end());
    return problems;
  }

  std::vector<HostVeth> listHostVeths() override {
    calls.emplace_back("listHostVeths");
    std::vector<HostVeth> veths;
    for (const auto& [name, pod] : pods) veths.push_back({name, pod.spec.alias, peerOf(name)});
    return veths;
  }

  std::optional<HostVeth> findHostVeth(const std::string& name) override {
    calls.push_back("findHostVeth " + name);
    if (onFindHostVeth) onFindHostVeth(name);
    const auto it = pods.find(name);
    if (it == pods.end()) return std::nullopt;
    return HostVeth{name, it->second.spec.alias, peerOf(name)};
  }

  std::optional<std::string> linkAlias(const std::string& name) override {
    calls.push_back("linkAlias " + name);
    const auto it = pods.find(name);
    if (it == pods.end()) return std::nullopt;
    return it->second.spec.alias;
  }

 private:
  [[nodiscard]] HostVeth::Peer peerOf(const std::string& name) const {
    const auto it = peers.find(name);
    return it == peers.end() ? HostVeth::Peer::kOtherNetns : it->second;
  }
  static std::string mac(std::size_t n) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "02:00:00:00:%02x:%02x", static_cast<unsigned>((n >> 8) & 0xff),
                  static_cast<unsigned>(n & 0xff));
    return buf;
  }
};

// What PluginOptions::makeDatapath hands the plugin: forwards to a fake the test owns, so the
// test can look at it after runPlugin() has destroyed its datapath.
class ForwardingDatapath : public tunnel::Datapath {
 public:
  explicit ForwardingDatapath(tunnel::Datapath& target) : target_(target) {}
  tunnel::Node resolveNode(const tunnel::NodeSpec& spec) override {
    return target_.resolveNode(spec);
  }
  void ensureTunnel(const tunnel::NodeSpec& spec, const tunnel::Node& node) override {
    target_.ensureTunnel(spec, node);
  }
  std::vector<std::string> verifyTunnel(const tunnel::NodeSpec& spec,
                                        const tunnel::Node& node) override {
    return target_.verifyTunnel(spec, node);
  }
  bool sitAvailable(const tunnel::NodeSpec& spec) override { return target_.sitAvailable(spec); }
  tunnel::PodLinks addPod(const tunnel::PodSpec& spec) override { return target_.addPod(spec); }
  bool delPod(const std::string& hostVeth) override { return target_.delPod(hostVeth); }
  std::vector<std::string> checkPod(const tunnel::PodSpec& spec) override {
    return target_.checkPod(spec);
  }
  std::vector<HostVeth> listHostVeths() override { return target_.listHostVeths(); }
  std::optional<HostVeth> findHostVeth(const std::string& name) override {
    return target_.findHostVeth(name);
  }
  std::optional<std::string> linkAlias(const std::string& name) override {
    return target_.linkAlias(name);
  }

 private:
  tunnel::Datapath& target_;
};

}  // namespace sixrd::fake
