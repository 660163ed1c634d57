#include "support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "ipam/interface_id.hpp"

namespace sixrd::netns_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

CommandResult run(const std::string& command, bool mergeStderr) {
  const std::string full = mergeStderr ? command + " 2>&1" : command;
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) throw std::system_error(errno, std::generic_category(), "popen " + command);
  CommandResult result;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.status = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string must(const std::string& command) {
  CommandResult result = run(command, true);
  if (result.status != 0) {
    throw std::runtime_error("command failed (status " + std::to_string(result.status) +
                             "): " + command + "\n" + result.out);
  }
  return result.out;
}

json ipJson(const std::string& ns, const std::string& args) {
  const CommandResult result = run("ip -n " + ns + " -j " + args + " 2>/dev/null");
  if (result.status != 0) {
    throw std::runtime_error("ip -n " + ns + " -j " + args + " failed with status " +
                             std::to_string(result.status));
  }
  if (result.out.find_first_not_of(" \n\t") == std::string::npos) return json::array();
  return json::parse(result.out);
}

std::string uniqueName(std::string_view role) {
  static std::atomic<int> counter{0};
  return "sxt-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::string(role);
}

NamedNetns::NamedNetns(std::string_view role) : name_(uniqueName(role)) {
  must("ip netns add " + name_);
  alive_ = true;
}

NamedNetns::~NamedNetns() {
  try {
    remove();
  } catch (...) {
    // A destructor cannot report; the next run's names differ anyway (they carry the pid).
  }
}

void NamedNetns::remove() {
  if (!alive_) return;
  alive_ = false;
  run("ip netns del " + name_, true);
}

TempDir::TempDir() {
  std::string pattern = "/tmp/sixrd-netns-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

// --- Independent views ---------------------------------------------------------------------------

std::optional<json> link(const std::string& ns, const std::string& name) {
  const json links = ipJson(ns, "-d link show");
  for (const json& l : links) {
    if (l.value("ifname", "") == name) return l;
  }
  return std::nullopt;
}

std::vector<std::string> linkNames(const std::string& ns) {
  std::vector<std::string> names;
  for (const json& l : ipJson(ns, "link show")) names.push_back(l.value("ifname", ""));
  std::sort(names.begin(), names.end());
  return names;
}

std::string linkKind(const json& link) {
  if (!link.contains("linkinfo")) return "";
  return link["linkinfo"].value("info_kind", "");
}

bool isUp(const json& link) {
  const json flags = link.value("flags", json::array());
  return std::find(flags.begin(), flags.end(), "UP") != flags.end();
}

json identity(const json& link) {
  return {{"ifindex", link.value("ifindex", 0)},
          {"ifname", link.value("ifname", "")},
          {"address", link.value("address", "")},
          {"mtu", link.value("mtu", 0)},
          {"ifalias", link.value("ifalias", "")},
          {"kind", linkKind(link)},
          {"up", isUp(link)}};
}

namespace {
json addrInfo(const std::string& ns, const std::string& family, const std::string& dev) {
  if (!link(ns, dev)) return json::array();
  const json links = ipJson(ns, family + " addr show dev " + dev);
  if (links.empty()) return json::array();
  return links.front().value("addr_info", json::array());
}
}  // namespace

json addresses6(const std::string& ns, const std::string& dev) { return addrInfo(ns, "-6", dev); }
json addresses4(const std::string& ns, const std::string& dev) { return addrInfo(ns, "-4", dev); }

std::optional<json> address6(const std::string& ns, const std::string& dev,
                             const std::string& local, int prefixLen) {
  for (const json& a : addresses6(ns, dev)) {
    if (a.value("local", "") == local && a.value("prefixlen", -1) == prefixLen) return a;
  }
  return std::nullopt;
}

json routes6(const std::string& ns) { return ipJson(ns, "-6 route show table main"); }

std::optional<json> route6(const std::string& ns, const std::string& dst) {
  for (const json& r : routes6(ns)) {
    if (r.value("dst", "") == dst) return r;
  }
  return std::nullopt;
}

std::string sysctl(const std::string& ns, const std::string& key) {
  const CommandResult result = run("ip netns exec " + ns + " cat /proc/sys/" + key);
  if (result.status != 0) throw std::runtime_error("cannot read sysctl " + key + " in " + ns);
  std::string value = result.out;
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
  return value;
}

std::vector<std::string> filesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->path().filename().string().starts_with(".lock-")) continue;
    if (it->is_regular_file(ec)) out.push_back(fs::relative(it->path(), dir, ec).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::chrono::milliseconds> ping6(const std::string& ns, const std::string& dst,
                                               const std::string& dev,
                                               std::chrono::milliseconds timeout) {
  const tunnel::Netns target = tunnel::Netns::open("/var/run/netns/" + ns);
  const tunnel::NetnsGuard inside(target);
  const int fd = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "raw ICMPv6 socket");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  icmp6_filter filter{};
  ICMP6_FILTER_SETBLOCKALL(&filter);
  ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
  if (::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0) {
    throw std::system_error(errno, std::generic_category(), "ICMP6_FILTER");
  }
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  if (::inet_pton(AF_INET6, dst.c_str(), &to.sin6_addr) != 1) {
    throw std::invalid_argument("not an IPv6 address: " + dst);
  }
  if (!dev.empty()) {
    to.sin6_scope_id = ::if_nametoindex(dev.c_str());
    if (to.sin6_scope_id == 0) throw std::runtime_error("no interface " + dev + " in " + ns);
  }
  const auto id = static_cast<std::uint16_t>(::getpid() ^ 0x5a5a);
  std::uint16_t seq = 0;
  const auto start = Clock::now();
  auto nextSend = start;
  while (Clock::now() - start < timeout) {
    if (Clock::now() >= nextSend) {
      std::array<unsigned char, 64> request{};
      auto* hdr = reinterpret_cast<icmp6_hdr*>(request.data());
      hdr->icmp6_type = ICMP6_ECHO_REQUEST;
      hdr->icmp6_code = 0;
      hdr->icmp6_id = htons(id);
      hdr->icmp6_seq = htons(++seq);
      // The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets. A send may fail while
      // neighbour discovery is still unanswered; the next round retries.
      ::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<const sockaddr*>(&to),
               sizeof to);
      nextSend += std::chrono::milliseconds(100);
    }
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(nextSend - Clock::now());
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long>(wait.count(), 0))) <= 0) continue;
    std::array<unsigned char, 1500> reply{};
    sockaddr_in6 from{};
    socklen_t fromLen = sizeof from;
    const ssize_t n = ::recvfrom(fd, reply.data(), reply.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < static_cast<ssize_t>(sizeof(icmp6_hdr))) continue;
    const auto* hdr = reinterpret_cast<const icmp6_hdr*>(reply.data());
    if (hdr->icmp6_type == ICMP6_ECHO_REPLY && ntohs(hdr->icmp6_id) == id &&
        std::memcmp(&from.sin6_addr, &to.sin6_addr, sizeof to.sin6_addr) == 0) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    }
  }
  return std::nullopt;
}

