#include "tunnel/datapath.hpp"

#include <optional>

#include "tunnel/egress.hpp"
#include "tunnel/netns.hpp"
#include "tunnel/nl.hpp"
#include "tunnel/node.hpp"
#include "tunnel/pod.hpp"
#include "tunnel/sit.hpp"

namespace sixrd::tunnel {

namespace {

// One netlink socket for the node namespace, opened on first use and reused by every step of the
// run (pod namespaces get their own, opened inside them).
class KernelDatapath final : public Datapath {
 public:
  explicit KernelDatapath(StepHook afterStep = {}) : afterStep_(std::move(afterStep)) {}
  std::string holdNetns(const std::string& path) override {
    held_.push_back(Netns::open(path));
    return openPathOf(held_.back());
  }
  Node resolveNode(const NodeSpec& spec) override { return tunnel::resolveNode(sock(), spec); }
  void ensureTunnel(const NodeSpec& spec, const Node& node) override {
    tunnel::ensureTunnel(sock(), spec, node);
    tunnel::ensureEgress(sock(), spec, node, nullptr);
  }
  std::vector<std::string> verifyTunnel(const NodeSpec& spec, const Node& node) override {
    auto out = tunnel::verifyTunnel(sock(), spec, node);
    for (auto& p : tunnel::verifyEgress(sock(), spec, node)) out.push_back(std::move(p));
    return out;
  }
  std::vector<std::string> setEgressRelays(const NodeSpec& spec, const Node& node,
                                           const std::vector<ipam::Ipv4Addr>& active) override {
    return tunnel::ensureEgress(sock(), spec, node, &active);
  }
  std::vector<ipam::Ipv4Addr> egressRelaysInUse() override {
    return tunnel::egressRelaysInUse(sock());
  }
  std::vector<std::string> ensureNat64Route(const ipam::Ipv6Prefix& prefix,
                                            const std::string& device) override {
    return tunnel::ensureNat64Route(sock(), prefix, device);
  }
  bool sitAvailable(const NodeSpec& spec) override { return tunnel::sitAvailable(sock(), spec); }
  std::vector<std::string> removeTunnel(const std::string& name, const std::string& network,
                                        const std::optional<ipam::Ipv6Prefix>& prefix) override {
    return tunnel::removeTunnel(sock(), name, network, prefix);
  }
  PodLinks addPod(const PodSpec& spec) override {
    std::optional<Netns> opened;
    return tunnel::addPod(sock(), spec, podNetns(spec, opened), afterStep_);
  }
  bool delPod(const std::string& hostVeth) override {
    // DEL reads the veth's alias (linkAlias) right before it deletes it: that very link is
    // deleted, by its ifindex, without asking the kernel for it a second time.
    std::optional<nl::LinkBrief> known =
        lastLinkName_ == hostVeth ? std::move(lastLink_) : std::nullopt;
    lastLink_.reset();
    lastLinkName_.clear();
    return tunnel::delPod(sock(), hostVeth, std::move(known));
  }
  std::vector<std::string> checkPod(const PodSpec& spec) override {
    std::optional<Netns> opened;
    return tunnel::checkPod(sock(), spec, podNetns(spec, opened));
  }
  std::vector<HostVeth> listHostVeths() override { return tunnel::listHostVeths(sock()); }
  std::optional<HostVeth> findHostVeth(const std::string& name) override {
    return tunnel::findHostVeth(sock(), name);
  }
  std::optional<std::string> linkAlias(const std::string& name) override {
    lastLink_ = nl::findLinkBrief(sock(), name);
    lastLinkName_ = name;
    if (!lastLink_) return std::nullopt;
    return lastLink_->alias;
  }

 private:
  nl_sock* sock() {
    if (!sock_) sock_ = nl::openRouteSocket();
    return sock_.get();
  }
  static std::string openPathOf(const Netns& ns) {
    return "/proc/self/fd/" + std::to_string(ns.fd());
  }
  // The pod's namespace: the one holdNetns opened, used as it is (reopening it through
  // /proc/self/fd costs a lookup in /proc), else one opened now and kept in `opened`.
  const Netns& podNetns(const PodSpec& spec, std::optional<Netns>& opened) const {
    for (const Netns& ns : held_) {
      if (!spec.openPath.empty() && spec.openPath == openPathOf(ns)) return ns;
    }
    opened.emplace(spec.openPath.empty() ? Netns::open(spec.netns)
                                         : Netns::openVerified(spec.openPath));
    return *opened;
  }
  StepHook afterStep_;
  nl::Socket sock_;
  // The link linkAlias() last read, and the name it was asked for.
  std::optional<nl::LinkBrief> lastLink_;
  std::string lastLinkName_;
  std::vector<Netns> held_;
};

}  // namespace

std::unique_ptr<Datapath> makeKernelDatapath() { return std::make_unique<KernelDatapath>(); }

std::unique_ptr<Datapath> makeKernelDatapathWithHook(StepHook afterStep) {
  return std::make_unique<KernelDatapath>(std::move(afterStep));
}

}  // namespace sixrd::tunnel
