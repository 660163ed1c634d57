#include "tunnel/netns.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
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
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    throw NetnsError(fmt::format("netns {}: {}", path, std::strerror(err)), err == ENOENT);
  }
  // A bind-mounted namespace lives on nsfs; /proc/<pid>/ns/net resolves to nsfs too. Anything
  // else (a regular file, a directory) would make setns fail later with a bare EINVAL.
  struct statfs fs {};
  if (fstatfs(fd.get(), &fs) != 0 || static_cast<long>(fs.f_type) != kNsfsMagic ||
      ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET) {
    throw NetnsError(fmt::format("netns {}: not a network namespace (expected a bind-mounted "
                                 "namespace or /proc/<pid>/ns/net)",
                                 path),
                     false);
  }
  return {std::move(fd), path};
}

Netns Netns::current() { return open("/proc/thread-self/ns/net"); }

NetnsGuard::NetnsGuard(const Netns& target) : origin_(Netns::current()) {
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