// --- Processes -----------------------------------------------------------------------------------

ProcessResult runProcess(const std::string& path, const std::vector<std::string>& args,
                         const std::vector<std::string>& env, const std::string& stdinBytes,
                         std::chrono::milliseconds timeout) {
  // A child that stops reading early must not kill the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2];
  int out[2];
  int err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  std::vector<std::string> argvStrings{path};
  argvStrings.insert(argvStrings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argvStrings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> envStrings = env;
  std::vector<char*> envp;
  for (auto& e : envStrings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execve(path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);

  ProcessResult result;
  std::size_t written = 0;
  int stdinFd = in[1];
  if (stdinBytes.empty()) {
    ::close(stdinFd);
    stdinFd = -1;
  }
  bool outOpen = true;
  bool errOpen = true;
  const auto deadline = Clock::now() + timeout;
  bool timedOut = false;
  while (outOpen || errOpen) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    std::array<pollfd, 3> fds{{{stdinFd, POLLOUT, 0},
                               {outOpen ? out[0] : -1, POLLIN, 0},
                               {errOpen ? err[0] : -1, POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    if (stdinFd >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::write(stdinFd, stdinBytes.data() + written, stdinBytes.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) written = stdinBytes.size();  // EPIPE: the reader is done
      if (written == stdinBytes.size()) {
        ::close(stdinFd);
        stdinFd = -1;
      }
    }
    for (int i = 1; i <= 2; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      std::array<char, 65536> buffer{};
      const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (n > 0) {
        (i == 1 ? result.out : result.err).append(buffer.data(), static_cast<std::size_t>(n));
      } else {
        (i == 1 ? outOpen : errOpen) = false;
      }
    }
  }
  if (stdinFd >= 0) ::close(stdinFd);
  ::close(out[0]);
  ::close(err[0]);
  if (timedOut) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exitCode = (!timedOut && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return result;
}

// --- Fixture -------------------------------------------------------------------------------------

void NodeTest::SetUp() {
  node_ = std::make_unique<NamedNetns>("node");
  pods_.push_back(std::make_unique<NamedNetns>("pod"));
  const std::string ip = "ip -n " + node();
  must(ip + " link set dev lo up");
  must(ip + " link add name ul0 mtu " + std::to_string(kUnderlayMtu) +
       " type veth peer name ul0p mtu " + std::to_string(kUnderlayMtu));
  must(ip + " addr add " + kNodeIp + "/16 dev ul0");
  must(ip + " link set dev ul0 up");
  must(ip + " link set dev ul0p up");
  must("ip netns exec " + node() + " sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'");

  inNode_ = std::make_unique<tunnel::NetnsGuard>(tunnel::Netns::open(node_->path()));
  // After entering: the datapath's netlink socket binds to the namespace current when it opens.
  datapath_ = tunnel::makeKernelDatapath();
}

void NodeTest::TearDown() {
  datapath_.reset();
  inNode_.reset();
  pods_.clear();
  node_.reset();
}

NamedNetns& NodeTest::addPodNamespace() {
  pods_.push_back(std::make_unique<NamedNetns>("pod" + std::to_string(pods_.size())));
  return *pods_.back();
}

ipam::SixrdPlan NodeTest::plan() {
  return ipam::SixrdPlan::make(ipam::parseIpv6Prefix(kPrefix, "prefix"),
                               ipam::parseIpv4Subnet(kUnderlay, "underlay"));
}

tunnel::NodeSpec NodeTest::nodeSpec() {
  tunnel::NodeSpec spec;
  spec.plan = plan();
  return spec;
}

tunnel::PodSpec NodeTest::podSpec(const NamedNetns& pod, const std::string& containerId,
                                  const std::string& address, const std::string& ifname) {
  tunnel::PodSpec spec;
  spec.netns = pod.path();
  spec.ifname = ifname;
  spec.hostVeth = ipam::hostVethName(containerId, ifname);
  spec.alias = "sixrd/net/" + ifname + "/" + containerId;
  spec.address = ipam::parseIpv6(address, "address");
  spec.mtu = kPodMtu;
  return spec;
}

}  // namespace sixrd::netns_test
