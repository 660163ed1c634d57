// sixrd-floor-plugin — the exec floor of tests/bench (test-only, never installed): the least a CNI
// plugin can do and still be one. Statically linked like sixrd, it reads the config from stdin,
// answers VERSION with the versions it claims, ADD with a minimal valid result in the config's
// cniVersion (no interface, no address: libcni accepts it), and every other verb with nothing.
// Driven through libcni by `cnidriver bench` next to sixrd, its latency is what exec, the runtime
// and the result parse cost any plugin: sixrd's ADD is compared with it plus the kernel floor
// (sixrd-kernel-floor). Only libc, no allocation, no C++ runtime, so nothing of ours is timed.
// Exec'd under a name ending in "-result" (the bench installs a second copy so), ADD prints a
// result of the shape and size sixrd's has at cniVersion 1.0.0 and later (a host veth and the pod
// interface with MACs, one /128 with its gateway, a default route; fixed values): the runtime
// then parses, converts and caches as much as it does for sixrd's, and hands it back as DEL's
// prevResult, so the difference to the minimal result is the runtime's share of a real one.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "read_config.hpp"

namespace {

void put(const char* s) {
  std::size_t left = std::strlen(s);
  while (left > 0) {
    const ssize_t n = ::write(1, s, left);
    if (n <= 0) std::_Exit(1);
    s += n;
    left -= static_cast<std::size_t>(n);
  }
}

// The value of "cniVersion" in the config (no JSON parser: the floor must not pay for one);
// "1.0.0" when it cannot be found.
const char* versionOf(char* conf) {
  char* key = std::strstr(conf, "\"cniVersion\"");
  if (key == nullptr) return "1.0.0";
  char* open = std::strchr(key + 12, '"');
  if (open == nullptr) return "1.0.0";
  char* close = std::strchr(open + 1, '"');
  if (close == nullptr || close - open > 16) return "1.0.0";
  *close = '\0';
  return open + 1;
}

// Whether argv[0]'s last path component ends in "-result".
bool shaped(const char* argv0) {
  const char* base = std::strrchr(argv0, '/');
  base = base == nullptr ? argv0 : base + 1;
  const std::size_t n = std::strlen(base);
  return n >= 7 && std::strcmp(base + n - 7, "-result") == 0;
}

// A result like sixrd's, for cniVersion 1.0.0 and later (0.x results name the IP version).
void putShaped(const char* version) {
  const char* netns = std::getenv("CNI_NETNS");
  const char* ifname = std::getenv("CNI_IFNAME");
  put("{\"cniVersion\":\"");
  put(version);
  put("\",\"interfaces\":[{\"mac\":\"4a:03:d9:f6:cc:75\",\"name\":\"sx606d79f40d86\"},"
      "{\"mac\":\"ba:88:3a:9f:1e:7c\",\"name\":\"");
  put(ifname != nullptr ? ifname : "eth0");
  put("\",\"sandbox\":\"");
  put(netns != nullptr ? netns : "");
  put("\"}],\"ips\":[{\"address\":\"fd00:10:0:10b:2eea:fb5f:d9e3:9c60/128\","
      "\"gateway\":\"fe80::1\",\"interface\":1}],\"routes\":[{\"dst\":\"::/0\","
      "\"gw\":\"fe80::1\"}]}\n");
}

}  // namespace

int main(int /*argc*/, char** argv) {
  static char buf[1 << 16];
  char* conf = sixrd::bench::readConfig(buf);
  const char* command = std::getenv("CNI_COMMAND");
  if (command == nullptr) return 1;
  if (std::strcmp(command, "VERSION") == 0) {
    put("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":"
        "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
  } else if (std::strcmp(command, "ADD") == 0) {
    const char* version = versionOf(conf);
    if (shaped(argv[0]) && version[0] != '0') {
      putShaped(version);
    } else {
      put("{\"cniVersion\":\"");
      put(version);
      put("\"}\n");
    }
  }
  return 0;
}
