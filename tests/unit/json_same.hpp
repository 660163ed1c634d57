// Strict equality of two JSON values, for the tests that compare cni::parseJson with nlohmann's
// parser (tests/unit/json_input_test.cpp, tests/fuzz/fuzz_json.cpp).
#pragma once

#include <cstddef>
#include <cstring>
#include <nlohmann/json.hpp>

namespace sixrd::testing {

// Equal values of equal types all the way down, floats bit for bit (json's operator== takes 1 and
// 1.0, and an unsigned 1 and a signed 1, as equal).
inline bool sameJson(const nlohmann::json& a, const nlohmann::json& b) {
  using nlohmann::json;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
        if (i.key() != j.key() || !sameJson(*i, *j)) return false;
      }
      return true;
    }
    case json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (std::size_t k = 0; k < a.size(); ++k) {
        if (!sameJson(a[k], b[k])) return false;
      }
      return true;
    }
    case json::value_t::number_float: {
      const double x = a.get<double>();
      const double y = b.get<double>();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    default:
      return a == b;
  }
}

}  // namespace sixrd::testing
