// Sysctls through /proc/sys, in the network namespace the thread is in when called (the kernel
// binds /proc/sys/net to the opener's namespace).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sixrd::tunnel {

// key uses slashes: "net/ipv6/conf/all/forwarding". Throws SysctlError naming the key.
void writeSysctl(std::string_view key, std::string_view value);
// nullopt when the key does not exist; value without the trailing newline. Throws SysctlError.
std::optional<std::string> readSysctl(std::string_view key);
// Writes only when the current value differs (saves a write and keeps logs quiet).
void ensureSysctl(std::string_view key, std::string_view value);
// The entries of a sysctl directory ("net/ipv6/conf": all, default and one per interface), sorted.
// Throws std::system_error naming the directory.
std::vector<std::string> listSysctl(std::string_view dir);

// Turns on net.ipv6.conf.all.forwarding when it is off, first setting accept_ra=2 on every
// interface that had accept_ra=1 (with forwarding on the kernel ignores router advertisements on
// accept_ra=1 interfaces and purges the default routes learned from them at once; accept_ra=2
// keeps them). Pod-side and future interfaces keep the kernel's default. Returns what it changed,
// one sentence each (empty when forwarding was on already). Throws std::system_error.
std::vector<std::string> enableForwarding();

}  // namespace sixrd::tunnel
