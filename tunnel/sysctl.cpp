#include "tunnel/sysctl.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "tunnel/error.hpp"
#include "util/owner.hpp"

namespace sixrd::tunnel {

namespace {

std::string procPath(std::string_view key) { return "/proc/sys/" + std::string(key); }

[[noreturn]] void fail(int err, const std::string& what) {
  throw SysctlError(err, what + ": " + std::generic_category().message(err));
}

}  // namespace

void writeSysctl(std::string_view key, std::string_view value) {
  const std::string path = procPath(key);
  util::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) fail(errno, "sysctl " + std::string(key));
  const std::string line = std::string(value) + "\n";
  const ssize_t n = ::write(fd.get(), line.data(), line.size());
  const int err = errno;
  fd.close();
  if (n != static_cast<ssize_t>(line.size())) {
    fail(n < 0 ? err : EIO, "sysctl " + std::string(key) + "=" + std::string(value));
  }
}

std::optional<std::string> readSysctl(std::string_view key) {
  const std::string path = procPath(key);
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail(errno, "sysctl " + std::string(key));
  }
  std::array<char, 256> buf{};
  const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
  if (n < 0) fail(errno, "sysctl " + std::string(key));
  std::string value(buf.data(), static_cast<std::size_t>(n));
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
  return value;
}

void ensureSysctl(std::string_view key, std::string_view value) {
  if (readSysctl(key) != std::optional<std::string>(value)) writeSysctl(key, value);
}

std::vector<std::string> listSysctl(std::string_view dir) {
  std::error_code ec;
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(procPath(dir), ec)) {
    out.push_back(entry.path().filename().string());
  }
  if (ec) fail(ec.value(), "sysctl " + std::string(dir));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> enableForwarding() {
  constexpr std::string_view kForwarding = "net/ipv6/conf/all/forwarding";
  if (readSysctl(kForwarding) == std::optional<std::string>("1")) return {};
  std::vector<std::string> changed;
  for (const std::string& name : listSysctl("net/ipv6/conf")) {
    if (name == "all" || name == "default" || name == "lo") continue;
    const std::string key = "net/ipv6/conf/" + name + "/accept_ra";
    // An interface that went away since the listing has no key any more: nothing to keep.
    if (readSysctl(key) != std::optional<std::string>("1")) continue;
    writeSysctl(key, "2");
    changed.push_back(fmt::format(
        "net.ipv6.conf.{}.accept_ra 1 -> 2 (keeps taking router advertisements with forwarding on)",
        name));
  }
  writeSysctl(kForwarding, "1");
  changed.emplace_back("net.ipv6.conf.all.forwarding 0 -> 1 (pods' traffic is routed)");
  return changed;
}

}  // namespace sixrd::tunnel
