#pragma once

#include <stdexcept>
#include <string>

namespace torcht1::mapping {

/// The one error type of the mapping library: bad input or options, or an unusable device.
/// Its message is a single line meant for the operator.
class FitError : public std::runtime_error {
 public:
  explicit FitError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace torcht1::mapping
