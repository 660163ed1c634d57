#include "install/files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

#include "util/owner.hpp"
#include "util/scope_guard.hpp"

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

// A new temporary file next to `target`, for writeFileAtomic to rename into place. Its path is
// set in `path`.
util::UniqueFd createTemp(const fs::path& target, std::string& path) {
  // A leading dot and a random suffix after the extension: runtimes scanning the CNI config
  // directory for *.conf / *.conflist / *.json never pick it up.
  // Appended piece by piece: g++ 12 flags `"." + std::string + ".XXXXXX"` with a -Wrestrict
  // false positive (GCC bug 105651).
  std::string leaf = ".";
  leaf += target.filename().string();
  leaf += ".XXXXXX";
  path = target.parent_path() / leaf;
  util::UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));
  if (fd.get() < 0) fail(errno, "create a temporary file next to " + target.string());
  return fd;
}

}  // namespace

std::optional<std::string> readFileIfExists(const fs::path& path) {
  const util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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
  const util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
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
  std::string temp;
  util::UniqueFd fd = createTemp(path, temp);
  // Until it is renamed into place, a failure removes it.
  util::ScopeGuard removeTemp([&]() noexcept { ::unlink(temp.c_str()); });
  writeAll(fd.get(), content, temp);
  if (::fchmod(fd.get(), mode) != 0) fail(errno, "chmod " + temp);
  if (::fsync(fd.get()) != 0) fail(errno, "fsync " + temp);
  if (fd.close() != 0) fail(errno, "close " + temp);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    fail(errno, "rename " + temp + " to " + path.string());
  }
  removeTemp.dismiss();
  // The rename itself is only durable once the directory is synced.
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const util::UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirFd.get() < 0) fail(errno, "open directory " + dir.string());
  if (::fsync(dirFd.get()) != 0) fail(errno, "fsync directory " + dir.string());
  return true;
}

std::optional<fs::path> dirUnderRoot(const fs::path& hostRoot, const fs::path& nodeDir,
                                     bool create) {
  const std::string what = nodeDir.string() + " under the host root " + hostRoot.string();
  const util::UniqueFd root(::open(hostRoot.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) fail(errno, "open the host root " + hostRoot.string());
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const auto resolve = [&](const fs::path& rel) {
    const char* path = rel.empty() ? "." : rel.c_str();
    return util::UniqueFd(
        static_cast<int>(::syscall(SYS_openat2, root.get(), path, &how, sizeof how)));
  };
  const fs::path rel = nodeDir.relative_path();
  util::UniqueFd dir = resolve(rel);
  if (dir.get() < 0 && errno == ENOSYS) {
    fail(ENOSYS, "resolve " + what + ": the kernel has no openat2 (Linux 5.6 or later needed)");
  }
  if (dir.get() < 0 && errno == ENOENT) {
    if (!create) return std::nullopt;
    // One component at a time, each resolved in the root: a symlink met on the way is followed
    // the way the node would follow it, never out.
    fs::path done;
    for (const fs::path& part : rel) {
      const fs::path next = done / part;
      if (resolve(next).get() < 0) {
        if (errno != ENOENT) fail(errno, "resolve " + next.string() + " in " + what);
        const util::UniqueFd parent = resolve(done);
        if (parent.get() < 0) fail(errno, "resolve " + done.string() + " in " + what);
        if (::mkdirat(parent.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
          fail(errno, "create " + next.string() + " in " + what);
        }
      }
      done = next;
    }
    dir = resolve(rel);
  }
  if (dir.get() < 0) fail(errno, "resolve " + what);
  std::array<char, 4096> buf{};
  const std::string self = "/proc/self/fd/" + std::to_string(dir.get());
  const ssize_t n = ::readlink(self.c_str(), buf.data(), buf.size() - 1);
  if (n < 0) fail(errno, "read back " + what);
  return fs::path(std::string(buf.data(), static_cast<std::size_t>(n)));
}

bool removeFile(const fs::path& path) {
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  fail(errno, "remove " + path.string());
}

}  // namespace sixrd::install
