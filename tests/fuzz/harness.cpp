#include "harness.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "cni/json_input.hpp"
#include "cni/plugin.hpp"
#include "cni/request.hpp"
#include "tunnel/netns.hpp"

namespace sixrd::fuzz {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Namespace-ish paths a fuzzed CNI_NETNS may name as they are: opening them read-only is harmless,
// and they reach both outcomes of Netns::open (a network namespace; something else).
const std::set<std::string, std::less<>> kOpenableNetns = {
    kNetns, "/proc/thread-self/ns/net", "/proc/self/ns/uts", "/proc/self", "/dev/null"};

// The verbs that succeed with nothing on stdout.
const std::set<std::string, std::less<>> kSilentVerbs = {"DEL", "CHECK", "GC", "STATUS"};

// Bytes as C-escaped text, cut after `limit` bytes: crash reports stay readable.
std::string printable(std::string_view bytes, std::size_t limit = 4096) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      std::array<char, 5> buf{};
      std::snprintf(buf.data(), buf.size(), "\\x%02x", c);
      out += buf.data();
    } else {
      out += static_cast<char>(c);
    }
  }
  if (bytes.size() > limit) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

// The fake, but CNI_NETNS is opened for real (read-only, as the kernel datapath's holdNetns
// does), so a hostile path (a FIFO, a directory, a device) reaches tunnel::Netns::open.
class OpeningDatapath : public fake::ForwardingDatapath {
 public:
  using ForwardingDatapath::ForwardingDatapath;
  std::string holdNetns(const std::string& path) override {
    held_.push_back(tunnel::Netns::open(path));
    return path;
  }

 private:
  std::vector<tunnel::Netns> held_;
};

cni::Environment envOf(const Vars& vars) {
  return [&vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string verbOf(const Vars& env) {
  const auto it = env.find("CNI_COMMAND");
  return it == env.end() ? std::string("(unset)") : it->second;
}

void checkProperty(const Vars& env, std::string_view stdinBytes, const Outcome& o) {
  const std::string verb = verbOf(env);
  if (o.status != 0 && o.status != 1) {
    violation("runPlugin returned " + std::to_string(o.status) + ", not 0 or 1", env, stdinBytes,
              o);
  }
  if (o.out.empty()) {
    if (o.status != 0) {
      violation("exit 1 with nothing on stdout: an error must be one CNI error JSON document", env,
                stdinBytes, o);
    }
    if (!kSilentVerbs.contains(verb)) {
      violation("exit 0 with nothing on stdout for CNI_COMMAND " + verb +
                    ": only DEL, CHECK, GC and STATUS succeed silently",
                env, stdinBytes, o);
    }
    return;
  }
  json doc;
  try {
    doc = json::parse(o.out);
  } catch (const json::exception& e) {
    violation(std::string("stdout is not exactly one JSON document: ") + e.what(), env, stdinBytes,
              o);
  }
  if (!doc.is_object()) {
    violation("stdout is a JSON " + std::string(doc.type_name()) + ", not an object", env,
              stdinBytes, o);
  }
  if (o.status == 1) {
    const auto code = doc.find("code");
    if (code == doc.end() || !code->is_number_integer()) {
      violation("the error document has no integer \"code\"", env, stdinBytes, o);
    }
    const auto msg = doc.find("msg");
    if (msg == doc.end() || !msg->is_string()) {
      violation("the error document has no string \"msg\"", env, stdinBytes, o);
    }
    return;
  }
  if (verb != "ADD" && verb != "VERSION") {
    violation("exit 0 with output for CNI_COMMAND " + verb +
                  ": only ADD (a result) and VERSION print on success",
              env, stdinBytes, o);
  }
  const auto version = doc.find("cniVersion");
  if (version == doc.end() || !version->is_string()) {
    violation("the " + verb + " document has no string \"cniVersion\"", env, stdinBytes, o);
  }
}

}  // namespace

void violation(const std::string& what, const Vars& env, std::string_view stdinBytes,
               const Outcome& outcome) {
  std::ostringstream report;
  report << "\n=== sixrd fuzz: property violated: " << what << "\n";
  for (const auto& [name, value] : env)
    report << "  " << name << "=\"" << printable(value) << "\"\n";
  report << "  stdin (as the plugin got it): \"" << printable(stdinBytes) << "\"\n";
  report << "  exit status: " << outcome.status << "\n";
  report << "  stdout: \"" << printable(outcome.out) << "\"\n";
  const std::string text = report.str();
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  __builtin_trap();
}

Harness& Harness::get() {
  static Harness harness;
  return harness;
}

Harness::Harness() {
  std::string tmpl = (fs::temp_directory_path() / "sixrd-fuzz-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("sixrd fuzz: mkdtemp");
    std::abort();
  }
  dir_ = tmpl;
  dataDir_ = dir_ / "data";
  logFile_ = dir_ / "log" / "sixrd.log";
  fake_ = std::make_unique<fake::FakeDatapath>();
  // A FIFO where a confined CNI_NETNS of "/fifo" lands: opening it blocking would hang ADD.
  fs::create_directories(dir_ / "netns");
  if (::mkfifo((dir_ / "netns" / "fifo").c_str(), 0600) != 0) {
    std::perror("sixrd fuzz: mkfifo");
    std::abort();
  }
}

Harness::~Harness() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void Harness::reset() {
  std::error_code ec;
  fs::remove_all(dataDir_, ec);
  fs::remove_all(logFile_.parent_path(), ec);
  fake_ = std::make_unique<fake::FakeDatapath>();
}

std::size_t Harness::leaseFileCount() const {
  std::size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dataDir_, ec), end; !ec && it != end; it.increment(ec)) {
    // The owner locks (".lock-XX", ipam/lease_store.cpp) stay by design: they hold no lease.
    if (!it->is_directory(ec) && !it->path().filename().string().starts_with(".lock-")) ++n;
  }
  return n;
}

