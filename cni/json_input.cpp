#include "cni/json_input.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <system_error>
#include <utility>

#include "cni/error.hpp"
#include "cni/request.hpp"

namespace sixrd::cni {
namespace {

using nlohmann::json;

// Path segments shown in the message; the rest is "...".
constexpr std::size_t kShownSegments = 8;

// Numbers longer than this go through a heap copy on their way to strtod.
constexpr std::size_t kShortNumber = 64;

// A key shown as it is when it looks like one, quoted (and cut) otherwise.
std::string keySegment(const std::string& key) {
  const bool plain = !key.empty() && key.size() <= 64 &&
                     key.find_first_not_of(
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_-./") == std::string::npos;
  return plain ? key : quoteValue(key);
}

// The bytes a string's fast path copies as they are: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> kPlainByte = [] {
  std::array<bool, 256> plain{};
  for (std::size_t c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

// A malformed document: where, and what was expected there.
struct Malformed {
  std::size_t offset = 0;
  std::string what;
  bool showFound = true;  // what the message gives is not already the text at `offset`
};

// Reads one JSON document (RFC 8259, as nlohmann::json::parse reads it: a UTF-8 byte order mark
// skipped at the start, strings checked to be UTF-8, no comments, the last of duplicate keys
// kept, a NUL byte after the value ending the input, integers as number_unsigned when not negative
// and number_integer when negative, falling back to a double when they do not fit, a number that
// does not fit a double refused) straight into a json value. It walks the bytes with a pointer:
// nlohmann's lexer costs about 50 instructions a byte (it counts lines and copies every byte of
// every token for its messages), which made reading the configuration, and on DEL the ADD's result
// inside it, the largest part of a call's user space. tests/unit/json_input_test.cpp compares the
// two on generated and mutated documents.
//
// A failure returns false up the calls rather than throwing: the first exception a static binary
// throws sorts every unwind table entry first (about 13 ms under the benchmark's emulation), and
// a VERSION call with an empty stdin (the benchmark's, or one typed in a shell) reads a malformed
// document.
class Parser {
 public:
  explicit Parser(std::string_view text)
      : begin_(text.data()), at_(text.data()), end_(text.data() + text.size()) {}

  // False when the document is malformed (malformed() says where and why) or nests past
  // kMaxJsonDepth (tooDeep() is true).
  bool document(json& result) {
    if (!skipByteOrderMark()) return false;
    skipSpace();
    if (!value(result)) return false;
    skipSpace();
    // nlohmann's lexer reads a NUL byte as the end of the input (C strings), so what follows one
    // after the value is not read.
    if (at_ != end_ && *at_ != '\0')
      return fail("expected nothing but white space after the value");
    return true;
  }

  [[nodiscard]] bool tooDeep() const { return tooDeep_; }
  [[nodiscard]] const Malformed& malformed() const { return malformed_; }

  // The error for a document that nests too deep, naming where.
  [[nodiscard]] Error tooDeepError() const;

 private:
  struct Frame {
    bool array = false;
    const std::string* key = nullptr;  // objects: the member being read
    std::size_t index = 0;             // arrays: the element being read
  };

  bool fail(std::string what, bool showFound = true) {
    malformed_ = Malformed{static_cast<std::size_t>(at_ - begin_), std::move(what), showFound};
    return false;
  }

  bool skipByteOrderMark() {
    if (at_ == end_ || static_cast<unsigned char>(*at_) != 0xEF) return true;
    if (end_ - at_ >= 3 && static_cast<unsigned char>(at_[1]) == 0xBB &&
        static_cast<unsigned char>(at_[2]) == 0xBF) {
      at_ += 3;
      return true;
    }
    return fail("a byte order mark that is not EF BB BF");
  }

  void skipSpace() {
    while (at_ != end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) ++at_;
  }

  bool value(json& out) {
    if (at_ == end_) return fail("expected a value");
    switch (*at_) {
      case '{':
        return object(out);
      case '[':
        return array(out);
      case '"':
        out = json::string_t();
        return string(*out.get_ptr<json::string_t*>());
      case 't':
        out = true;
        return literal("true");
      case 'f':
        out = false;
        return literal("false");
      case 'n':
        out = nullptr;
        return literal("null");
      default:
        if (*at_ == '-' || (*at_ >= '0' && *at_ <= '9')) return number(out);
        return fail("expected a value ('{', '[', a string, a number, true, false or null)");
    }
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - at_) < word.size() ||
        std::string_view(at_, word.size()) != word) {
      return fail("invalid literal: expected " + std::string(word));
    }
    at_ += word.size();
    return true;
  }

  bool open(bool array) {
    if (depth_ == kMaxJsonDepth) {
      tooDeep_ = true;
      return false;
    }
    frames_[depth_++] = Frame{array, nullptr, 0};
    return true;
  }

  // The container's closer, here or after white space: consumed, and the container left.
  bool close(char closer) {
    skipSpace();
    if (at_ == end_ || *at_ != closer) return false;
    ++at_;
    --depth_;
    return true;
  }

  // After a member or an element: true at ',' (another follows, `more` set) or at the closer.
  bool next(char closer, bool& more) {
    skipSpace();
    more = at_ != end_ && *at_ == ',';
    if (more) {
      ++at_;
      skipSpace();
      return true;
    }
    return close(closer);
  }

  bool object(json& out) {
    if (!open(false)) return false;
    ++at_;
    out = json::object();
    auto& members = *out.get_ptr<json::object_t*>();
    if (close('}')) return true;
    for (bool more = true; more;) {
      if (at_ == end_ || *at_ != '"') return fail("expected a member name (a string)");
      std::string key;
      if (!string(key)) return false;
      skipSpace();
      if (at_ == end_ || *at_ != ':') return fail("expected ':' after a member name");
      ++at_;
      skipSpace();
      // The last of duplicate keys wins, as in nlohmann's parser.
      const auto slot = members.insert_or_assign(std::move(key), json()).first;
      frames_[depth_ - 1].key = &slot->first;
      if (!value(slot->second)) return false;
      if (!next('}', more)) return fail("expected ',' or '}' after an object member");
    }
    return true;
  }

  bool array(json& out) {
    if (!open(true)) return false;
    ++at_;
    out = json::array();
    auto& elements = *out.get_ptr<json::array_t*>();
    if (close(']')) return true;
    for (bool more = true; more;) {
      frames_[depth_ - 1].index = elements.size();
      if (!value(elements.emplace_back())) return false;
      if (!next(']', more)) return fail("expected ',' or ']' after an array element");
    }
    return true;
  }

  // At the opening quote. Appends the decoded string to `out`.
  bool string(std::string& out) {
    ++at_;
    for (;;) {
      const char* run = at_;
      while (at_ != end_ && kPlainByte[static_cast<unsigned char>(*at_)]) ++at_;
      out.append(run, at_);
      if (at_ == end_) return fail("a string that does not end");
      const auto c = static_cast<unsigned char>(*at_);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c == '\\') {
        if (!escape(out)) return false;
      } else if (c < 0x20) {
        return fail("a control character (below U+0020) in a string: it must be escaped");
      } else if (!utf8(out)) {
        return false;
      }
    }
  }

