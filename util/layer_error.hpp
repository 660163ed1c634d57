// The base of each layer's error family (ipam::Error, tunnel::Error): what() for people, kind()
// for code (the CNI layer's one table from kinds to CNI codes), details() for what the runtime's
// error "details" names, empty when there is nothing more to say than what().
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace sixrd::util {

template <class KindT>
class LayerError : public std::runtime_error {
 public:
  using Kind = KindT;
  LayerError(Kind kind, const std::string& message, std::string details = {})
      : std::runtime_error(message), kind_(kind), details_(std::move(details)) {}
  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& details() const noexcept { return details_; }

 private:
  Kind kind_;
  std::string details_;
};

}  // namespace sixrd::util
