#include "install/reclaim.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "cni/config.hpp"
#include "install/files.hpp"
#include "install/installer.hpp"
#include "ipam/interface_id.hpp"
#include "ipam/sixrd_math.hpp"

namespace sixrd::install {

namespace {

namespace fs = std::filesystem;
using Peer = tunnel::Datapath::HostVeth::Peer;
using File = ipam::LeaseStore::File;
using Clock = ipam::LeaseStore::Clock;

struct AliasOwner {
  std::string ifname;
  std::string containerId;  // cut at 255 bytes of alias
};

// The alias ADD gives a host veth: "sixrd/<network>/<ifname>/<container id>".
std::optional<AliasOwner> ownerOf(std::string_view alias, std::string_view mine) {
  if (!alias.starts_with(mine)) return std::nullopt;
  alias.remove_prefix(mine.size());
  const auto slash = alias.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return AliasOwner{std::string(alias.substr(0, slash)), std::string(alias.substr(slash + 1))};
}

std::string_view peerText(Peer peer) {
  switch (peer) {
    case Peer::kUnknown:
      return "its peer cannot be told";
    case Peer::kOtherNetns:
      return "its peer is in a live namespace";
    case Peer::kNetnsGone:
      return "its pod namespace is being destroyed";
    case Peer::kNone:
      return "it has no peer any more";
    case Peer::kSameNetns:
      return "its peer is in the node namespace, not in a pod";
  }
  return "?";
}

long long secondsOf(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

std::string describe(const ipam::Lease& lease) {
  return fmt::format("lease {} of container {} ifname {}", ipam::formatIpv6(lease.address),
                     lease.owner.containerId, lease.owner.ifname);
}

}  // namespace

Reclaimer::Reclaimer(std::chrono::seconds grace) : grace_(grace) {
  if (grace.count() < 0) throw std::invalid_argument("the reclaim grace period cannot be negative");
}

void Reclaimer::leaveAlone(ReclaimReport& report, const std::string& key, const std::string& line) {
  report.leftAlone.push_back(line);
  // The same foreign object every round is news once (the daemon runs every interval).
  if (reported_.insert(key).second) {
    spdlog::info("reclaim: leaving alone {}", line);
  } else {
    spdlog::debug("reclaim: leaving alone {}", line);
  }
}

ReclaimReport Reclaimer::run(const fs::path& storeRoot, const std::string& network,
                             tunnel::Datapath& datapath) {
  ipam::LeaseStore store(storeRoot, network);
  ReclaimReport report;
  const std::set<std::string> before = std::exchange(reported_, {});
  // Keys already reported stay quiet; ones that vanished are forgotten (so the set stays small).
  const auto leaveAloneOnce = [&](const std::string& key, const std::string& line) {
    if (before.contains(key)) reported_.insert(key);
    leaveAlone(report, key, line);
  };

  // Veths first, as in DEL and GC: one whose pod is gone is deleted, and then its lease is seen
  // without a veth below, in this same pass.
  const std::string mine = fmt::format("sixrd/{}/", network);
  std::set<std::string> veths;
  for (auto& veth : datapath.listHostVeths()) {
    const std::optional<AliasOwner> owner = ownerOf(veth.alias, mine);
    if (!owner) {
      veths.insert(veth.name);
      std::string line;
      if (veth.alias.empty()) {
        line = fmt::format("host veth {}: no alias (an ADD still plumbing it, or not sixrd's)",
                           veth.name);
      } else if (veth.alias.starts_with("sixrd/")) {
        line = fmt::format("host veth {}: of another sixrd network ({})", veth.name, veth.alias);
      } else {
        line = fmt::format("host veth {}: not sixrd's (alias {})", veth.name, veth.alias);
      }
      leaveAloneOnce("veth " + veth.name + " " + veth.alias, line);
      continue;
    }
    switch (veth.peer) {
      case Peer::kOtherNetns:
        // A running pod, or one whose namespace is pinned by a mount: alive as far as anyone
        // here can know.
        veths.insert(veth.name);
        continue;
      case Peer::kNetnsGone:
      case Peer::kNone:
        if (datapath.delPod(veth.name)) {
          spdlog::info("reclaim: removed host veth {} of container {} ifname {}: {}", veth.name,
                       owner->containerId, owner->ifname, peerText(veth.peer));
          report.vethsRemoved.push_back(std::move(veth));
        }
        continue;
      case Peer::kSameNetns:
      case Peer::kUnknown:
        veths.insert(veth.name);
        leaveAloneOnce("veth " + veth.name + " " + veth.alias,
                       fmt::format("host veth {} of container {} ifname {}: {}", veth.name,
                                   owner->containerId, owner->ifname, peerText(veth.peer)));
        continue;
    }
  }

  const auto now = Clock::now();
  const auto hasVeth = [&](const ipam::Lease& lease) {
    const std::string name = ipam::hostVethOf(lease);
    return veths.contains(name) || datapath.findHostVeth(name).has_value();
  };
  for (const File& file : store.scan()) {
    switch (file.kind) {
      case File::Kind::kTemp:
        // An ADD publishing a lease this instant, or clutter LeaseStore::gc removes.
        continue;
      case File::Kind::kForeign:
        leaveAloneOnce("file " + file.name,
                       fmt::format("{}: {}", (store.dir() / file.name).string(), file.why));
        continue;
      case File::Kind::kTombstone: {
        if (!file.lease) {
          leaveAloneOnce("file " + file.name,
                         fmt::format("{}: a tombstone that does not read as a lease",
                                     (store.dir() / file.name).string()));
          continue;
        }
        // Younger: another reclaim is between its bury and its decision.
        if (now - file.changed < grace_) continue;
        const ipam::LeaseStore::Tombstone tomb = store.tombstoneOf(file);
        if (hasVeth(tomb.lease)) {
          const bool back = store.exhume(tomb);
          spdlog::info("reclaim: {} {} (an interrupted reclaim: its host veth exists)",
                       back ? "put back" : "dropped the tombstone of (a fresh lease took its name)",
                       describe(tomb.lease));
          report.leasesKept.push_back(tomb.lease);
        } else {
          store.discard(tomb);
          spdlog::info("reclaim: released {} (an interrupted reclaim: no host veth)",
                       describe(tomb.lease));
          report.leasesReleased.push_back(tomb.lease);
        }
        continue;
      }
      case File::Kind::kLease:
        break;
    }

    const ipam::Lease& lease = *file.lease;
    const std::string vethName = ipam::hostVethOf(lease);
    if (veths.contains(vethName)) continue;
    const auto age = now - file.modified;
    if (age < grace_) {
      // ADD writes the lease before the veth (and touches one it reuses): maybe one in flight.
      spdlog::debug("reclaim: keeping {} without host veth {}: {} s old, grace {} s",
                    describe(lease), vethName, secondsOf(age), grace_.count());
      continue;
    }
    if (beforeBury) beforeBury(lease);
    std::string why;
    const std::optional<ipam::LeaseStore::Tombstone> tomb = store.bury(file, &why);
    if (!tomb) {
      spdlog::info("reclaim: keeping {}: {}", describe(lease), why);
      report.leasesKept.push_back(lease);
      continue;
    }
    if (afterBury) afterBury(lease);
    // The lease is out of every ADD's sight now; an ADD that made the veth before this point
    // shows here, one after makes a fresh lease under the name, which exhume() leaves alone.
    bool vethNow = false;
    try {
      vethNow = datapath.findHostVeth(vethName).has_value();
    } catch (...) {
      store.exhume(*tomb);
      throw;
    }
    if (vethNow) {
      const bool back = store.exhume(*tomb);
      spdlog::info("reclaim: keeping {}: host veth {} appeared (an ADD raced the reclaim); {}",
                   describe(lease), vethName,
                   back ? "lease put back" : "the fresh lease that ADD made stays");
      report.leasesKept.push_back(lease);
      continue;
    }
    store.discard(*tomb);
    spdlog::info(
        "reclaim: released {}: no host veth {} and the lease is {} s old (grace {} s); its DEL "
        "never reached sixrd",
        describe(lease), vethName, secondsOf(age), grace_.count());
    report.leasesReleased.push_back(lease);
  }
  return report;
}

ReclaimReport Reclaimer::runFor(const fs::path& conf, const fs::path& hostRoot,
                                tunnel::Datapath& datapath) {
  const cni::PluginConfig config = cni::parseConfig(pluginStdin(readConf(conf)).dump());
  // Resolved in the host root as the node sees it: a dataDir with ".." or a symlink on the way
  // never leads the reclaim out of it. Made when missing, as the plugin's first ADD would.
  return run(*dirUnderRoot(hostRoot, config.dataDir, true), config.name, datapath);
}

}  // namespace sixrd::install
