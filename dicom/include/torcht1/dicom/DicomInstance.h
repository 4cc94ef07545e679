#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace torcht1::dicom {

/// The attributes of one image file that grouping, selection and fitting need, read
/// without its pixel data.
struct DicomInstance {
  std::string path;
  /// Frame of a multi-frame (Enhanced MR) object, 1-based; 0 for a single-frame image.
  int frame = 0;
  std::string sopClassUid, sopInstanceUid, seriesInstanceUid, studyInstanceUid, frameOfReferenceUid;
  std::string modality, imageType, seriesDescription, protocolName, contrastBolusAgent, manufacturer;
  int seriesNumber = 0;
  std::string accessionNumber;
  /// SeriesDate and SeriesTime joined ("20261207101500.123"; empty parts when absent): orders
  /// the series of a study in time.
  std::string seriesDateTime;
  /// MagneticFieldStrength (0018,0087) in tesla; 0 when absent.
  double magneticFieldStrength = 0;
  int rows = 0, cols = 0;
  bool hasPixelData = false;
  bool hasGeometry = false;
  std::array<double, 3> position{};     // ImagePositionPatient
  std::array<double, 6> orientation{};  // ImageOrientationPatient
  std::array<double, 2> spacing{};      // PixelSpacing (row, column)
  double sliceThickness = 0;
  /// Inversion time in ms, from InversionTime (0018,0082), else "TI <ms>" in ImageComments,
  /// else (when allowed) TriggerTime. Empty when none is found.
  std::optional<double> inversionTime;
  std::string inversionTimeSource;  // "InversionTime", "ImageComments", "TriggerTime"
  /// Why this image cannot be fitted, found in its header (a damaged or hostile file: an
  /// attribute of the wrong VR, an inversion time that is not a time, pixel data shorter
  /// than declared, sizes beyond InputLimits); empty when none. SeriesAssembler rejects the
  /// image's series with it.
  std::string problem;

  /// Position along the image normal (mm): what tells slices apart.
  double normalPosition() const;
  /// "<path>" or "<path> frame <n>": how messages name this image.
  std::string name() const;
};

/// Silences DCMTK's own log (once per process): the library reports every problem itself.
void quietDcmtk();

/// Reads DicomInstance from files: one per single-frame image, one per frame of an
/// Enhanced MR object (geometry and inversion time from the frame's functional groups,
/// else the shared ones). Throws DicomError "<file>: <reason>" for anything that is not a
/// readable DICOM file. Allocates nothing the file's header claims before checking it: an
/// object whose header does not hold together is one instance with `problem` set.
class DicomInstanceReader {
 public:
  explicit DicomInstanceReader(bool triggerTimeFallback = false) : triggerTimeFallback_(triggerTimeFallback) {}
  std::vector<DicomInstance> read(const std::string& path) const;

 private:
  bool triggerTimeFallback_;
};

}  // namespace torcht1::dicom
