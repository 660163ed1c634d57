#include "tunnel/netns.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tunnel/datapath.hpp"

namespace sixrd::tunnel {

namespace {
#ifndef NSFS_MAGIC
constexpr long kNsfsMagic = 0x6e736673;
#else
constexpr long kNsfsMagic = NSFS_MAGIC;
#endif
}  // namespace

Netns Netns::open(const std::string& path) {
  // A path handle first: opening a FIFO for reading blocks until a writer comes (forever, for a
  // hostile CNI_NETNS), and opening a device can act on it. O_PATH does neither, and fstatfs works
  // on it, so nothing but a namespace file is ever opened for real.
  const util::UniqueFd handle(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (handle.get() < 0) {
    const int err = errno;
    throw NetnsError(fmt::format("netns {}: {}", path, std::strerror(err)), err == ENOENT);
  }
  const auto notNetns = [&path](const std::string& what) {
    return NetnsError(fmt::format("netns {}: not a network namespace ({}; expected a bind-mounted "
                                  "namespace or /proc/<pid>/ns/net)",
                                  path, what),
                      false);
  };
  // A bind-mounted namespace lives on nsfs; /proc/<pid>/ns/net resolves to nsfs too. Anything
  // else (a regular file, a directory, a FIFO) would make setns fail later with a bare EINVAL.
  struct statfs fs {};
  if (fstatfs(handle.get(), &fs) != 0 || static_cast<long>(fs.f_type) != kNsfsMagic) {
    struct stat st {};
    const bool known = fstat(handle.get(), &st) == 0;
    throw notNetns(!known                                       ? "cannot stat it"
                   : S_ISFIFO(st.st_mode)                       ? "it is a FIFO"
                   : S_ISDIR(st.st_mode)                        ? "it is a directory"
                   : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "it is a device"
                   : S_ISSOCK(st.st_mode)                       ? "it is a socket"
                                                                : "it is not on nsfs");
  }
  // setns and NS_GET_NSTYPE need a real open file: reopen the very inode the handle holds (no
  // second lookup of `path` that could be swapped in between), without blocking either way.
  const std::string self = "/proc/self/fd/" + std::to_string(handle.get());
  util::UniqueFd fd(::open(self.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    const int err = errno;
    throw NetnsError(fmt::format("netns {}: {}", path, std::strerror(err)), false);
  }
  const int type = ioctl(fd.get(), NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    throw notNetns(type < 0 ? fmt::format("NS_GET_NSTYPE: {}", std::strerror(errno))
                            : "it is a namespace of another kind");
  }
  return {std::move(fd), path};
}

Netns Netns::openVerified(const std::string& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    throw NetnsError(fmt::format("netns {}: {}", path, std::strerror(err)), err == ENOENT);
  }
  return {std::move(fd), path};
}

Netns Netns::current() { return openVerified("/proc/thread-self/ns/net"); }

Netns Netns::current(int socketMadeHere) {
  util::UniqueFd fd(ioctl(socketMadeHere, SIOCGSKNS));
  if (fd.get() < 0) return current();
  return {std::move(fd), fmt::format("(the namespace of socket {})", socketMadeHere)};
}

NetnsGuard::NetnsGuard(const Netns& target) : NetnsGuard(target, Netns::current()) {}

NetnsGuard::NetnsGuard(const Netns& target, int socketMadeHere)
    : NetnsGuard(target, Netns::current(socketMadeHere)) {}

NetnsGuard::NetnsGuard(const Netns& target, Netns origin) : origin_(std::move(origin)) {
  if (setns(target.fd(), CLONE_NEWNET) != 0) {
    const int err = errno;
    throw NetnsError(fmt::format("enter netns {}: {}", target.path(), std::strerror(err)), false);
  }
}

NetnsGuard::~NetnsGuard() {
  if (setns(origin_.fd(), CLONE_NEWNET) != 0) {
    // Nothing sane can follow: every later kernel call would act on the pod's namespace.
    std::fprintf(stderr, "sixrd: cannot return to netns %s: %s; aborting\n", origin_.path().c_str(),
                 std::strerror(errno));
    std::abort();
  }
}

}  // namespace sixrd::tunnel