  // One UTF-8 sequence of two to four bytes, checked as RFC 3629 (and nlohmann) have it.
  bool utf8(std::string& out) {
    const auto byte = [this](std::ptrdiff_t i) {
      return i < end_ - at_ ? static_cast<unsigned char>(at_[i]) : 0U;
    };
    const unsigned lead = byte(0);
    unsigned low = 0x80;
    unsigned high = 0xBF;
    std::ptrdiff_t length = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return fail("a string that is not UTF-8");
    }
    for (std::ptrdiff_t i = 1; i < length; ++i) {
      const unsigned next = byte(i);
      const unsigned min = i == 1 ? low : 0x80;
      const unsigned max = i == 1 ? high : 0xBF;
      if (next < min || next > max) return fail("a string that is not UTF-8");
    }
    out.append(at_, at_ + length);
    at_ += length;
    return true;
  }

  // At the backslash.
  bool escape(std::string& out) {
    ++at_;
    if (at_ == end_) return fail("a string that does not end");
    switch (*at_++) {
      case '"':
        out += '"';
        return true;
      case '\\':
        out += '\\';
        return true;
      case '/':
        out += '/';
        return true;
      case 'b':
        out += '\b';
        return true;
      case 'f':
        out += '\f';
        return true;
      case 'n':
        out += '\n';
        return true;
      case 'r':
        out += '\r';
        return true;
      case 't':
        out += '\t';
        return true;
      case 'u':
        break;
      default:
        --at_;
        return fail(
            "an invalid escape in a string (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)");
    }
    std::uint32_t code = 0;
    if (!hex4(code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) {
      return fail("a \\u escape of a low surrogate (U+DC00..U+DFFF) without a high one before it");
    }
    if (code >= 0xD800 && code <= 0xDBFF) {
      if (end_ - at_ < 2 || at_[0] != '\\' || at_[1] != 'u') {
        return fail("a \\u escape of a high surrogate (U+D800..U+DBFF) not followed by a low one");
      }
      at_ += 2;
      std::uint32_t second = 0;
      if (!hex4(second)) return false;
      if (second < 0xDC00 || second > 0xDFFF) {
        return fail("a \\u escape of a high surrogate (U+D800..U+DBFF) not followed by a low one");
      }
      code = 0x10000 + ((code - 0xD800) << 10) + (second - 0xDC00);
    }
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
    return true;
  }

  bool hex4(std::uint32_t& code) {
    code = 0;
    for (int i = 0; i < 4; ++i, ++at_) {
      if (at_ == end_) return fail("a \\u escape with fewer than four hex digits");
      const char c = *at_;
      std::uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return fail("a \\u escape with fewer than four hex digits");
      }
      code = (code << 4) | digit;
    }
    return true;
  }

