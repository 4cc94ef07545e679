#pragma once

#include <string>

namespace torcht1::dicom {

/// DICOM UIDs derived deterministically from a name, in the registration-free "2.25." form
/// (ISO/IEC 9834-8: the decimal value of a 128-bit number). The same name always gives the
/// same UID, so writing a series again produces the same UIDs and PACS never holds copies.
class DicomUid {
 public:
  /// "2.25." followed by the decimal value of a 128-bit hash of `name` (at most 44 chars).
  static std::string fromName(const std::string& name);
  /// True for a syntactically valid UID: 1..64 characters, digits and dots, no empty
  /// component, no leading zero in a component of more than one digit.
  static bool isValid(const std::string& uid);
};

}  // namespace torcht1::dicom
