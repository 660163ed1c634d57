#include "cni/version.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

#include "cni/error.hpp"

namespace sixrd::cni {
namespace {

using Triple = std::array<unsigned, 3>;

// Strict "a.b.c": the CNI spec only ever published three-part numeric versions, and accepting
// "1.0" or "v1.0.0" here would let a typo in a conflist silently pick a different result format.
Triple parseVersion(std::string_view text) {
  Triple parts{};
  std::string_view rest = text;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::size_t dot = rest.find('.');
    const std::string_view piece = i + 1 < parts.size() ? rest.substr(0, dot) : rest;
    const bool missingDot = i + 1 < parts.size() && dot == std::string_view::npos;
    // from_chars accepts neither signs nor blanks; the length cap keeps it from overflowing.
    const auto [end, ec] = std::from_chars(piece.data(), piece.data() + piece.size(), parts.at(i));
    if (missingDot || piece.empty() || piece.size() > 6 || ec != std::errc{} ||
        end != piece.data() + piece.size()) {
      throw Error(Code::kDecodeFailure,
                  "cniVersion \"" + std::string(text) +
                      "\" is not a version: expected three numbers like \"1.1.0\"");
    }
    if (i + 1 < parts.size()) {
      rest.remove_prefix(dot + 1);
    }
  }
  return parts;
}

}  // namespace

bool isSupported(std::string_view version) noexcept {
  return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), version) !=
         kSupportedVersions.end();
}

int compareVersions(std::string_view a, std::string_view b) {
  const Triple left = parseVersion(a);
  const Triple right = parseVersion(b);
  if (left < right) {
    return -1;
  }
  return left == right ? 0 : 1;
}

bool hasCheck(std::string_view version) { return compareVersions(version, "0.4.0") >= 0; }

bool hasGcAndStatus(std::string_view version) { return compareVersions(version, "1.1.0") >= 0; }

}  // namespace sixrd::cni