std::string Harness::confine(std::string_view stdinBytes) const {
  // Bounded like the plugin's own parse: dumping a value nested 500000 deep would overflow the
  // harness's stack before the plugin ever saw it.
  json doc = cni::parseJsonOrDiscarded(stdinBytes);
  if (!doc.is_object()) {
    // Not JSON, nested too deep, or JSON but not an object: the plugin refuses it before it reads
    // any path.
    return std::string(stdinBytes);
  }
  doc["dataDir"] = dataDir_.string();
  if (const auto log = doc.find("log"); log != doc.end() && log->is_object()) {
    (*log)["file"] = logFile_.string();
  }
  try {
    return doc.dump();
  } catch (const json::exception&) {
    return {};  // cannot happen for parsed text (its strings are valid UTF-8); never unconfined
  }
}

std::string Harness::confineNetns(std::string_view netns) const {
  if (netns.empty() || kOpenableNetns.contains(netns)) return std::string(netns);
  std::string tail(netns);
  for (std::size_t at = tail.find(".."); at != std::string::npos; at = tail.find("..", at)) {
    tail.replace(at, 2, "__");
  }
  return (dir_ / "netns").string() + (tail.front() == '/' ? "" : "/") + tail;
}

Outcome Harness::run(const Vars& env, std::string_view stdinBytes) {
  const std::string confined = confine(stdinBytes);
  std::istringstream in(confined);
  std::ostringstream out;
  cni::PluginOptions options;
  options.checkCapabilities = false;
  options.logToStderr = false;
  options.makeDatapath = [this]() -> std::unique_ptr<tunnel::Datapath> {
    return std::make_unique<OpeningDatapath>(*fake_);
  };
  Outcome outcome;
  outcome.status = cni::runPlugin(envOf(env), in, out, options);
  outcome.out = out.str();
  // SIXRD_FUZZ_VERBOSE=1: every invocation on stderr, for reading what a reproducer does.
  static const bool verbose = std::getenv("SIXRD_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%s -> exit %d: %s\n", verbOf(env).c_str(), outcome.status,
                 printable(outcome.out).c_str());
  }
  checkProperty(env, confined, outcome);
  return outcome;
}

Outcome Harness::addFromClean(const Vars& env, std::string_view stdinBytes, bool thenDel) {
  reset();
  Vars addEnv = env;
  addEnv["CNI_COMMAND"] = "ADD";
  const Outcome add = run(addEnv, stdinBytes);
  if (add.status != 0) {
    if (!fake_->pods.empty() || leaseFileCount() != 0) {
      violation("a failed ADD left " + std::to_string(fake_->pods.size()) + " veth(s) and " +
                    std::to_string(leaseFileCount()) +
                    " lease file(s) behind (README: a failed ADD leaves nothing behind)",
                addEnv, confine(stdinBytes), add);
    }
    return add;
  }
  if (thenDel) {
    Vars delEnv = env;
    delEnv["CNI_COMMAND"] = "DEL";
    const Outcome del = run(delEnv, stdinBytes);
    if (del.status == 0 && (!fake_->pods.empty() || leaseFileCount() != 0)) {
      violation("DEL after ADD succeeded but left " + std::to_string(fake_->pods.size()) +
                    " veth(s) and " + std::to_string(leaseFileCount()) + " lease file(s) behind",
                delEnv, confine(stdinBytes), del);
    }
  }
  return add;
}

Vars Harness::containerEnv(const std::string& verb) {
  return {{"CNI_COMMAND", verb},
          {"CNI_CONTAINERID", kContainer},
          {"CNI_NETNS", kNetns},
          {"CNI_IFNAME", kIfname},
          {"CNI_PATH", "/opt/cni/bin"},
          {"CNI_ARGS",
           "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;"
           "K8S_POD_INFRA_CONTAINER_ID=c0ffee0123456789;K8S_POD_UID=0c4b5f0e-1a2b-4c3d-9e8f-"
           "0123456789ab"}};
}

std::string configPrefix(std::string_view version) {
  return R"({"cniVersion":")" + std::string(version) +
         R"(","name":"fuzznet","type":"sixrd","prefix":"fd00:10::/48",)"
         R"("underlay":"198.18.0.0/16","mtu":1400)";
}

}  // namespace sixrd::fuzz
