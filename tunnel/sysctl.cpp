#include "tunnel/sysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <system_error>

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

}  // namespace sixrd::tunnel
