// sixrd-floor-plugin — the exec floor of tests/bench (test-only, never installed): the least a CNI
// plugin can do and still be one. Statically linked like sixrd, it reads the config from stdin,
// answers VERSION with the versions it claims, ADD with a minimal valid result in the config's
// cniVersion (no interface, no address: libcni accepts it), and every other verb with nothing.
// Driven through libcni by `cnidriver bench` next to sixrd, its latency is what exec, the runtime
// and the result parse cost any plugin: sixrd's ADD is compared with it plus the kernel floor
// (sixrd-kernel-floor). Only libc, no allocation, no C++ runtime, so nothing of ours is timed.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

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

}  // namespace

int main() {
  static char conf[1 << 16];
  std::size_t len = 0;
  for (ssize_t n = 0; len < sizeof conf - 1; len += static_cast<std::size_t>(n)) {
    n = ::read(0, conf + len, sizeof conf - 1 - len);
    if (n <= 0) break;
  }
  conf[len] = '\0';
  const char* command = std::getenv("CNI_COMMAND");
  if (command == nullptr) return 1;
  if (std::strcmp(command, "VERSION") == 0) {
    put("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":"
        "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
  } else if (std::strcmp(command, "ADD") == 0) {
    put("{\"cniVersion\":\"");
    put(versionOf(conf));
    put("\"}\n");
  }
  return 0;
}
