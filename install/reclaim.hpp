// Self-healing for attachments whose DEL never reached sixrd (issue 15): a runtime tears a pod
// down by calling DEL through the whole chain, and libcni stops at the first plugin whose DEL
// fails, so a chained plugin failing first leaves sixrd's lease file, and until the pod namespace
// goes its host veth and /128 route, behind on every retry. The runtime's GC verb stays the primary
// path; `sixrd daemon` runs this reclaim pass every round as the backstop.
//
// One pass, over one network's lease store (<dataDir>/<network>/) and the node's host veths:
//   1. A sixrd host veth of this network (IFLA_IFALIAS "sixrd/<network>/...") whose peer
//      namespace is gone (the kernel reports it being destroyed, or the pair has no peer any more)
//      is deleted. A veth whose peer namespace is alive is never touched: that is a running pod, or
//      one whose namespace a runtime still pins with a mount, and nobody can tell those apart.
//   2. A lease whose attachment has no host veth and whose file is older than the grace period is
//      released. ADD writes the lease before it makes the veth, and touches (mtime) a lease it
//      reuses, so a young lease may be an ADD in flight and is kept. The release is race-safe
//      against an ADD that reuses the lease at that very moment: the file is renamed to a
//      tombstone first (ipam::LeaseStore::bury, which gives up when the file was touched or
//      replaced since it was looked at), the host veth is looked up again, and only then is the
//      tombstone dropped, or renamed back when the veth appeared (never over a fresh lease an ADD
//      made under the name meanwhile: that one stays).
//   3. Tombstones older than the grace period (a reclaim that died half-way) are finished: put
//      back when their attachment has a host veth, else dropped.
// Everything else is left alone and logged once: files in the store that are not leases, veths of
// other networks or without a sixrd alias, veths whose peer is in the node namespace.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ipam/lease_store.hpp"
#include "tunnel/datapath.hpp"

namespace sixrd::install {

inline constexpr std::chrono::seconds kDefaultReclaimGrace{60};

struct ReclaimReport {
  std::vector<tunnel::Datapath::HostVeth> vethsRemoved;
  std::vector<ipam::Lease> leasesReleased;
  // Stale-looking leases an ADD raced for: left in place, or put back from their tombstone.
  std::vector<ipam::Lease> leasesKept;
  // One line per foreign file or veth seen (logged at info the first time, debug after).
  std::vector<std::string> leftAlone;
};

class Reclaimer {
 public:
  // Throws std::invalid_argument for a negative grace.
  explicit Reclaimer(std::chrono::seconds grace = kDefaultReclaimGrace);

  // One pass over the store <storeRoot>/<network>/ (the config's dataDir as this process sees it)
  // in the node namespace the datapath works in. Throws ipam::StoreError, tunnel::NetlinkError,
  // ipam::InvalidInput (network not a directory name); what it did is logged as it goes.
  ReclaimReport run(const std::filesystem::path& storeRoot, const std::string& network,
                    tunnel::Datapath& datapath);

  // run() for the sixrd element of the conflist (or .conf) `conf`, whose dataDir is a path on the
  // node, found under `hostRoot` here. Throws what readConf and cni::parseConfig throw, and what
  // run() throws.
  ReclaimReport runFor(const std::filesystem::path& conf, const std::filesystem::path& hostRoot,
                       tunnel::Datapath& datapath);

  // Test seams, where an ADD can race the pass: after the store was read and a lease found
  // stale, before it is buried; and after it is buried, before its host veth is looked up again.
  std::function<void(const ipam::Lease&)> beforeBury;
  std::function<void(const ipam::Lease&)> afterBury;

 private:
  void leaveAlone(ReclaimReport& report, const std::string& key, const std::string& line);

  std::chrono::seconds grace_;
  std::set<std::string> reported_;
};

}  // namespace sixrd::install
