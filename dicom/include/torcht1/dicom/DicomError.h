#pragma once

#include <stdexcept>
#include <string>

namespace torcht1::dicom {

/// A DICOM input or output problem, as one line naming the file or series and the reason.
class DicomError : public std::runtime_error {
 public:
  explicit DicomError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace torcht1::dicom
