// Owners of C handles, the bottom of the include order (util/ includes nothing of sixrd's).
// Put<F> is the stateless deleter for a std::unique_ptr over a C object freed by F (libnl
// objects, libcap sets); UniqueFd owns a file descriptor (files, namespaces).
#pragma once

#include <unistd.h>

#include <utility>

namespace sixrd::util {

template <auto F>
struct Put {
  void operator()(auto* p) const noexcept { F(p); }
};

// An owning file descriptor: closed when the owner goes. -1 owns nothing.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  // close() can report a deferred write error (NFS, quota), so a writer checks it; the fd is
  // released either way.
  int close() noexcept { return ::close(std::exchange(fd_, -1)); }

 private:
  void reset() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }
  int fd_ = -1;
};

}  // namespace sixrd::util
