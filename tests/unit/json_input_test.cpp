// cni::parseJson is a parser of sixrd's own (it is a fraction of nlohmann's lexer's cost). It must
// accept what nlohmann::json::parse accepts, refuse what it refuses, and build the same values, to
// the number type: these tests compare the two on hand-picked edge cases and on documents that are
// generated, then mutated byte by byte (a fixed seed, so a failure repeats).
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cni/error.hpp"
#include "cni/json_input.hpp"
#include "json_same.hpp"

namespace sixrd::cni {
namespace {

using nlohmann::json;

std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

// What nlohmann makes of `text`, against parseJson and parseJsonOrDiscarded.
::testing::AssertionResult agrees(const std::string& text) {
  const json theirs = json::parse(text, nullptr, false);
  const json discarded = parseJsonOrDiscarded(text);
  bool threw = false;
  json ours;
  try {
    ours = parseJson(text);
  } catch (const json::parse_error&) {
    threw = true;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "parseJson threw something else than parse_error ("
                                         << e.what() << ") for '" << printable(text) << "'";
  }
  if (theirs.is_discarded()) {
    if (!threw || !discarded.is_discarded()) {
      return ::testing::AssertionFailure()
             << "nlohmann refuses, sixrd accepts: '" << printable(text) << "'";
    }
    return ::testing::AssertionSuccess();
  }
  if (threw || discarded.is_discarded()) {
    return ::testing::AssertionFailure()
           << "nlohmann accepts, sixrd refuses: '" << printable(text) << "'";
  }
  if (!sixrd::testing::sameJson(theirs, ours) || !sixrd::testing::sameJson(theirs, discarded)) {
    return ::testing::AssertionFailure()
           << "different values for '" << printable(text) << "': nlohmann " << theirs.dump()
           << ", sixrd " << ours.dump();
  }
  return ::testing::AssertionSuccess();
}

TEST(JsonInput, AgreesWithNlohmannOnEdgeCases) {
  const std::vector<std::string> cases = {
      // Documents, white space, the byte order mark.
      "",
      " ",
      "{}",
      "[]",
      " {} ",
      "\t\r\n[ ]\n",
      "{} {}",
      "{}x",
      "1",
      "-1",
      "\"s\"",
      "true",
      "false",
      "null",
      "tru",
      "nul",
      "True",
      "\xEF\xBB\xBF{}",
      "\xEF\xBB{}",
      "\xEF{}",
      " \xEF\xBB\xBF{}",
      "\xEF\xBB\xBF",
      "{\"a\":1}\x00",
      std::string("{\"a\":1}\0", 8),
      std::string("[\0]", 3),
      "\x0B{}",
      "\f[]",
      // Objects and arrays.
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{,}",
      "{\"a\":1 \"b\":2}",
      "{\"a\" : 1 , \"b\" : [ ] }",
      "{1:2}",
      "{\"a\":1,\"a\":2}",
      "{\"a\":{\"b\":1},\"a\":[2]}",
      "[1,]",
      "[,1]",
      "[1 2]",
      "[[[]]]",
      "[{}]",
      "[",
      "]",
      "{",
      "}",
      "[1",
      "{\"a\":1",
      "{\"a\"",
      "{\"",
      // Numbers.
      "0",
      "-0",
      "00",
      "01",
      "-01",
      "1.",
      ".5",
      "-",
      "+1",
      "1e",
      "1e+",
      "1E-2",
      "1e5",
      "1.5e300",
      "1e400",
      "-1e400",
      "1e-400",
      "0.1",
      "-0.0",
      "0e0",
      "123456789012345678901234567890",
      "18446744073709551615",
      "18446744073709551616",
      "9223372036854775807",
      "-9223372036854775808",
      "-9223372036854775809",
      "1.7976931348623157e308",
      "1.7976931348623159e308",
      "4.9e-324",
      "2.2250738585072014e-308",
      "[1.0,2,-3,4e0]",
      "0x10",
      "1_000",
      "Infinity",
      "NaN",
      "-Infinity",
      "1.5.5",
      "1e5e5",
      "- 1",
      "0.00000000000000000000000000000000000000000000000000000000000000000000000001",
      // Strings and escapes.
      "\"\"",
      "\"a\\\"b\"",
      "\"\\\\\"",
      "\"\\/\"",
      "\"\\b\\f\\n\\r\\t\"",
      "\"\\x\"",
      "\"\\'\"",
      "\"\\u0041\"",
      "\"\\u00e9\"",
      "\"\\u00E9\"",
      "\"\\u20ac\"",
      "\"\\u0000\"",
      "\"\\u001f\"",
      "\"\\ud83d\\ude00\"",
      "\"\\uD83D\\uDE00\"",
      "\"\\ud83d\"",
      "\"\\ud83dx\"",
      "\"\\ud83d\\u0041\"",
      "\"\\ude00\"",
      "\"\\ud83d\\ud83d\"",
      "\"\\u12\"",
      "\"\\u12g4\"",
      "\"\\u\"",
      "\"\\",
      "\"abc",
      "\"a\nb\"",
      "\"a\tb\"",
      "\"\x1F\"",
      "\"\x7F\"",
      // UTF-8: every lead byte's bounds.
      "\"\xC2\x80\"",
      "\"\xC1\xBF\"",
      "\"\xC0\x80\"",
      "\"\xDF\xBF\"",
      "\"\xE0\xA0\x80\"",
      "\"\xE0\x9F\xBF\"",
      "\"\xED\x9F\xBF\"",
      "\"\xED\xA0\x80\"",
      "\"\xEE\x80\x80\"",
      "\"\xEF\xBF\xBF\"",
      "\"\xF0\x90\x80\x80\"",
      "\"\xF0\x8F\xBF\xBF\"",
      "\"\xF4\x8F\xBF\xBF\"",
      "\"\xF4\x90\x80\x80\"",
      "\"\xF5\x80\x80\x80\"",
      "\"\xFF\"",
      "\"\x80\"",
      "\"\xC2\"",
      "\"\xE2\x82\"",
      "\"\xE2\x82\xAC\"",
      "\"\xF0\x9F\x98\"",
      "\"\xF0\x9F\x98\x80\"",
      "\"\xC2\x41\"",
      "{\"\xC3\xA9\":\"\xE2\x82\xAC\"}",
  };
  for (const std::string& text : cases) EXPECT_TRUE(agrees(text));
}

// Random documents, written out with random white space, escapes and number spellings.
class Generator {
 public:
  explicit Generator(std::uint32_t seed) : random_(seed) {}

