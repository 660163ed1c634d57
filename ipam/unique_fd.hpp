// An owning file descriptor: closed on scope exit. Shared by the lease store and the installer,
// the two places that write files.
#pragma once

#include <unistd.h>

namespace sixrd::ipam {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  // close() can report a deferred write error (NFS, quota), so a writer checks it.
  int close() noexcept {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

}  // namespace sixrd::ipam
