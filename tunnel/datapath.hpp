// The kernel side of sixrd, as seen from the CNI layer. No libnl types cross this header: cni/
// includes it, tunnel/*.cpp implement it with libnl.
//
// Namespaces: every call starts and ends in the namespace the process was in (the node's network
// namespace); pod-side work enters the pod namespace through a guard and restores it (aborting the
// process if restoring fails, rather than continuing in the wrong namespace).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ipam/sixrd_math.hpp"
#include "tunnel/error.hpp"

namespace sixrd::tunnel {

struct NodeSpec {
  ipam::SixrdPlan plan;
  std::optional<ipam::Ipv4Addr> nodeIp;  // from config; else found through the interfaces
  std::string underlayInterface;         // from config; may be empty
  std::string tunnel = "sixrd0";
  int ttl = 64;
  // Border relays (node IPv4s) for traffic to outside the prefix; empty: no egress.
  std::vector<ipam::Ipv4Addr> relays;
  // The network (config "name") owning the tunnel: ensureTunnel marks the device with it
  // (tunnelAlias) and refuses a device another network or the operator owns.
  std::string network = "sixrd";
};

// The IFLA_IFALIAS that marks a sit device as the tunnel of sixrd network `network`.
inline std::string tunnelAlias(const std::string& network) { return "sixrd/" + network; }

struct Node {
  ipam::NodePrefix prefix;
  std::string underlayInterface;  // the interface holding nodeIp
  int underlayIfindex = 0;        // its ifindex (0 where a datapath does not know it)
  int underlayMtu = 0;
  [[nodiscard]] int tunnelMtu() const noexcept { return underlayMtu - kEncapsulationOverhead; }
  static constexpr int kEncapsulationOverhead = 20;  // the outer IPv4 header
};

struct PodSpec {
  std::string netns;     // path, e.g. /var/run/netns/x or /proc/<pid>/ns/net (for messages)
  std::string openPath;  // where to open it, when not `netns`: /proc/self/fd/N of a namespace
                         // held open since before capabilities were dropped
  std::string ifname;    // CNI_IFNAME, inside the pod
  std::string hostVeth;  // host-side name ("sx" + 12 hex)
  std::string alias;     // IFLA_IFALIAS of the host veth: who owns it, for operators and GC
  ipam::Ipv6Addr address{};
  int mtu = 0;
  bool tcpMtuProbing = false;
  // CHECK: whether this attachment's ADD gave the pod its default route (false for a second
  // attachment in a pod that already had one). addPod ignores it.
  bool defaultRoute = true;
};

struct PodLinks {
  std::string hostMac;
  std::string podMac;
  // False when the pod already had a default route (another attachment made it): this one then
  // gets its address and neighbours but leaves the pod's default route alone.
  bool defaultRoute = true;
};

// The link-local gateway every pod's default route points at (on each host veth).
inline constexpr std::string_view kGateway = "fe80::1";

class Datapath {
 public:
  virtual ~Datapath() = default;

  // Opens the pod's namespace now and keeps it open for the rest of the run, so it stays
  // reachable after capabilities are dropped; returns the path later calls open instead
  // (PodSpec::openPath). Throws NetnsError (missing() when the path does not exist).
  // The default, for datapaths without a kernel, only hands the path back.
  virtual std::string holdNetns(const std::string& path) { return path; }

  // Finds the node IPv4 (ipam/node_address.hpp says which: config nodeIP, else the address inside
  // the underlay, on underlayInterface when set, that is neither /32 nor secondary, preferring the
  // underlay's prefix length) and the underlay MTU. Changes nothing.
  // Throws NodeError, NetlinkError.
  virtual Node resolveNode(const NodeSpec& spec) = 0;

  // Brings the sit/6rd device, its overlay address, the unreachable /64, IPv6 forwarding and the
  // egress rule and route to the configured relays (tunnel/egress.hpp) to the configured state;
  // creates, repairs in place, or does nothing. An egress route the daemon pointed at some of the
  // configured relays is kept. Safe when ADDs race.
  // The device is marked with its owner (alias tunnelAlias(spec.network)). A sit device under the
  // name marked by another network, or not marked and with another 6rd prefix (an operator's own),
  // is a Conflict naming the owner and the "tunnel" field; an unmarked one with this network's 6rd
  // prefix (made by a sixrd before the mark, or by a racing ADD) is adopted and marked. When
  // another sit device already uses the node IPv4 as its local address (the kernel allows one per
  // local address and underlying link), the tunnel is bound to the underlay interface.
  // Throws SitUnavailable, Conflict, NetlinkError, SysctlError (IPv6 forwarding).
  virtual void ensureTunnel(const NodeSpec& spec, const Node& node) = 0;

  // What differs between the tunnel and the config; empty when healthy.
  virtual std::vector<std::string> verifyTunnel(const NodeSpec& spec, const Node& node) = 0;

  // True when the kernel can create sit devices (tries a throw-away device when none exists).
  virtual bool sitAvailable(const NodeSpec& spec) = 0;

