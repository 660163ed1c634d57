#include "install/files.hpp"
#include "ipam/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace sixrd::install {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

void writeAll(int fd, std::string_view content, const std::string& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, "write " + path);
    }
    done += static_cast<std::size_t>(n);
  }
}

std::string readAll(int fd, const std::string& path) {
  std::string out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, "read " + path);
    }
    if (n == 0) return out;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
}

// The temporary file until it is renamed into place: unlinked if anything fails before that.
class TempFile {
 public:
  explicit TempFile(const fs::path& target) {
    // A leading dot and a random suffix after the extension: runtimes scanning the CNI config
    // directory for *.conf / *.conflist / *.json never pick it up.
    // Appended piece by piece: g++ 12 flags `"." + std::string + ".XXXXXX"` with a -Wrestrict
    // false positive (GCC bug 105651).
    std::string leaf = ".";
    leaf += target.filename().string();
    leaf += ".XXXXXX";
    std::string name = target.parent_path() / leaf;
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) fail(errno, "create a temporary file next to " + target.string());
    fd_ = fd;
    path_ = std::move(name);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(path_.c_str());
  }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  void closeNow() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(errno, "close " + path_);
  }
  void renamedTo(const fs::path& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0) {
      fail(errno, "rename " + path_ + " to " + target.string());
    }
    renamed_ = true;
  }

 private:
  int fd_ = -1;
  std::string path_;
  bool renamed_ = false;
};

}  // namespace

std::optional<std::string> readFileIfExists(const fs::path& path) {
  const ipam::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail(errno, "open " + path.string());
  }
  return readAll(fd.get(), path.string());
}

std::string readFile(const fs::path& path) {
  auto content = readFileIfExists(path);
  if (!content) fail(ENOENT, "open " + path.string());
  return std::move(*content);
}

bool hasContent(const fs::path& path, std::string_view content, mode_t mode) {
  // O_NOFOLLOW: a symlink at the target is replaced by a real file, whatever it points to.
  const ipam::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ELOOP) return false;
    fail(errno, "open " + path.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(errno, "stat " + path.string());
  if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != mode ||
      static_cast<std::size_t>(st.st_size) != content.size()) {
    return false;
  }
  return readAll(fd.get(), path.string()) == content;
}

bool writeFileAtomic(const fs::path& path, std::string_view content, mode_t mode) {
  if (hasContent(path, content, mode)) return false;
  TempFile temp(path);
  writeAll(temp.fd(), content, temp.path());
  if (::fchmod(temp.fd(), mode) != 0) fail(errno, "chmod " + temp.path());
  if (::fsync(temp.fd()) != 0) fail(errno, "fsync " + temp.path());
  temp.closeNow();
  temp.renamedTo(path);
  // The rename itself is only durable once the directory is synced.
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const ipam::UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirFd.get() < 0) fail(errno, "open directory " + dir.string());
  if (::fsync(dirFd.get()) != 0) fail(errno, "fsync directory " + dir.string());
  return true;
}

bool removeFile(const fs::path& path) {
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  fail(errno, "remove " + path.string());
}

}  // namespace sixrd::install
