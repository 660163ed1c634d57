#include "cni/caps.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "cni/error.hpp"

// The two system calls themselves (capget/capset, version 3: two 32-bit words per set), not
// libcap: libcap's start-up probes the bounding set with six prctl calls in every run of the
// plugin, and its cap_t API took five capget calls where one does.
namespace sixrd::cni {
namespace {

struct KernelCap {
  unsigned value;
  const char* name;
};

constexpr std::array<KernelCap, 2> kKernelCaps = {{
    {CAP_NET_ADMIN, "CAP_NET_ADMIN"},
    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
}};

using Sets = std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3>;

[[noreturn]] void fail(const std::string& what) {
  const int err = errno;
  throw Error(Code::kMissingCapability, what + ": " + std::strerror(err));
}

Sets currentCaps() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  Sets sets{};
  if (::syscall(SYS_capget, &header, sets.data()) != 0) {
    fail("cannot read the process capabilities (capget)");
  }
  return sets;
}

std::uint32_t bit(unsigned value) { return std::uint32_t{1} << (value % 32); }

bool has(const Sets& sets, unsigned value, std::uint32_t __user_cap_data_struct::*set) {
  return (sets[value / 32].*set & bit(value)) != 0;
}

void raise(Sets& sets, unsigned value, std::uint32_t __user_cap_data_struct::*set) {
  sets[value / 32].*set |= bit(value);
}

std::vector<std::string> missingIn(const Sets& caps) {
  std::vector<std::string> missing;
  for (const KernelCap& cap : kKernelCaps) {
    if (!has(caps, cap.value, &__user_cap_data_struct::effective)) {
      missing.emplace_back(cap.name);
    }
  }
  return missing;
}

void requireIn(const Sets& caps) {
  const std::vector<std::string> missing = missingIn(caps);
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

void dropFrom(const Sets& current) {
  // All-clear to start with; only what is permitted now can be kept (raising is not ours to do).
  Sets wanted{};
  for (const KernelCap& cap : kKernelCaps) {
    if (!has(current, cap.value, &__user_cap_data_struct::permitted)) {
      continue;
    }
    raise(wanted, cap.value, &__user_cap_data_struct::effective);
    raise(wanted, cap.value, &__user_cap_data_struct::permitted);
    // Inheritable is only kept, never raised: raising it can need CAP_SETPCAP or the bounding set,
    // and sixrd executes nothing that would inherit it.
    if (has(current, cap.value, &__user_cap_data_struct::inheritable)) {
      raise(wanted, cap.value, &__user_cap_data_struct::inheritable);
    }
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  if (::syscall(SYS_capset, &header, wanted.data()) != 0) {
    fail("cannot drop capabilities other than CAP_NET_ADMIN and CAP_SYS_ADMIN (capset)");
  }
}

}  // namespace

std::vector<std::string> missingCapabilities() { return missingIn(currentCaps()); }

void requireKernelCapabilities() { requireIn(currentCaps()); }

void dropToKernelCapabilities() { dropFrom(currentCaps()); }

void requireAndDropToKernelCapabilities() {
  const Sets current = currentCaps();
  requireIn(current);
  dropFrom(current);
}

}  // namespace sixrd::cni
