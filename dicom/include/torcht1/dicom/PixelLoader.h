#pragma once

#include <string>
#include <vector>

#include "torcht1/dicom/DicomInstance.h"

namespace torcht1::dicom {

/// Loads an image's pixels as floats with RescaleSlope/Intercept applied, through DCMTK's
/// image module: every transfer syntax whose decoder is registered (uncompressed, deflated,
/// JPEG lossless, JPEG-LS, RLE), 8 to 16 bits, signed or unsigned. Throws DicomError.
class PixelLoader {
 public:
  PixelLoader();  // registers the decoders once per process
  std::vector<float> load(const DicomInstance& instance) const;
};

}  // namespace torcht1::dicom
