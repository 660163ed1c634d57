// Network namespaces: an owning fd (with its path, for messages) and a guard that enters one and
// restores the original. sixrd is single-threaded, so setns() moves the whole process; sockets
// opened inside the guard stay bound to the namespace they were made in.
#pragma once

#include <string>

#include "util/owner.hpp"

namespace sixrd::tunnel {

class Netns {
 public:
  // Opens `path` and checks it is a network namespace (nsfs, NS_GET_NSTYPE), never blocking: the
  // path is first opened O_PATH and only a namespace file is then opened for real (O_RDONLY).
  // Throws NetnsError (missing() when the path does not exist).
  static Netns open(const std::string& path);
  // A namespace file known to be one: /proc/self/fd/N of a namespace open() took already, or this
  // thread's own. Opened directly, one system call instead of open()'s five; throws NetnsError.
  static Netns openVerified(const std::string& path);
  // The namespace this thread is in now.
  static Netns current();
  // The same, named by `socketMadeHere`, a socket made in it, through ioctl SIOCGSKNS: no lookup
  // in /proc, which costs a fresh process more than any other step of a namespace switch. Falls
  // back to current() where the kernel refuses the ioctl.
  static Netns current(int socketMadeHere);

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  Netns(util::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  util::UniqueFd fd_;
  std::string path_;  // for messages
};

// Enters `target` on construction (throws NetnsError when setns fails) and returns to the
// namespace it came from on destruction; if that return fails the process aborts, because
// continuing would change the wrong namespace.
class NetnsGuard {
 public:
  explicit NetnsGuard(const Netns& target);
  // The same, with the way back named by a socket made in the namespace this thread is in now
  // (Netns::current(int)).
  NetnsGuard(const Netns& target, int socketMadeHere);
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  ~NetnsGuard();

 private:
  NetnsGuard(const Netns& target, Netns origin);
  Netns origin_;
};

}  // namespace sixrd::tunnel
