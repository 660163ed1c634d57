// Linux capabilities of the plugin process (capget/capset). Everything sixrd does to the kernel
// needs CAP_NET_ADMIN (links, addresses, routes, sysctls under net/) and CAP_SYS_ADMIN (setns into
// the pod's network namespace); nothing needs more.
#pragma once

#include <string>
#include <vector>

namespace sixrd::cni {

// The names ("CAP_NET_ADMIN", "CAP_SYS_ADMIN") of those two that are not in the calling thread's
// effective set, in that order; empty when both are there. Throws cni::Error code 103 when the
// capability state cannot be read.
std::vector<std::string> missingCapabilities();

// Throws cni::Error code 103 (kMissingCapability) naming the missing capabilities and the fix
// when missingCapabilities() is not empty.
void requireKernelCapabilities();

// Reduces the effective, permitted and inheritable sets to CAP_NET_ADMIN and CAP_SYS_ADMIN (each
// set keeps those of the two it may hold: effective and permitted what is permitted now,
// inheritable what is inheritable now; a missing one is not an error here,
// requireKernelCapabilities() reports it). The ambient set follows, as the kernel keeps it a subset
// of permitted and inheritable. Irreversible for the process. Throws cni::Error code 103 when the
// sets cannot be changed. Call it while single-threaded: it changes the calling thread only.
// Caveat: without CAP_SYS_PTRACE (and CAP_DAC_OVERRIDE), opening another process's
// /proc/<pid>/ns/net fails unless that process's capabilities are a subset of ours; open such
// namespace files before dropping. Bind-mounted namespaces (/run/netns/...) are unaffected.
void dropToKernelCapabilities();

// requireKernelCapabilities(), then dropToKernelCapabilities(), on one read of the sets: what a
// CNI call does first.
void requireAndDropToKernelCapabilities();

}  // namespace sixrd::cni
