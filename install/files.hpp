// File operations for writing onto a node: every write is atomic (a temporary file in the same
// directory, fsync, rename, fsync of the directory), so a kubelet or container runtime reading the
// file at any moment sees either the old content or the new one, never a part. Replacing by rename
// also works while the old binary is being executed (writing over it in place fails with ETXTBSY).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sixrd::install {

// Whether `path` is a regular file (not a symlink) with exactly `content` and permission bits
// `mode`. A missing file is not an error. Throws std::system_error naming the path.
bool hasContent(const std::filesystem::path& path, std::string_view content, mode_t mode);

// Makes `path` a regular file with `content` and permission bits `mode` (umask does not apply).
// Does nothing and returns false when it already is one (hasContent); returns true when written.
// The parent directory must exist. On failure no temporary file is left behind and `path` is
// unchanged. Throws std::system_error naming the path and the step.
bool writeFileAtomic(const std::filesystem::path& path, std::string_view content, mode_t mode);

// The whole content of a file. Throws std::system_error naming the path.
std::string readFile(const std::filesystem::path& path);

// The content, or nullopt when the file does not exist. Throws std::system_error otherwise.
std::optional<std::string> readFileIfExists(const std::filesystem::path& path);

// The directory `nodeDir` (an absolute path as the node sees it) as this process reaches it under
// `hostRoot`, resolved the way a process chrooted into hostRoot would: openat2 with
// RESOLVE_IN_ROOT, so ".." stops at hostRoot and an absolute symlink is read relative to it; what
// lies outside hostRoot is never reached. Returns its path in this process's view (under
// hostRoot's real path). When a component is missing: with `create`, the missing directories are
// made (0755, each resolved the same way); without, nullopt. Throws std::system_error naming
// nodeDir and hostRoot (ENOTDIR when a component is not a directory).
std::optional<std::filesystem::path> dirUnderRoot(const std::filesystem::path& hostRoot,
                                                  const std::filesystem::path& nodeDir,
                                                  bool create);

// Removes `path` (not a directory). Returns whether it existed; a missing file is not an error.
// Throws std::system_error naming the path.
bool removeFile(const std::filesystem::path& path);

}  // namespace sixrd::install
