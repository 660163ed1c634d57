// JSON that comes from outside the process (stdin, a conflist on disk, a chained plugin's answer),
// parsed with a bound on nesting, by a parser of sixrd's own that builds nlohmann::json values
// (json_input.cpp says why, and what it accepts: what nlohmann::json::parse accepts). Copying,
// comparing and dumping a value recurse once per level: a document nested 500000 deep would
// overflow the stack the first time it is copied or printed. Everything sixrd reads is a few
// levels deep, so anything past kMaxJsonDepth is refused while parsing, before such a value exists.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sixrd::cni {

// Objects and arrays inside one another, the outermost counting as 1.
inline constexpr std::size_t kMaxJsonDepth = 64;

// Parses `text` as one JSON document. Throws cni::Error code 6 (kDecodeFailure) when it nests
// deeper than kMaxJsonDepth, the message naming where (the top-level field, e.g. "dns", as
// details, and the path to the level that went too deep, e.g. dns.a[0][0]...), and
// nlohmann::json::parse_error for malformed JSON (a number too large for a double included, which
// json::parse reports as out_of_range), naming the line, the column and what was expected.
nlohmann::json parseJson(std::string_view text);

// Same, but a value that is_discarded() for malformed or too deeply nested JSON, as
// json::parse(text, nullptr, false) gives. Never throws but for std::bad_alloc.
nlohmann::json parseJsonOrDiscarded(std::string_view text);

}  // namespace sixrd::cni
