// Sysctls through /proc/sys, in the network namespace the thread is in when called (the kernel
// binds /proc/sys/net to the opener's namespace).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sixrd::tunnel {

// key uses slashes: "net/ipv6/conf/all/forwarding". Throws SysctlError naming the key.
void writeSysctl(std::string_view key, std::string_view value);
// nullopt when the key does not exist; value without the trailing newline. Throws SysctlError.
std::optional<std::string> readSysctl(std::string_view key);
// Writes only when the current value differs (saves a write and keeps logs quiet).
void ensureSysctl(std::string_view key, std::string_view value);

}  // namespace sixrd::tunnel
