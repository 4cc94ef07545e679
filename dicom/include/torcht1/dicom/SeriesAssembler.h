#pragma once

#include <regex>
#include <string>
#include <vector>

#include "torcht1/dicom/DicomInstance.h"
#include "torcht1/dicom/MolliSeries.h"

namespace torcht1::dicom {

/// Which series are T1 inputs.
struct SeriesSelection {
  /// Case-insensitive pattern on SeriesDescription or ProtocolName; empty takes any.
  std::string descriptionPattern = "molli|t1|look.?locker|shmolli";
  /// Distinct inversion times a slice needs.
  int minInversionTimes = 5;
  /// Images whose position along the normal differs by less than this are one slice (mm).
  double sliceTolerance = 0.5;
};

/// Why `pattern` cannot be a description pattern, or "": it must compile as a
/// case-insensitive ECMAScript regular expression, within 256 characters and without a
/// number of more than 6 digits (libstdc++ parses repetition counts and back-references
/// into a long without checking for overflow, which is undefined behaviour).
std::string descriptionPatternProblem(const std::string& pattern);

/// Groups instances into series and slices and decides which series are MOLLI inputs.
/// Never takes a derived series (ImageType DERIVED, or a map we wrote), a non-MR series or
/// phase images; every series it leaves out comes with a one-line reason.
class SeriesAssembler {
 public:
  /// Throws DicomError when the description pattern has a problem (see above).
  explicit SeriesAssembler(SeriesSelection selection);

  struct Result {
    std::vector<MolliSeries> series;
    std::vector<RejectedSeries> rejected;
  };
  Result assemble(const std::vector<DicomInstance>& instances) const;

 private:
  SeriesSelection selection_;
  std::regex pattern_;
};

}  // namespace torcht1::dicom
