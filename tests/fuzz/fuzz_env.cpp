// Fuzz target: the environment reader (cni/request.cpp readRequest). The input is split on '\n'
// and '\0' into CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH and CNI_ARGS, in
// that order; variables past the last piece are unset (an empty input sets none; "ADD" sets only
// CNI_COMMAND; "ADD\n" sets CNI_CONTAINERID to ""). stdin is a fixed valid config (cniVersion
// 1.1.0, every verb allowed) with a prevResult for CHECK and valid attachments for GC.
//   CNI_COMMAND ADD:   ADD from a clean state, then DEL with the same variables when it succeeded
//   CNI_COMMAND CHECK: ADD from a clean state, then CHECK
//   anything else:     that command alone, from a clean state
// CNI_NETNS is opened by ADD and CHECK: values other than a few harmless namespace paths are
// moved under the harness's temp dir (Harness::confineNetns), bytes kept.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "harness.hpp"

using sixrd::fuzz::Harness;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::array<const char*, 6> kNames = {
      "CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH", "CNI_ARGS"};
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Harness& h = Harness::get();

  sixrd::fuzz::Vars env;
  if (!input.empty()) {
    std::size_t field = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= input.size() && field < kNames.size(); ++i) {
      if (i == input.size() || input[i] == '\n' || input[i] == '\0') {
        env[kNames[field++]] = std::string(input.substr(start, i - start));
        start = i + 1;
      }
    }
  }
  if (const auto netns = env.find("CNI_NETNS"); netns != env.end()) {
    netns->second = h.confineNetns(netns->second);
  }

  static const std::string kConfig =
      sixrd::fuzz::configPrefix("1.1.0") +
      R"(,"prevResult":{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/proc/self/ns/net"}],)"
      R"("ips":[{"address":"fd00:10:0:307::1234/128","gateway":"fe80::1","interface":0}],)"
      R"("routes":[{"dst":"::/0","gw":"fe80::1"}]},)"
      R"("cni.dev/valid-attachments":[{"containerID":"c0ffee0123456789","ifname":"eth0"}]})";

  const auto command = env.find("CNI_COMMAND");
  const std::string verb = command == env.end() ? "" : command->second;
  if (verb == "ADD") {
    h.addFromClean(env, kConfig, /*thenDel=*/true);
  } else if (verb == "CHECK") {
    h.addFromClean(env, kConfig);
    h.run(env, kConfig);
  } else {
    h.reset();
    h.run(env, kConfig);
  }
  return 0;
}
