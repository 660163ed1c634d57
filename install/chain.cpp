// The chained meta plugins, as install sees them before it writes a conflist that names them:
// found under the host root, started the way libcni starts them for CNI_COMMAND=VERSION, and the
// list's CNI versions negotiated from their answers. Declared in install/installer.hpp.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>

#include "cni/json_input.hpp"
#include "cni/version.hpp"
#include "install/files.hpp"
#include "install/installer.hpp"
#include "util/owner.hpp"

namespace sixrd::install {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// What a child process did.
struct Finished {
  int status = 0;  // waitpid status
  bool timedOut = false;
  std::string out;
  std::string err;
};

// Runs `exe` with exactly `env`, `input` on its stdin, collecting stdout and stderr (each capped),
// and SIGKILLs it after `timeoutMs`. Throws std::system_error when it cannot be started.
Finished runProcess(const fs::path& exe, const std::vector<std::string>& env,
                    std::string_view input, int timeoutMs) {
  constexpr std::size_t kCap = 1 << 20;
  int in[2];
  int out[2];
  int err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const util::UniqueFd inRead(in[0]);
  util::UniqueFd inWrite(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const util::UniqueFd outRead(out[0]);
  util::UniqueFd outWrite(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const util::UniqueFd errRead(err[0]);
  util::UniqueFd errWrite(err[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  const std::string path = exe.string();
  std::vector<char*> argv{const_cast<char*>(path.c_str()), nullptr};
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "run " + path);
  outWrite.close();
  errWrite.close();

  // A plugin that exits without reading its stdin must not kill the installer with SIGPIPE.
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &previous);
  std::size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = ::write(inWrite.get(), input.data() + written, input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  ::sigaction(SIGPIPE, &previous, nullptr);
  inWrite.close();

  Finished done;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  bool outOpen = true;
  bool errOpen = true;
  char buf[4096];
  while (outOpen || errOpen) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      done.timedOut = true;
      break;
    }
    pollfd fds[2] = {{outOpen ? outRead.get() : -1, POLLIN, 0},
                     {errOpen ? errRead.get() : -1, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::string& into = i == 0 ? done.out : done.err;
      if (n <= 0) {
        (i == 0 ? outOpen : errOpen) = false;
      } else if (into.size() < kCap) {
        into.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  if (done.timedOut) ::kill(pid, SIGKILL);
  while (::waitpid(pid, &done.status, 0) < 0 && errno == EINTR) {
  }
  return done;
}

std::string firstLine(std::string text, std::size_t max = 300) {
  text = text.substr(0, text.find('\n'));
  if (text.size() > max) text = text.substr(0, max) + "...";
  return text;
}

// Where the node path `nodePath` is in this process: under the host root, following symlinks as
// the node would (an absolute target is a node path). nullopt when nothing is there at all;
// `dangling` is set when a symlink leads to a path that is not there (as seen from here).
std::optional<fs::path> locateUnderRoot(const fs::path& root, fs::path nodePath, bool& dangling,
                                        std::string& target) {
  dangling = false;
  for (int hop = 0; hop < 40; ++hop) {
    // The directory resolved in the root as the node sees it (a symlink on the way, absolute or
    // climbing with "..", stays inside); the last component is followed here, by hand.
    std::optional<fs::path> dir;
    try {
      dir = dirUnderRoot(root, nodePath.parent_path(), false);
    } catch (const std::system_error&) {
      dir.reset();
    }
    if (!dir) {
      dangling = hop > 0;
      target = nodePath.string();
      return std::nullopt;
    }
    const fs::path here = *dir / nodePath.filename();
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(here, ec);
    if (ec || !fs::exists(st)) {
      dangling = hop > 0;
      target = nodePath.string();
      return std::nullopt;
    }
    if (!fs::is_symlink(st)) return here;
    const fs::path link = fs::read_symlink(here, ec);
    if (ec) return here;
    nodePath = (link.is_absolute() ? link : nodePath.parent_path() / link).lexically_normal();
  }
  dangling = true;
  target = nodePath.string() + " (a symlink loop)";
  return std::nullopt;
}

}  // namespace

std::vector<std::string> queryPluginVersions(const fs::path& plugin, std::string_view cniVersion,
                                             const fs::path& cniPath, int timeoutMs) {
  // The environment libcni's GetVersionInfo gives a plugin (dummy values for plugins built against
  // an older skel, which insisted on them), and nothing of this process's own.
  const std::vector<std::string> env = {"CNI_COMMAND=VERSION", "CNI_CONTAINERID=dummy",
                                        "CNI_NETNS=dummy", "CNI_IFNAME=dummy",
                                        "CNI_PATH=" + cniPath.string()};
  const std::string input = json{{"cniVersion", std::string(cniVersion)}}.dump();
  Finished done;
  try {
    done = runProcess(plugin, env, input, timeoutMs);
  } catch (const std::system_error& e) {
    if (e.code().value() == ENOENT) {
      throw PluginNotRunnableHere(fmt::format(
          "{} cannot be started from here ({}): a dynamically linked plugin needs the node's "
          "libraries, which this container lacks",
          plugin.string(), e.what()));
    }
    throw InstallError(
        fmt::format("cannot run {} to ask it for its CNI versions: {}", plugin.string(), e.what()));
  }
  if (done.timedOut) {
    throw InstallError(fmt::format("{} did not answer CNI_COMMAND=VERSION within {} ms (killed)",
                                   plugin.string(), timeoutMs));
  }
  const json answer = cni::parseJsonOrDiscarded(done.out);
  if (!WIFEXITED(done.status) || WEXITSTATUS(done.status) != 0) {
    std::string why = WIFEXITED(done.status)
                          ? fmt::format("exited {}", WEXITSTATUS(done.status))
                          : fmt::format("was killed by signal {}", WTERMSIG(done.status));
    if (answer.is_object() && answer.contains("msg") && answer["msg"].is_string()) {
      why += ": " + answer["msg"].get<std::string>();
    } else if (!done.err.empty()) {
      why += ": " + firstLine(done.err);
    }
    throw InstallError(
        fmt::format("{} does not answer CNI_COMMAND=VERSION ({}): it is not a CNI plugin that "
                    "runtimes can use",
                    plugin.string(), why));
  }
  const auto list = answer.is_object() ? answer.find("supportedVersions") : answer.end();
  if (!answer.is_object() || list == answer.end() || !list->is_array() || list->empty() ||
      !std::all_of(list->begin(), list->end(), [](const json& v) { return v.is_string(); })) {
    throw InstallError(fmt::format(
        "{} answered CNI_COMMAND=VERSION with {}, not a JSON object with a list of strings "
        "\"supportedVersions\"",
        plugin.string(), done.out.empty() ? std::string("nothing") : firstLine(done.out)));
  }
  return list->get<std::vector<std::string>>();
}

std::vector<ChainedPlugin> probeChain(const InstallSettings& s) {
  const fs::path binDirHere = s.paths.hostRoot / fs::path(s.paths.cniBinDir).relative_path();
  const std::string where =
      s.paths.hostRoot == "/" ? s.paths.cniBinDir
                              : fmt::format("{} (here {})", s.paths.cniBinDir, binDirHere.string());
  const std::string query = s.cniVersion.empty() ? std::string(kDefaultCniVersion) : s.cniVersion;
  std::vector<ChainedPlugin> out;
  for (const auto& type : s.chain) {
    bool dangling = false;
    std::string target;
    const auto here =
        locateUnderRoot(s.paths.hostRoot, fs::path(s.paths.cniBinDir) / type, dangling, target);
    if (!here && dangling) {
      // The node may well have it: this process sees only what is mounted under the host root.
      out.push_back({type, binDirHere / type, std::nullopt,
                     fmt::format("it leads to {}, which is not visible here (mount it under {})",
                                 target, named(kHostRoot))});
      continue;
    }
    if (!here) {
      throw InstallError(fmt::format(
          "{0} chains {1}, but there is no {1} in the CNI plugin directory {2}: the runtime runs "
          "every plugin of the list at each pod ADD, so every ADD would fail; install the CNI "
          "reference plugins there (containernetworking-plugins) or leave {1} out of {0}; nothing "
          "was written",
          named(kChain), type, where));
    }
    std::error_code ec;
    if (!fs::is_regular_file(*here, ec) || ::access(here->c_str(), X_OK) != 0) {
      throw InstallError(fmt::format(
          "{0} chains {1}, but {2} in the CNI plugin directory {3} is not an executable file: "
          "every pod ADD would fail; nothing was written",
          named(kChain), type, here->string(), where));
    }
    try {
      out.push_back({type, *here, queryPluginVersions(*here, query, binDirHere), {}});
    } catch (const PluginNotRunnableHere& e) {
      out.push_back({type, *here, std::nullopt, e.what()});
    } catch (const InstallError& e) {
      throw InstallError(
          fmt::format("{} chains {}, but {}; nothing was written", named(kChain), type, e.what()));
    }
  }
  return out;
}

ListVersions negotiateVersions(const std::string& pinned, const std::vector<ChainedPlugin>& chain) {
  auto speaks = [](const ChainedPlugin& p, std::string_view v) {
    return std::find(p.supportedVersions->begin(), p.supportedVersions->end(), v) !=
           p.supportedVersions->end();
  };
  if (!pinned.empty()) {
    for (const auto& p : chain) {
      if (p.supportedVersions && !speaks(p, pinned)) {
        throw UsageError(
            std::string(kCniVersion.flag),
            fmt::format("{} {} is not spoken by the chained plugin {} ({} supports {}): the "
                        "runtime would fail every pod ADD; pin a version all of them speak, or "
                        "leave it empty to negotiate; nothing was written",
                        named(kCniVersion), pinned, p.type, p.path.string(),
                        joined(*p.supportedVersions)));
      }
    }
    return {pinned, {}};
  }
  const bool unknown = std::any_of(chain.begin(), chain.end(),
                                   [](const ChainedPlugin& p) { return !p.supportedVersions; });
  std::vector<std::string> common;
  for (const std::string_view v : cni::kSupportedVersions) {
    if (std::all_of(chain.begin(), chain.end(),
                    [&](const ChainedPlugin& p) { return !p.supportedVersions || speaks(p, v); })) {
      common.emplace_back(v);
    }
  }
  if (common.empty()) {
    std::string theirs;
    for (const auto& p : chain) {
      if (p.supportedVersions) {
        theirs += fmt::format("; {} supports {}", p.type, joined(*p.supportedVersions));
      }
    }
    throw UsageError(std::string(kChain.flag),
                     fmt::format("{}: sixrd and its chained plugins share no CNI version (sixrd "
                                 "supports {}{}): upgrade them or leave them out; nothing was "
                                 "written",
                                 named(kChain),
                                 joined(std::vector<std::string>(cni::kSupportedVersions.begin(),
                                                                 cni::kSupportedVersions.end())),
                                 theirs));
  }
  if (unknown) {
    // Nothing is known of that plugin: the version the reference plugins speak since their 1.0.
    return {std::string(kDefaultCniVersion), {}};
  }
  ListVersions versions;
  versions.cniVersion = common.front();
  for (const auto& v : common) {
    if (cni::compareVersions(v, kDefaultCniVersion) <= 0) versions.cniVersion = v;
  }
  versions.cniVersions = common;
  return versions;
}

}  // namespace sixrd::install
