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

// One SAX pass that bounds the depth and builds the document (nlohmann's own DOM builder, fed
// through this class): it stops at the first container past the bound, before any deeper value
// exists, and remembers where it was. One pass, not a measuring pass and then json::parse: the
// lexer's work is most of what reading a config costs.
class BoundedParse {
 public:
  // The names below are the ones nlohmann::json's SAX interface calls.
  // NOLINTBEGIN(readability-identifier-naming)
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  // A syntax error throws nlohmann's parse_error (as json::parse) when allowExceptions, else marks
  // the document errored.
  BoundedParse(json& result, bool allowExceptions) : dom_(result, allowExceptions) {}

  bool null() { return scalar() && dom_.null(); }
  bool boolean(bool value) { return scalar() && dom_.boolean(value); }
  bool number_integer(number_integer_t value) { return scalar() && dom_.number_integer(value); }
  bool number_unsigned(number_unsigned_t value) { return scalar() && dom_.number_unsigned(value); }
  bool number_float(number_float_t value, const string_t& text) {
    return scalar() && dom_.number_float(value, text);
  }
  bool string(string_t& value) { return scalar() && dom_.string(value); }
  bool binary(binary_t& value) { return scalar() && dom_.binary(value); }
  bool start_object(std::size_t size) { return open(false) && dom_.start_object(size); }
  bool start_array(std::size_t size) { return open(true) && dom_.start_array(size); }
  bool key(string_t& key) {
    frames_.back().key = key;
    return dom_.key(key);
  }
  bool end_object() { return close() && dom_.end_object(); }
  bool end_array() { return close() && dom_.end_array(); }
  // A template, as nlohmann's own: the builder rethrows the exception as the type it was given.
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& token, const Exception& error) {
    return dom_.parse_error(position, token, error);
  }
  // NOLINTEND(readability-identifier-naming)

  [[nodiscard]] const std::optional<Error>& tooDeep() const { return tooDeep_; }
  [[nodiscard]] bool errored() const { return dom_.is_errored(); }

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
        path += '[';
        path += std::to_string(frame.index);
        path += ']';
      } else {
        if (!path.empty()) path += '.';
        path += keySegment(frame.key);
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

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::vector<Frame> frames_;
  std::optional<Error> tooDeep_;
};

}  // namespace

json parseJson(std::string_view text) {
  json result;
  BoundedParse parse(result, true);
  json::sax_parse(text, &parse);
  if (parse.tooDeep()) throw *parse.tooDeep();
  return result;
}

json parseJsonOrDiscarded(std::string_view text) {
  json result;
  BoundedParse parse(result, false);
  json::sax_parse(text, &parse);
  if (parse.tooDeep() || parse.errored()) return json(json::value_t::discarded);
  return result;
}

}  // namespace sixrd::cni
