// Pod plumbing: the veth pair, the pod's /128 without DAD, its default route via the link-local
// gateway on the host side, and the host route back. Called in the node's namespace; enters the pod
// namespace itself.
#pragma once

#include <netlink/netlink.h>

#include <optional>
#include <string>
#include <vector>

#include "tunnel/datapath.hpp"
#include "tunnel/netns.hpp"
#include "tunnel/nl.hpp"

namespace sixrd::tunnel {

// `sock` is bound to the node namespace; `podNs` is the pod's (spec.netns, open). Removes the pair
// again if any later step throws; `afterStep` (when set) is called after each step (see StepHook)
// and may throw as one.
PodLinks addPod(nl_sock* sock, const PodSpec& spec, const Netns& podNs,
                const StepHook& afterStep = {});
// Deletes `known` when given (the link called hostVeth, read just before), else looks it up.
bool delPod(nl_sock* sock, const std::string& hostVeth,
            std::optional<nl::LinkBrief> known = std::nullopt);
std::vector<std::string> checkPod(nl_sock* sock, const PodSpec& spec, const Netns& podNs);
std::vector<Datapath::HostVeth> listHostVeths(nl_sock* sock);
std::optional<Datapath::HostVeth> findHostVeth(nl_sock* sock, const std::string& name);

// True for names sixrd gives host veths: "sx" followed by 12 lowercase hex digits.
bool isHostVethName(std::string_view name) noexcept;

}  // namespace sixrd::tunnel