  std::string document() {
    std::string out;
    space(out);
    value(out, 0);
    space(out);
    return out;
  }

  // `text` with one to four random edits: a byte replaced, removed or inserted, or the end cut.
  std::string mutate(std::string text) {
    static const std::string kBytes = std::string("{}[]:,\"\\/u0123456789abefEF+-.tfnlrsx \t\n\r") +
                                      '\0' + "\x1F\x7F\x80\xBF" +
                                      "\xC2\xDF\xE0\xED\xEF\xF0\xF4\xF5\xFF";
    const int edits = pick(1, 4);
    for (int i = 0; i < edits && !text.empty(); ++i) {
      const auto at = static_cast<std::size_t>(pick(0, static_cast<int>(text.size()) - 1));
      const char byte =
          kBytes[static_cast<std::size_t>(pick(0, static_cast<int>(kBytes.size()) - 1))];
      switch (pick(0, 3)) {
        case 0:
          text[at] = byte;
          break;
        case 1:
          text.erase(at, 1);
          break;
        case 2:
          text.insert(at, 1, byte);
          break;
        default:
          text.resize(at);
      }
    }
    return text;
  }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }

  void space(std::string& out) {
    static constexpr char kSpace[] = " \t\n\r";
    if (pick(0, 2) != 0) return;
    for (int i = pick(1, 3); i > 0; --i) out += kSpace[pick(0, 3)];
  }

  void value(std::string& out, int depth) {
    const int kind = depth >= 6 ? pick(2, 7) : pick(0, 7);
    switch (kind) {
      case 0:
      case 1: {
        const bool object = kind == 0;
        out += object ? '{' : '[';
        space(out);
        for (int n = pick(0, 4), i = 0; i < n; ++i) {
          if (i > 0) {
            out += ',';
            space(out);
          }
          if (object) {
            // Few distinct keys, so that duplicates happen.
            string(out, pick(0, 3) == 0 ? 3 : 0);
            space(out);
            out += ':';
            space(out);
          }
          value(out, depth + 1);
          space(out);
        }
        out += object ? '}' : ']';
        return;
      }
      case 2:
      case 3:
        string(out, 12);
        return;
      case 4:
      case 5:
        number(out);
        return;
      default: {
        static const char* const kLiterals[] = {"true", "false", "null"};
        out += kLiterals[pick(0, 2)];
      }
    }
  }

