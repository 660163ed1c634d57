#include "cni/caps.hpp"

#include <sys/capability.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "cni/error.hpp"
#include "util/owner.hpp"

namespace sixrd::cni {
namespace {

struct KernelCap {
  cap_value_t value;
  const char* name;
};

constexpr std::array<KernelCap, 2> kKernelCaps = {{
    {CAP_NET_ADMIN, "CAP_NET_ADMIN"},
    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
}};

using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, util::Put<cap_free>>;

[[noreturn]] void fail(const std::string& what) {
  const int err = errno;
  throw Error(Code::kMissingCapability, what + ": " + std::strerror(err));
}

CapPtr currentCaps() {
  CapPtr caps(cap_get_proc());
  if (!caps) {
    fail("cannot read the process capabilities (cap_get_proc)");
  }
  return caps;
}

bool hasFlag(cap_t caps, cap_value_t value, cap_flag_t flag) {
  cap_flag_value_t set = CAP_CLEAR;
  if (cap_get_flag(caps, value, flag, &set) != 0) {
    fail("cannot read the process capabilities (cap_get_flag)");
  }
  return set == CAP_SET;
}

}  // namespace

std::vector<std::string> missingCapabilities() {
  const CapPtr caps = currentCaps();
  std::vector<std::string> missing;
  for (const KernelCap& cap : kKernelCaps) {
    if (!hasFlag(caps.get(), cap.value, CAP_EFFECTIVE)) {
      missing.emplace_back(cap.name);
    }
  }
  return missing;
}

void requireKernelCapabilities() {
  const std::vector<std::string> missing = missingCapabilities();
  if (missing.empty()) {
    return;
  }
  std::string names;
  for (const std::string& name : missing) {
    names += names.empty() ? name : " and " + name;
  }
  throw Error(Code::kMissingCapability,
              "sixrd lacks " + names +
                  ": it creates links and routes (CAP_NET_ADMIN) and enters the pod's network "
                  "namespace (CAP_SYS_ADMIN); run sixrd as root or grant CAP_NET_ADMIN and "
                  "CAP_SYS_ADMIN (in the DaemonSet: securityContext.capabilities.add)");
}

void dropToKernelCapabilities() {
  const CapPtr current = currentCaps();
  // A fresh cap_t is all-clear; only what is permitted now can be kept (raising is not ours to do).
  const CapPtr wanted(cap_init());
  if (!wanted) {
    fail("cannot allocate a capability set (cap_init)");
  }
  for (const KernelCap& cap : kKernelCaps) {
    if (!hasFlag(current.get(), cap.value, CAP_PERMITTED)) {
      continue;
    }
    const std::array<cap_value_t, 1> value = {cap.value};
    for (const cap_flag_t flag : {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE}) {
      // Inheritable is only kept, never raised: raising it can need CAP_SETPCAP or the bounding
      // set, and sixrd executes nothing that would inherit it.
      if (flag == CAP_INHERITABLE && !hasFlag(current.get(), cap.value, CAP_INHERITABLE)) {
        continue;
      }
      if (cap_set_flag(wanted.get(), flag, 1, value.data(), CAP_SET) != 0) {
        fail(std::string("cannot build the capability set (cap_set_flag ") + cap.name + ")");
      }
    }
  }
  if (cap_set_proc(wanted.get()) != 0) {
    fail("cannot drop capabilities other than CAP_NET_ADMIN and CAP_SYS_ADMIN (cap_set_proc)");
  }
}

}  // namespace sixrd::cni
