// Fuzz target: cni::parseJson (cni/json_input.cpp), sixrd's own JSON parser, against
// nlohmann::json::parse. The input is the whole document. Both must refuse it, or both accept it
// and build the same value to the number type; a document sixrd refuses for nesting past
// kMaxJsonDepth must be one that nests that deep. parseJson must throw nothing but parse_error
// and cni::Error. Anything else traps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cni/error.hpp"
#include "cni/json_input.hpp"
#include "json_same.hpp"

namespace {

using nlohmann::json;

std::size_t depth(const json& value) {
  if (!value.is_structured()) return 0;
  std::size_t deepest = 0;
  for (const json& element : value) deepest = std::max(deepest, depth(element));
  return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const json theirs = json::parse(text, nullptr, false);
  json ours;
  bool tooDeep = false;
  bool malformed = false;
  try {
    ours = sixrd::cni::parseJson(text);
  } catch (const json::parse_error&) {
    malformed = true;
  } catch (const sixrd::cni::Error&) {
    tooDeep = true;
  }
  if (!sixrd::cni::parseJsonOrDiscarded(text).is_discarded() == (malformed || tooDeep)) {
    std::abort();  // the two entry points disagree
  }
  if (theirs.is_discarded()) {
    if (!malformed && !tooDeep) std::abort();  // sixrd accepts what nlohmann refuses
    return 0;
  }
  if (tooDeep) {
    if (depth(theirs) <= sixrd::cni::kMaxJsonDepth) std::abort();  // refused within the bound
    return 0;
  }
  if (malformed || !sixrd::testing::sameJson(theirs, ours)) std::abort();
  return 0;
}
