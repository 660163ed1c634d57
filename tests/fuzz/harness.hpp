// What every fuzz target shares: one CNI invocation through cni::runPlugin against the in-memory
// datapath (tests/unit/fake_datapath.hpp), confined to a per-process temp dir, and the property
// every input must keep. A violation prints what happened and traps, so libFuzzer records the
// input as a crash.
//
// The property (cni/plugin.hpp's contract): runPlugin returns 0 or 1; stdout is empty only for a
// successful DEL, CHECK, GC or STATUS, else it is exactly one JSON document (json::parse of the
// whole output succeeds); on exit 1 that document is an object with an integer "code" and a string
// "msg". And DESIGN/README's promises: a failed ADD from a clean state leaves nothing behind (no
// veth in the fake kernel, no lease file), and a successful DEL after ADD leaves nothing either.
//
// Confinement: nothing a fuzzed input says may make the plugin write outside the temp dir. Every
// stdin that parses as a JSON object gets "dataDir" (and "log"."file" when "log" is an object)
// overwritten with paths inside it; stdin that is not a JSON object passes through unchanged (the
// plugin refuses it before touching any file). CNI_NETNS is a path the plugin opens (read-only,
// through tunnel::Netns::open, as the kernel datapath does) for ADD and CHECK, so fuzzed values are
// confined too (see confineNetns); the temp dir holds a FIFO at netns/fifo, which "/fifo" names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fake_datapath.hpp"

namespace sixrd::fuzz {

using Vars = std::map<std::string, std::string>;

// A real network namespace every process can open read-only: its own.
inline constexpr char kNetns[] = "/proc/self/ns/net";
inline constexpr char kContainer[] = "c0ffee0123456789";
inline constexpr char kIfname[] = "eth0";

struct Outcome {
  int status = -1;
  std::string out;
};

class Harness {
 public:
  // The one per process (its temp dir is removed at exit).
  static Harness& get();

  // Forgets every lease, log line and fake link, so each input starts from the same state and a
  // crash reproduces from its input alone.
  void reset();

  // Runs one invocation (stdin confined first) and checks the property; traps on a violation.
  Outcome run(const Vars& env, std::string_view stdinBytes);

  // ADD, then when it succeeded and `thenDel`, DEL with the same env and stdin; checks that a
  // failed ADD (from reset()'s clean state) and a DEL leave nothing behind. Returns ADD's outcome.
  Outcome addFromClean(const Vars& env, std::string_view stdinBytes, bool thenDel = false);

  // Container env for `verb` (kContainer, kIfname, kNetns, kubelet-style CNI_ARGS).
  static Vars containerEnv(const std::string& verb);

  // The stdin bytes the plugin gets for `stdinBytes`: dataDir and log.file forced into the temp
  // dir when it is a JSON object, unchanged otherwise.
  [[nodiscard]] std::string confine(std::string_view stdinBytes) const;

  // A fuzzed CNI_NETNS made safe to open: the namespace paths of the seeds pass; anything else is
  // kept byte for byte but moved under the temp dir (where nothing exists but the FIFO netns/fifo,
  // so ADD fails with code 3 the way a vanished namespace does, or 4 for the FIFO), with ".."
  // defused so it cannot climb out.
  [[nodiscard]] std::string confineNetns(std::string_view netns) const;

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  fake::FakeDatapath& datapath() { return *fake_; }

  // Lease files (any regular file) under the data dir.
  [[nodiscard]] std::size_t leaseFileCount() const;

  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

 private:
  Harness();

  std::filesystem::path dir_;
  std::filesystem::path dataDir_;
  std::filesystem::path logFile_;
  std::unique_ptr<fake::FakeDatapath> fake_;
};

// Prints `what` with the invocation and its outcome to stderr, then traps.
[[noreturn]] void violation(const std::string& what, const Vars& env, std::string_view stdinBytes,
                            const Outcome& outcome);

// A fixed valid plugin config (underlay 198.18.0.0/16, the fake's node 198.18.3.7) in `version`,
// as a JSON text without its closing brace, so a target can append members.
std::string configPrefix(std::string_view version);

}  // namespace sixrd::fuzz
