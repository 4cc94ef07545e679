#pragma once

#include <array>
#include <string>
#include <vector>

#include "torcht1/dicom/DicomInstance.h"

namespace torcht1::dicom {

/// One slice of a MOLLI series: its images sorted by inversion time.
struct MolliSlice {
  std::vector<DicomInstance> images;
  std::vector<double> inversionTimes() const;
};

/// A MOLLI series ready to fit: slices sorted along the normal, all of one matrix size.
struct MolliSeries {
  std::string seriesInstanceUid;
  std::string description;
  int rows = 0, cols = 0;
  std::vector<MolliSlice> slices;
  /// Post-contrast, from ContrastBolusAgent or the description ("post", "gd", "contrast").
  bool postContrast = false;
};

/// A series that was not taken, with the reason in one line.
struct RejectedSeries {
  std::string seriesInstanceUid;
  std::string description;
  std::string reason;
};

}  // namespace torcht1::dicom