  // Removes the node's tunnel: the sit device `name` (its overlay address and connected route go
  // with it) and the unreachable /64 routes inside the device's own 6rd prefix (they live on lo).
  // Leaves IPv6 forwarding and the sit module alone. Only a tunnel of `network` goes: its alias
  // is tunnelAlias(network) (any sixrd network's when `network` is empty), or it has no owner mark
  // and its 6rd prefix is `prefix` (made before sixrd marked its tunnels). Returns what it removed,
  // one sentence each; empty when there is no such device. Throws Conflict when `name` is not a
  // sit device or not the network's (naming its owner), NetlinkError. The default, for datapaths
  // without a kernel, throws std::logic_error.
  virtual std::vector<std::string> removeTunnel(const std::string& /*name*/,
                                                const std::string& /*network*/,
                                                const std::optional<ipam::Ipv6Prefix>& /*prefix*/) {
    throw std::logic_error("this datapath cannot remove a tunnel");
  }

  // Egress (spec.relays set, this node not one of them): routes it through `active` (a non-empty
  // subset of spec.relays, the ones that answer), replacing the route when it differs. Returns
  // what changed. The default, for datapaths without a kernel, throws std::logic_error.
  virtual std::vector<std::string> setEgressRelays(const NodeSpec& /*spec*/, const Node& /*node*/,
                                                   const std::vector<ipam::Ipv4Addr>& /*active*/) {
    throw std::logic_error("this datapath cannot route egress");
  }
  // The relays the egress route goes through now; empty when there is none. Default: empty.
  virtual std::vector<ipam::Ipv4Addr> egressRelaysInUse() { return {}; }
  // On a relay node: `prefix` (NAT64, e.g. 64:ff9b::/96) routed to the translator's `device`, and
  // IPv4 and IPv6 forwarding on. Returns what changed. Throws NetlinkError (no such device). The
  // default throws std::logic_error.
  virtual std::vector<std::string> ensureNat64Route(const ipam::Ipv6Prefix& /*prefix*/,
                                                    const std::string& /*device*/) {
    throw std::logic_error("this datapath cannot route NAT64");
  }

  // Creates the veth pair, addresses, routes and sysctls of one pod; marks the host veth with
  // spec.alias right after creating it. On any failure removes what it created (that link only,
  // by ifindex) and rethrows. Throws NetnsError, Conflict (ifname or host veth name taken, naming
  // the owner), NetlinkError, SysctlError.
  virtual PodLinks addPod(const PodSpec& spec) = 0;

  // Removes the pod's host veth (its peer goes with it). Idempotent. Returns whether it existed.
  virtual bool delPod(const std::string& hostVeth) = 0;

  // What differs between the pod's kernel state and the spec; empty when it matches.
  virtual std::vector<std::string> checkPod(const PodSpec& spec) = 0;

  // Host veths sixrd made on this node ("sx" + 12 hex, kind veth), with their aliases.
  struct HostVeth {
    // Where the other end of the pair is, as the kernel reports it (IFLA_LINK_NETNSID, IFLA_LINK).
    enum class Peer {
      kUnknown,     // not reported (a datapath that cannot tell)
      kOtherNetns,  // in another namespace that is alive: a pod, running or pinned by a mount
      kNetnsGone,   // in a namespace being destroyed (the kernel reports nsid -1)
      kNone,        // no peer at all (a pair being torn down)
      kSameNetns,   // in this (the node's) namespace: not a pod sixrd plumbed
    };
    std::string name;
    std::string alias;
    Peer peer = Peer::kUnknown;
  };
  virtual std::vector<HostVeth> listHostVeths() = 0;

  // The host veth called `name` when it exists and is a sixrd one (as listHostVeths() would list
  // it). The default scans listHostVeths(); the kernel asks for the one link.
  virtual std::optional<HostVeth> findHostVeth(const std::string& name) {
    for (auto& veth : listHostVeths()) {
      if (veth.name == name) return std::move(veth);
    }
    return std::nullopt;
  }

  // Whether any link (of any kind) is called `name` on the node: its IFLA_IFALIAS ("" when it has
  // none), nullopt when the name is free. The default knows only the host veths.
  virtual std::optional<std::string> linkAlias(const std::string& name) {
    if (auto veth = findHostVeth(name)) return std::move(veth->alias);
    return std::nullopt;
  }
};

// The real datapath on the running kernel.
std::unique_ptr<Datapath> makeKernelDatapath();

// Called by the kernel datapath's addPod after each of its steps: "after-veth" (the pair exists),
// "after-pod-side" (the pod end is configured), "after-host-side" (all of it, just before addPod
// returns). Whatever it throws is handled as a kernel call failing at that point: addPod removes
// what it made and rethrows. The seam the rollback tests inject faults through (the test-only
// sixrd-faults binary, tests/faults/); the plugin itself never sets one.
using StepHook = std::function<void(std::string_view step)>;
std::unique_ptr<Datapath> makeKernelDatapathWithHook(StepHook afterStep);

}  // namespace sixrd::tunnel
