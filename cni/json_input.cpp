#include "cni/json_input.hpp"

#include <optional>
#include <string>
#include <vector>

#include "cni/error.hpp"
#include "cni/request.hpp"

namespace sixrd::cni {
namespace {

using nlohmann::json;

// Path segments shown in the message; the rest is "...".
constexpr std::size_t kShownSegments = 8;

// A key shown as it is when it looks like one, quoted (and cut) otherwise.
std::string keySegment(const std::string& key) {
  const bool plain = !key.empty() && key.size() <= 64 &&
                     key.find_first_not_of(
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_-./") == std::string::npos;
  return plain ? key : quoteValue(key);
}

// A SAX pass that only measures: the document is never built, so the bound holds before any deep
// value exists. It stops at the first container past the bound and remembers where it was.
class DepthBound {
 public:
  // The names below are the ones nlohmann::json's SAX interface calls.
  // NOLINTBEGIN(readability-identifier-naming)
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  bool null() { return scalar(); }
  bool boolean(bool /*value*/) { return scalar(); }
  bool number_integer(number_integer_t /*value*/) { return scalar(); }
  bool number_unsigned(number_unsigned_t /*value*/) { return scalar(); }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) { return scalar(); }
  bool string(string_t& /*value*/) { return scalar(); }
  bool binary(binary_t& /*value*/) { return scalar(); }
  bool start_object(std::size_t /*size*/) { return open(false); }
  bool start_array(std::size_t /*size*/) { return open(true); }
  bool key(string_t& key) {
    frames_.back().key = key;
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) {
    return false;  // json::parse reports it, with its own message
  }
  // NOLINTEND(readability-identifier-naming)

  [[nodiscard]] const std::optional<Error>& tooDeep() const { return tooDeep_; }

 private:
  struct Frame {
    bool array = false;
    std::string key;        // objects: the member being read
    std::size_t index = 0;  // arrays: the element being read
  };

  bool scalar() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    return true;
  }
  bool open(bool array) {
    if (frames_.size() >= kMaxJsonDepth) {
      tooDeep_ = error();
      return false;
    }
    frames_.push_back({array, {}, 0});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return scalar();
  }

  [[nodiscard]] Error error() const {
    std::string field = "the document";
    std::string path;
    std::size_t shown = 0;
    for (const Frame& frame : frames_) {
      if (shown == kShownSegments) {
        path += "...";
        break;
      }
      if (frame.array) {
        path += "[" + std::to_string(frame.index) + "]";
      } else {
        path += (path.empty() ? "" : ".") + keySegment(frame.key);
      }
      if (shown == 0 && !frame.array) field = keySegment(frame.key);
      ++shown;
    }
    if (path.empty()) path = "the top level";
    return {Code::kDecodeFailure,
            field + " nests objects or arrays more than " + std::to_string(kMaxJsonDepth) +
                " levels deep (at " + path +
                "): nothing sixrd reads is nested that deep, so this is not a network "
                "configuration",
            field};
  }

  std::vector<Frame> frames_;
  std::optional<Error> tooDeep_;
};

}  // namespace

json parseJson(std::string_view text) {
  DepthBound bound;
  json::sax_parse(text, &bound);
  if (bound.tooDeep()) throw *bound.tooDeep();
  return json::parse(text);
}

json parseJsonOrDiscarded(std::string_view text) {
  DepthBound bound;
  json::sax_parse(text, &bound);
  if (bound.tooDeep()) return json(json::value_t::discarded);
  return json::parse(text, nullptr, false);
}

}  // namespace sixrd::cni
