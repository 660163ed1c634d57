#include "cni/request.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "cni/error.hpp"

namespace sixrd::cni {
namespace {

constexpr std::size_t kMaxContainerIdLength = 255;
// IFNAMSIZ is 16 including the terminating NUL.
constexpr std::size_t kMaxInterfaceNameLength = 15;
constexpr std::size_t kQuoteLimit = 64;

bool isAsciiAlnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// What the kernel's dev_valid_name() refuses, plus ':' which it allows but which would make the
// name an alias label for every tool that still speaks ioctl.
bool isForbiddenInInterfaceName(char c) noexcept {
  return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r' || c == '\0';
}

bool isPrintableAscii(char c) noexcept {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x20 && byte < 0x7f;
}

std::string hexByte(char c) {
  constexpr std::string_view kHex = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(c);
  return {kHex[byte >> 4U], kHex[byte & 0xfU]};
}

std::string describeChar(char c) {
  if (!isPrintableAscii(c)) {
    return "byte 0x" + hexByte(c);
  }
  return std::string("'") + c + "'";
}

// Index of the first byte that does not begin or continue a well-formed UTF-8 sequence (RFC 3629:
// no overlong forms, surrogates or code points past U+10FFFF); npos when `text` is UTF-8.
std::size_t invalidUtf8At(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char low = 0x80;  // the range allowed for the second byte
    unsigned char high = 0xbf;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      low = lead == 0xe0 ? 0xa0 : 0x80;
      high = lead == 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      low = lead == 0xf0 ? 0x90 : 0x80;
      high = lead == 0xf4 ? 0x8f : 0xbf;
    } else {
      return i;
    }
    for (std::size_t k = 1; k < length; ++k) {
      if (i + k >= text.size()) return i;  // cut short: the lead byte is the culprit
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if (byte < (k == 1 ? low : 0x80) || byte > (k == 1 ? high : 0xbf)) return i + k;
    }
    i += length;
  }
  return std::string_view::npos;
}

// ADD reports CNI_IFNAME and CNI_NETNS in its result (interfaces[].name, .sandbox), a JSON
// document, whose strings must be UTF-8; the kernel would accept such a name, so this is checked
// before anything is created (else ADD would fail only when printing, leaving the pod behind).
void requireUtf8(const std::string& name, const std::string& value) {
  const std::size_t at = invalidUtf8At(value);
  if (at != std::string_view::npos) {
    throw Error(Code::kInvalidEnv, name + " " + quoteValue(value) + " has " +
                                       describeChar(value[at]) + " at position " +
                                       std::to_string(at) +
                                       ", which is not UTF-8: the CNI result reports it as a "
                                       "JSON string");
  }
}

struct VerbInfo {
  std::string_view name;
  Verb verb;
  bool needsContainer;  // CNI_CONTAINERID and CNI_IFNAME
  bool needsNetns;
};

constexpr std::array<VerbInfo, 6> kVerbs = {{
    {"ADD", Verb::kAdd, true, true},
    {"DEL", Verb::kDel, true, false},
    {"CHECK", Verb::kCheck, true, true},
    {"VERSION", Verb::kVersion, false, false},
    {"GC", Verb::kGc, false, false},
    {"STATUS", Verb::kStatus, false, false},
}};

const VerbInfo& parseVerb(const std::optional<std::string>& command) {
  if (!command) {
    throw Error(Code::kInvalidEnv,
                "CNI_COMMAND is not set: sixrd runs as a CNI plugin only when the runtime sets "
                "CNI_COMMAND to ADD, DEL, CHECK, VERSION, GC or STATUS");
  }
  for (const VerbInfo& info : kVerbs) {
    if (info.name == *command) {
      return info;
    }
  }
  throw Error(Code::kInvalidEnv, "CNI_COMMAND " + quoteValue(*command) +
                                     " is not a CNI command: expected ADD, DEL, CHECK, VERSION, "
                                     "GC or STATUS");
}

