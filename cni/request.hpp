// A CNI invocation: environment + stdin. Reading it never touches the kernel.
#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sixrd::cni {

enum class Verb { kAdd, kDel, kCheck, kVersion, kGc, kStatus };

// Environment lookup, injectable for tests (the real one wraps getenv).
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment processEnvironment();

// Where a request's stdin comes from: fills up to `size` bytes of `buffer` and returns how many,
// 0 at its end; throws cni::Error code 5 when reading fails. streamReader wraps a stream (tests,
// the installer), fdReader a file descriptor (the plugin's stdin: read(2), no iostreams).
using Reader = std::function<std::size_t(char* buffer, std::size_t size)>;
Reader streamReader(std::istream& in);
Reader fdReader(int fd);

// Stdin larger than this is refused with code 6 (a conflist is a few KiB; prevResult adds little).
inline constexpr std::size_t kMaxStdinBytes = 1U << 20;

struct Request {
  Verb verb = Verb::kVersion;
  std::string containerId;                  // CNI_CONTAINERID
  std::string netns;                        // CNI_NETNS (may be empty for DEL, GC, STATUS, VERSION)
  std::string ifname;                       // CNI_IFNAME
  std::string path;                         // CNI_PATH
  std::map<std::string, std::string> args;  // CNI_ARGS "K=V;K2=V2"
  std::string stdinBytes;
};

// Throws cni::Error: code 4 for a missing/invalid variable (names the variable and the reason):
// CNI_COMMAND unknown; CNI_CONTAINERID empty, >255 chars, or with characters other than letters,
// digits, '_', '.', '-' (or not starting with a letter or digit); CNI_IFNAME empty, >15 chars,
// containing '/', ':' or whitespace, or "."/".."; CNI_NETNS missing for ADD/CHECK; CNI_IFNAME or
// CNI_NETNS not valid UTF-8 for ADD/CHECK (the result reports both as JSON strings); CNI_ARGS
// malformed (an entry without '=' or with an empty key; empty entries are skipped).
// Which variables are required depends on the verb (SPEC.md "Parameters", 1.1.0):
//   ADD, CHECK: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME
//   DEL:        CNI_COMMAND, CNI_CONTAINERID, CNI_IFNAME (CNI_NETNS may be unset or empty)
//   VERSION, GC, STATUS: CNI_COMMAND only (the others are still validated when set)
// CNI_PATH is never required (sixrd delegates to no other plugin).
// stdin is read for every verb, never more than kMaxStdinBytes + 1 bytes: code 6 when it is
// larger, code 6 when it is empty for any verb but VERSION, code 5 when reading fails.
// The environment is checked before stdin is read: when this throws code 4, `in` is untouched
// (runPlugin then still reads it, to find the log file the error belongs in).
Request readRequest(const Environment& env, const Reader& in);
inline Request readRequest(const Environment& env, std::istream& in) {
  return readRequest(env, streamReader(in));
}

// stdin as readRequest reads it: bounded, code 6 when larger than kMaxStdinBytes, code 5 when
// reading fails.
std::string readStdin(const Reader& in);

// Why `name` is not a valid interface name (CNI_IFNAME rules, which are the kernel's: 1..15 chars,
// no '/', ':' or whitespace, not "." or ".."); nullopt when it is valid. The text continues a
// sentence that starts with the quoted name, e.g. "has '/' at position 4: ...".
std::optional<std::string> interfaceNameProblem(std::string_view name);

// Same for a container id (CNI_CONTAINERID rules).
std::optional<std::string> containerIdProblem(std::string_view id);

// `value` in double quotes for an error message: control and non-ASCII bytes as \xNN, and cut
// after 64 characters ("...") so a hostile value cannot flood the runtime's log.
std::string quoteValue(std::string_view value);

}  // namespace sixrd::cni