  bool digits() {
    const char* start = at_;
    while (at_ != end_ && *at_ >= '0' && *at_ <= '9') ++at_;
    return at_ != start;
  }

  bool number(json& out) {
    const char* start = at_;
    const bool negative = *at_ == '-';
    if (negative) ++at_;
    if (at_ != end_ && *at_ == '0') {
      ++at_;
    } else if (!digits()) {
      return fail("a number without digits after '-'");
    }
    bool integral = true;
    if (at_ != end_ && *at_ == '.') {
      integral = false;
      ++at_;
      if (!digits()) return fail("a number without digits after '.'");
    }
    if (at_ != end_ && (*at_ == 'e' || *at_ == 'E')) {
      integral = false;
      ++at_;
      if (at_ != end_ && (*at_ == '+' || *at_ == '-')) ++at_;
      if (!digits()) return fail("a number without digits in its exponent");
    }
    if (integral) {
      // As nlohmann: an integer that does not fit 64 bits becomes a double.
      if (negative) {
        std::int64_t v = 0;
        if (std::from_chars(start, at_, v).ec == std::errc()) {
          out = v;
          return true;
        }
      } else {
        std::uint64_t v = 0;
        if (std::from_chars(start, at_, v).ec == std::errc()) {
          out = v;
          return true;
        }
      }
    }
    // strtod, as nlohmann, on a terminated copy (the text is a view, not a C string).
    const auto size = static_cast<std::size_t>(at_ - start);
    double v = 0;
    if (size < kShortNumber) {
      std::array<char, kShortNumber> copy{};
      std::copy(start, at_, copy.begin());
      v = std::strtod(copy.data(), nullptr);
    } else {
      const std::string copy(start, at_);
      v = std::strtod(copy.c_str(), nullptr);
    }
    if (!std::isfinite(v)) {
      at_ = start;
      return fail("a number too large for a double: " + std::string(start, size), false);
    }
    out = v;
    return true;
  }

  const char* begin_;
  const char* at_;
  const char* end_;
  std::array<Frame, kMaxJsonDepth> frames_{};
  std::size_t depth_ = 0;
  bool tooDeep_ = false;
  Malformed malformed_;
};

Error Parser::tooDeepError() const {
  std::string field = "the document";
  std::string path;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < depth_; ++i) {
    const Frame& frame = frames_[i];
    if (shown == kShownSegments) {
      path += "...";
      break;
    }
    if (frame.array) {
      path += '[';
      path += std::to_string(frame.index);
      path += ']';
    } else {
      const std::string key = frame.key != nullptr ? keySegment(*frame.key) : "";
      if (!path.empty()) path += '.';
      path += key;
      if (shown == 0) field = key;
    }
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

// nlohmann's parse_error for a malformed document, with the line and column of `offset`.
json::parse_error parseError(std::string_view text, const Malformed& malformed) {
  nlohmann::detail::position_t position;
  position.chars_read_total = malformed.offset + 1;
  for (std::size_t i = 0; i < malformed.offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++position.lines_read;
      position.chars_read_current_line = 0;
    } else {
      ++position.chars_read_current_line;
    }
  }
  ++position.chars_read_current_line;
  std::string what = malformed.what;
  if (!malformed.showFound) {
    // The message names the text already.
  } else if (malformed.offset < text.size()) {
    const auto c = static_cast<unsigned char>(text[malformed.offset]);
    what += (c >= 0x20 && c < 0x7F) ? std::string("; found '") + static_cast<char>(c) + "'"
                                    : "; found byte " + std::to_string(c);
  } else {
    what += "; found the end of the document";
  }
  return json::parse_error::create(101, position, "syntax error: " + what, nullptr);
}

}  // namespace

json parseJson(std::string_view text) {
  Parser parser(text);
  json result;
  if (parser.document(result)) return result;
  if (parser.tooDeep()) throw parser.tooDeepError();
  throw parseError(text, parser.malformed());
}

json parseJsonOrDiscarded(std::string_view text) {
  Parser parser(text);
  json result;
  if (parser.document(result)) return result;
  return json(json::value_t::discarded);
}

}  // namespace sixrd::cni