std::string required(const Environment& env, const std::string& name, std::string_view verb) {
  std::optional<std::string> value = env(name);
  if (!value) {
    throw Error(Code::kInvalidEnv,
                name + " is not set: the runtime must pass it for " + std::string(verb));
  }
  if (value->empty()) {
    throw Error(Code::kInvalidEnv,
                name + " is empty: the runtime must pass it for " + std::string(verb));
  }
  return std::move(*value);
}

// Kubelet-style runtimes send "IgnoreUnknown=1;K8S_POD_NAMESPACE=...;...". Values may themselves
// hold '=' (base64 annotations do), so only the first one splits; empty entries from a stray ';'
// are harmless and skipped.
std::map<std::string, std::string> parseArgs(std::string_view text) {
  std::map<std::string, std::string> args;
  std::size_t index = 0;
  while (!text.empty()) {
    const std::size_t semicolon = text.find(';');
    const std::string_view entry = text.substr(0, semicolon);
    text = semicolon == std::string_view::npos ? std::string_view{} : text.substr(semicolon + 1);
    if (!entry.empty()) {
      const std::size_t equals = entry.find('=');
      if (equals == std::string_view::npos) {
        throw Error(Code::kInvalidEnv, "CNI_ARGS entry " + std::to_string(index) + " " +
                                           quoteValue(entry) +
                                           " has no '=': CNI_ARGS is \"KEY=VALUE;KEY2=VALUE2\"");
      }
      if (equals == 0) {
        throw Error(Code::kInvalidEnv,
                    "CNI_ARGS entry " + std::to_string(index) + " " + quoteValue(entry) +
                        " has an empty key: CNI_ARGS is \"KEY=VALUE;KEY2=VALUE2\"");
      }
      args.insert_or_assign(std::string(entry.substr(0, equals)),
                            std::string(entry.substr(equals + 1)));
    }
    ++index;
  }
  return args;
}

// Reading in chunks bounds memory by the limit, not by whatever the writer pipes in.
std::string readBounded(const Reader& in) {
  constexpr std::size_t kChunk = std::size_t{64} * 1024;
  std::string bytes;
  // Not cleared first, and not on the stack: only what a read fills is ever touched (a config is a
  // page or two; clearing all 64 KiB cost every run 16 page faults and the memset).
  const auto buffer = std::make_unique_for_overwrite<char[]>(kChunk);
  while (bytes.size() <= kMaxStdinBytes) {
    const std::size_t want = std::min(kChunk, kMaxStdinBytes + 1 - bytes.size());
    const std::size_t got = in(buffer.get(), want);
    if (got == 0) break;
    bytes.append(buffer.get(), got);
  }
  if (bytes.size() > kMaxStdinBytes) {
    throw Error(Code::kDecodeFailure,
                "stdin holds more than " + std::to_string(kMaxStdinBytes) +
                    " bytes: a network configuration is a few KiB, so this is not one");
  }
  return bytes;
}

}  // namespace

Environment processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    // getenv is safe here: the plugin is single-threaded and never modifies its environment.
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string(value);
  };
}

std::string quoteValue(std::string_view value) {
  std::string out = "\"";
  std::size_t count = 0;
  for (const char c : value) {
    if (count == kQuoteLimit) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (!isPrintableAscii(c)) {
      out += "\\x" + hexByte(c);
    } else {
      out += c;
    }
    ++count;
  }
  out += '"';
  return out;
}

std::optional<std::string> interfaceNameProblem(std::string_view name) {
  if (name.empty()) {
    return "is empty: an interface name needs 1 to 15 characters";
  }
  if (name.size() > kMaxInterfaceNameLength) {
    return "is " + std::to_string(name.size()) +
           " characters long: Linux interface names hold at most 15";
  }
  if (name == "." || name == "..") {
    return std::string("is not an interface name: \".\" and \"..\" are reserved");
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (isForbiddenInInterfaceName(name[i])) {
      return "has " + describeChar(name[i]) + " at position " + std::to_string(i) +
             ": an interface name may not hold '/', ':' or whitespace";
    }
  }
  return std::nullopt;
}

