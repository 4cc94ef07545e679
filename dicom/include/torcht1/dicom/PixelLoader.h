#pragma once

#include <memory>
#include <string>
#include <vector>

#include "torcht1/dicom/DicomInstance.h"

namespace torcht1::dicom {

/// Loads an image's pixels as floats with RescaleSlope/Intercept applied, through DCMTK's
/// image module: every transfer syntax whose decoder is registered (uncompressed, deflated,
/// JPEG lossless, JPEG-LS, RLE), 8 to 16 bits, signed or unsigned. Throws DicomError.
///
/// The last file read stays in memory (one file, never more), so the frames of a
/// multi-frame object are read from disk once, not once per frame; a file that changed on
/// disk (size or time) is read again. load() may be called from several threads; calls on
/// one loader run one at a time.
class PixelLoader {
 public:
  PixelLoader();  // registers the decoders once per process
  ~PixelLoader();
  PixelLoader(const PixelLoader& other);  // a copy starts with nothing in memory
  PixelLoader& operator=(const PixelLoader& other);
  std::vector<float> load(const DicomInstance& instance) const;

 private:
  struct LastFile;
  std::unique_ptr<LastFile> last_;
};

}  // namespace torcht1::dicom
