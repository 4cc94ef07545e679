#include "torcht1/dicom/DicomInstance.h"

#include <mutex>
#include <regex>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/oflog/oflog.h>

#include "torcht1/dicom/DicomError.h"

namespace torcht1::dicom {

namespace {

std::string text(DcmDataset& ds, const DcmTagKey& tag) {
  OFString value;
  if (ds.findAndGetOFStringArray(tag, value).bad()) return "";
  return value.c_str();
}

}  // namespace

void quietDcmtk() {
  // Every failure is reported by us, once, with the file name; DCMTK's own log would
  // repeat it (and chatter about files that are not DICOM at all).
  static std::once_flag once;
  std::call_once(once, [] { OFLog::configure(OFLogger::FATAL_LOG_LEVEL); });
}

double DicomInstance::normalPosition() const {
  const auto& o = orientation;
  const double n[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  return position[0] * n[0] + position[1] * n[1] + position[2] * n[2];
}

DicomInstance DicomInstanceReader::read(const std::string& path) const {
  DcmFileFormat format;
  quietDcmtk();
  // DICOM files only (the "DICM" preamble): folders hold other files too. Elements above
  // 4 KiB (the pixel data) stay on disk until asked for.
  const OFCondition loaded = format.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_fileOnly);
  if (loaded.bad()) throw DicomError(path + ": not a readable DICOM file (" + loaded.text() + ")");
  DcmDataset& ds = *format.getDataset();

  DicomInstance d;
  d.path = path;
  d.sopClassUid = text(ds, DCM_SOPClassUID);
  d.sopInstanceUid = text(ds, DCM_SOPInstanceUID);
  d.seriesInstanceUid = text(ds, DCM_SeriesInstanceUID);
  d.studyInstanceUid = text(ds, DCM_StudyInstanceUID);
  d.frameOfReferenceUid = text(ds, DCM_FrameOfReferenceUID);
  d.modality = text(ds, DCM_Modality);
  d.imageType = text(ds, DCM_ImageType);
  d.seriesDescription = text(ds, DCM_SeriesDescription);
  d.protocolName = text(ds, DCM_ProtocolName);
  d.contrastBolusAgent = text(ds, DCM_ContrastBolusAgent);
  d.manufacturer = text(ds, DCM_Manufacturer);
  if (d.sopInstanceUid.empty()) throw DicomError(path + ": no SOP Instance UID");
  if (d.seriesInstanceUid.empty()) throw DicomError(path + ": no Series Instance UID");
  Sint32 number = 0;
  if (ds.findAndGetSint32(DCM_SeriesNumber, number).good()) d.seriesNumber = number;
  Uint16 rows = 0, cols = 0;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, cols);
  d.rows = rows;
  d.cols = cols;
  d.hasPixelData = ds.tagExists(DCM_PixelData);

  bool geometry = true;
  for (unsigned i = 0; i < 3; ++i) geometry = geometry && ds.findAndGetFloat64(DCM_ImagePositionPatient, d.position[i], i).good();
  for (unsigned i = 0; i < 6; ++i) geometry = geometry && ds.findAndGetFloat64(DCM_ImageOrientationPatient, d.orientation[i], i).good();
  for (unsigned i = 0; i < 2; ++i) geometry = geometry && ds.findAndGetFloat64(DCM_PixelSpacing, d.spacing[i], i).good();
  d.hasGeometry = geometry;
  ds.findAndGetFloat64(DCM_SliceThickness, d.sliceThickness);

  Float64 ti = 0;
  static const std::regex comment(R"(\bTI\s*[:=]?\s*([0-9]+(\.[0-9]+)?))", std::regex::icase);
  std::smatch match;
  const std::string comments = text(ds, DCM_ImageComments);
  if (ds.findAndGetFloat64(DCM_InversionTime, ti).good() && ti > 0) {
    d.inversionTime = ti;
    d.inversionTimeSource = "InversionTime";
  } else if (std::regex_search(comments, match, comment)) {
    d.inversionTime = std::stod(match[1].str());
    d.inversionTimeSource = "ImageComments";
  } else if (triggerTimeFallback_ && ds.findAndGetFloat64(DCM_TriggerTime, ti).good() && ti > 0) {
    d.inversionTime = ti;
    d.inversionTimeSource = "TriggerTime";
  }
  return d;
}

}  // namespace torcht1::dicom
