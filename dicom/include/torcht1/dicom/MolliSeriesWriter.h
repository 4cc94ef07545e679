#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "torcht1/phantom/PhantomGenerator.h"

namespace torcht1::dicom {

/// How pixel values are stored: value = slope * stored + intercept.
struct PixelEncoding {
  int bitsStored = 12;  // 8 (in 8 allocated bits), 12 or 16 (in 16)
  bool isSigned = false;
  double rescaleSlope = 1;
  double rescaleIntercept = 0;
  bool writeRescale() const { return rescaleSlope != 1 || rescaleIntercept != 0; }
};

/// Where the writer put things, for the caller's report and for tests.
struct WrittenStudy {
  std::string studyInstanceUid;
  std::string seriesInstanceUid;
  std::vector<std::string> files;  // one per image, slice-major then by inversion time
  std::string truthDir;
};

/// Writes a synthetic MOLLI study as a DICOM MR Image Storage series: one instance per
/// slice and inversion time, 16-bit unsigned pixels, InversionTime (0018,0082) per image,
/// the trigger time and an "TI <ms>" image comment as scanners write them, and a short-axis
/// geometry (oblique orientation, slices 10 mm apart). UIDs derive from `studyName` and the
/// phantom seed, so the same options give the same files. The ground truth goes to
/// `<dir>/truth/`: t1.f32 and labels.u8 ([slice][row][col]) and truth.json.
class MolliSeriesWriter {
 public:
  /// `enhanced`: one Enhanced MR Image Storage object holding every slice and inversion
  /// time as a frame (functional groups: shared pixel measures and orientation; per frame
  /// position, InversionTimes in the MR Timing sequence and frame type). It is input for
  /// readers, carrying what they use, not every module of the Enhanced MR IOD.
  MolliSeriesWriter(phantom::PhantomOptions options, std::string studyName, PixelEncoding encoding = {},
                    bool enhanced = false);

  /// Throws std::runtime_error naming the file that could not be written.
  WrittenStudy write(const phantom::Phantom& phantom, const std::string& dir) const;

 private:
  phantom::PhantomOptions options_;
  std::string studyName_;
  PixelEncoding encoding_;
  bool enhanced_;
};

}  // namespace torcht1::dicom