std::optional<std::string> containerIdProblem(std::string_view id) {
  if (id.empty()) {
    return "is empty: a container id needs at least one character";
  }
  if (id.size() > kMaxContainerIdLength) {
    return "is " + std::to_string(id.size()) + " characters long: a container id holds at most 255";
  }
  // The id names lease files and host veths, so anything that could act as a path or an option
  // ("..", "/", a leading '-' or '.') is refused, as libcni does.
  if (!isAsciiAlnum(id.front())) {
    return "starts with " + describeChar(id.front()) +
           ": a container id must start with a letter or a digit";
  }
  for (std::size_t i = 1; i < id.size(); ++i) {
    const char c = id[i];
    if (!isAsciiAlnum(c) && c != '_' && c != '.' && c != '-') {
      return "has " + describeChar(c) + " at position " + std::to_string(i) +
             ": a container id may hold only letters, digits, '_', '.' and '-'";
    }
  }
  return std::nullopt;
}

Reader streamReader(std::istream& in) {
  return [&in](char* buffer, std::size_t size) {
    in.read(buffer, static_cast<std::streamsize>(size));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (in.bad()) {
      throw Error(Code::kIoFailure, "reading the network configuration from stdin failed");
    }
    return got;
  };
}

Reader fdReader(int fd) {
  return [fd](char* buffer, std::size_t size) {
    for (;;) {
      const ssize_t got = ::read(fd, buffer, size);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) {
        throw Error(Code::kIoFailure,
                    fmt::format("reading the network configuration from stdin failed: {}",
                                std::strerror(errno)));
      }
    }
  };
}

std::string readStdin(const Reader& in) { return readBounded(in); }

Request readRequest(const Environment& env, const Reader& in) {
  const VerbInfo& verb = parseVerb(env("CNI_COMMAND"));
  Request request;
  request.verb = verb.verb;

  std::optional<std::string> containerId = env("CNI_CONTAINERID");
  if (verb.needsContainer) {
    containerId = required(env, "CNI_CONTAINERID", verb.name);
  }
  // Set but not required (GC, STATUS, VERSION) is still checked: a bad value is a runtime bug
  // worth reporting, and later code may log or use it.
  if (containerId && (verb.needsContainer || !containerId->empty())) {
    if (auto problem = containerIdProblem(*containerId)) {
      throw Error(Code::kInvalidEnv,
                  "CNI_CONTAINERID " + quoteValue(*containerId) + " " + *problem);
    }
    request.containerId = std::move(*containerId);
  }

  std::optional<std::string> ifname = env("CNI_IFNAME");
  if (verb.needsContainer) {
    ifname = required(env, "CNI_IFNAME", verb.name);
  }
  if (ifname && (verb.needsContainer || !ifname->empty())) {
    if (auto problem = interfaceNameProblem(*ifname)) {
      throw Error(Code::kInvalidEnv, "CNI_IFNAME " + quoteValue(*ifname) + " " + *problem);
    }
    request.ifname = std::move(*ifname);
  }

  if (verb.needsNetns) {
    request.netns = required(env, "CNI_NETNS", verb.name);
    // ADD and CHECK only: DEL must still clean up whatever an earlier ADD left.
    requireUtf8("CNI_IFNAME", request.ifname);
    requireUtf8("CNI_NETNS", request.netns);
  } else {
    request.netns = env("CNI_NETNS").value_or("");
  }
  request.path = env("CNI_PATH").value_or("");
  request.args = parseArgs(env("CNI_ARGS").value_or(""));

  request.stdinBytes = readBounded(in);
  if (request.stdinBytes.empty() && verb.verb != Verb::kVersion) {
    throw Error(Code::kDecodeFailure,
                "stdin is empty: the runtime must pass the network "
                "configuration for " +
                    std::string(verb.name));
  }
  return request;
}

}  // namespace sixrd::cni