  void string(std::string& out, int maxLength) {
    static const char* const kPieces[] = {"a",
                                          "b",
                                          "key",
                                          " ",
                                          "\\\"",
                                          "\\\\",
                                          "\\/",
                                          "\\b",
                                          "\\f",
                                          "\\n",
                                          "\\r",
                                          "\\t",
                                          "\\u0041",
                                          "\\u00e9",
                                          "\\u00E9",
                                          "\\u0000",
                                          "\\u001F",
                                          "\\u20AC",
                                          "\\ud83d\\ude00",
                                          "\\uD834\\uDD1E",
                                          "\xC3\xA9",
                                          "\xE2\x82\xAC",
                                          "\xF0\x9F\x98\x80",
                                          "\xEF\xBF\xBF",
                                          "'"};
    out += '"';
    if (maxLength == 0) {
      out += "k";
      out += static_cast<char>('0' + pick(0, 2));
    } else {
      for (int n = pick(0, maxLength), i = 0; i < n; ++i) {
        out += kPieces[pick(0, static_cast<int>(std::size(kPieces)) - 1)];
      }
    }
    out += '"';
  }

  void number(std::string& out) {
    static const char* const kEdges[] = {"0",
                                         "-0",
                                         "18446744073709551615",
                                         "18446744073709551616",
                                         "9223372036854775807",
                                         "-9223372036854775808",
                                         "-9223372036854775809",
                                         "99999999999999999999999",
                                         "1e308",
                                         "1e309",
                                         "2.5e-320",
                                         "1e-400",
                                         "0.1",
                                         "-0.0"};
    if (pick(0, 3) == 0) {
      out += kEdges[pick(0, static_cast<int>(std::size(kEdges)) - 1)];
      return;
    }
    if (pick(0, 1) == 0) out += '-';
    if (pick(0, 4) == 0) {
      out += '0';
    } else {
      out += static_cast<char>('1' + pick(0, 8));
      for (int n = pick(0, 20), i = 0; i < n; ++i) out += static_cast<char>('0' + pick(0, 9));
    }
    if (pick(0, 2) == 0) {
      out += '.';
      for (int n = pick(1, 18), i = 0; i < n; ++i) out += static_cast<char>('0' + pick(0, 9));
    }
    if (pick(0, 3) == 0) {
      out += pick(0, 1) == 0 ? 'e' : 'E';
      if (pick(0, 1) == 0) out += pick(0, 1) == 0 ? '+' : '-';
      for (int n = pick(1, 3), i = 0; i < n; ++i) out += static_cast<char>('0' + pick(0, 9));
    }
  }

  std::mt19937 random_;
};

TEST(JsonInput, AgreesWithNlohmannOnGeneratedDocuments) {
  Generator generate(20261205);
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = generate.document();
    ASSERT_TRUE(agrees(text));
    if (!json::parse(text, nullptr, false).is_discarded()) ++accepted;
  }
  // The generator writes valid JSON but for numbers past a double's range.
  EXPECT_GT(accepted, 2500);
}

TEST(JsonInput, AgreesWithNlohmannOnMutatedDocuments) {
  Generator generate(5122026);
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = generate.document();
    for (int k = 0; k < 8; ++k) {
      const std::string mutated = generate.mutate(text);
      ASSERT_TRUE(agrees(mutated));
      (json::parse(mutated, nullptr, false).is_discarded() ? refused : accepted) += 1;
    }
  }
  // Both outcomes, many times: the comparison saw both sides of the grammar.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(refused, 1000);
}

TEST(JsonInput, MalformedDocumentsNameWhereAndWhat) {
  try {
    parseJson("{\n  \"a\": 1,\n  \"b\" 2\n}");
    FAIL() << "accepted";
  } catch (const json::parse_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("line 3, column 7"), std::string::npos) << what;
    EXPECT_NE(what.find("expected ':' after a member name; found '2'"), std::string::npos) << what;
  }
  try {
    parseJson("[1e400]");
    FAIL() << "accepted";
  } catch (const json::parse_error& e) {
    EXPECT_NE(std::string(e.what()).find("too large for a double: 1e400"), std::string::npos)
        << e.what();
  }
  try {
    parseJson("{\"a\":");
    FAIL() << "accepted";
  } catch (const json::parse_error& e) {
    EXPECT_NE(std::string(e.what()).find("expected a value; found the end of the document"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace sixrd::cni
