#include "torcht1/dicom/PixelLoader.h"

#include <cmath>
#include <filesystem>
#include <mutex>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include "torcht1/dicom/DicomError.h"
#include "PixelDataCheck.h"

namespace fs = std::filesystem;

namespace torcht1::dicom {

/// The file read last, with what tells whether it is still the one on disk.
struct PixelLoader::LastFile {
  std::mutex mutex;
  std::string path;
  std::uintmax_t size = 0;
  fs::file_time_type modified;
  DcmFileFormat format;  // decoded frames stay in it (DCMTK keeps the uncompressed form)
};

PixelLoader::PixelLoader() : last_(std::make_unique<LastFile>()) {
  static std::once_flag once;
  quietDcmtk();
  std::call_once(once, [] {
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

PixelLoader::~PixelLoader() = default;
PixelLoader::PixelLoader(const PixelLoader&) : PixelLoader() {}
PixelLoader& PixelLoader::operator=(const PixelLoader&) { return *this; }

std::vector<float> PixelLoader::load(const DicomInstance& instance) const {
  // One file at a time: its frames are decoded from the same dataset, one caller at a time.
  std::lock_guard<std::mutex> lock(last_->mutex);
  std::error_code sizeError, timeError;
  const std::uintmax_t size = fs::file_size(instance.path, sizeError);
  const fs::file_time_type modified = fs::last_write_time(instance.path, timeError);
  if (instance.path != last_->path || sizeError || timeError || size != last_->size || modified != last_->modified) {
    last_->path.clear();
    const OFCondition loaded = last_->format.loadFile(instance.path.c_str());
    if (loaded.bad()) throw DicomError(instance.path + ": cannot read (" + loaded.text() + ")");
    if (!sizeError && !timeError) {
      last_->path = instance.path;
      last_->size = size;
      last_->modified = modified;
    }
  }
  DcmFileFormat& format = last_->format;
  DcmDataset& ds = *format.getDataset();
  // DCMTK's image module allocates what the header declares: the header is checked against
  // the pixel data (and InputLimits) first, whatever the reader found before.
  PixelLayout layout;
  if (const std::string problem = pixelDataProblem(ds, layout); !problem.empty()) {
    throw DicomError(instance.name() + ": " + problem);
  }
  if (instance.frame > layout.frames) {
    throw DicomError(instance.name() + ": the object has " + std::to_string(layout.frames) + " frames");
  }
  // Stored values, unpacked and sign-extended by DCMTK; the rescale is applied here in
  // double precision (DCMTK's own modality transform rounds to integers).
  const unsigned long frame = instance.frame > 0 ? static_cast<unsigned long>(instance.frame - 1) : 0;
  // A compressed object is decompressed as a whole, once, while it is the file in memory:
  // DicomImage on the JPEG-LS original decodes the first frame asked for, and every later
  // frame of the same dataset failed with "Missing attribute".
  E_TransferSyntax syntax = ds.getOriginalXfer();
  if (DcmXfer(syntax).isEncapsulated()) {
    if (ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit)) {
      throw DicomError(instance.name() + ": cannot decompress the pixel data (" + DcmXfer(syntax).getXferName() + ")");
    }
    syntax = EXS_LittleEndianExplicit;
  }
  DicomImage image(&format, syntax, CIF_IgnoreModalityTransformation, frame, 1);
  if (image.getStatus() != EIS_Normal) {
    throw DicomError(instance.name() + ": cannot decode pixels (" + DicomImage::getString(image.getStatus()) + ")");
  }
  const DiPixel* pixel = image.getInterData();
  if (pixel == nullptr || pixel->getData() == nullptr) throw DicomError(instance.name() + ": no pixel data");
  const unsigned long count = pixel->getCount();
  if (count != static_cast<unsigned long>(instance.rows) * static_cast<unsigned long>(instance.cols)) {
    throw DicomError(instance.name() + ": " + std::to_string(count) + " pixels decoded, " +
                     std::to_string(instance.rows) + "x" + std::to_string(instance.cols) + " declared");
  }
  // DCMTK sets the output to 0 when an element is absent: take the values only when present.
  Float64 slope = 1, intercept = 0, value = 0;
  if (ds.findAndGetFloat64(DCM_RescaleSlope, value).good() && value != 0) slope = value;
  if (ds.findAndGetFloat64(DCM_RescaleIntercept, value).good()) intercept = value;
  // Beyond +-1e20 a 32-bit stored value would leave the float range.
  if (!std::isfinite(slope) || !std::isfinite(intercept) || std::abs(slope) > 1e20 || std::abs(intercept) > 1e20) {
    throw DicomError(instance.name() + ": RescaleSlope " + std::to_string(slope) + " / RescaleIntercept " +
                     std::to_string(intercept) + " is not a finite scale");
  }
  std::vector<float> values(count);
  auto convert = [&](const auto* data) {
    for (unsigned long i = 0; i < count; ++i) values[i] = static_cast<float>(slope * static_cast<double>(data[i]) + intercept);
  };
  switch (pixel->getRepresentation()) {
    case EPR_Uint8: convert(static_cast<const Uint8*>(pixel->getData())); break;
    case EPR_Sint8: convert(static_cast<const Sint8*>(pixel->getData())); break;
    case EPR_Uint16: convert(static_cast<const Uint16*>(pixel->getData())); break;
    case EPR_Sint16: convert(static_cast<const Sint16*>(pixel->getData())); break;
    case EPR_Uint32: convert(static_cast<const Uint32*>(pixel->getData())); break;
    case EPR_Sint32: convert(static_cast<const Sint32*>(pixel->getData())); break;
    default: throw DicomError(instance.path + ": unsupported pixel representation");
  }
  return values;
}

}  // namespace torcht1::dicom
