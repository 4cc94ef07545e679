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

std::string DicomInstance::name() const { return frame > 0 ? path + " frame " + std::to_string(frame) : path; }

namespace {

/// The functional-group item of `sequence` for a frame: per-frame when there, else shared.
DcmItem* functionalGroup(DcmDataset& ds, int frame, const DcmTagKey& sequence) {
  DcmItem* groups = nullptr;
  DcmItem* item = nullptr;
  if (ds.findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, groups, frame - 1).good() && groups != nullptr &&
      groups->findAndGetSequenceItem(sequence, item, 0).good() && item != nullptr) {
    return item;
  }
  if (ds.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, groups, 0).good() && groups != nullptr &&
      groups->findAndGetSequenceItem(sequence, item, 0).good() && item != nullptr) {
    return item;
  }
  return nullptr;
}

bool readValues(DcmItem* item, const DcmTagKey& tag, double* out, unsigned count) {
  if (item == nullptr) return false;
  for (unsigned i = 0; i < count; ++i) {
    if (item->findAndGetFloat64(tag, out[i], i).bad()) return false;
  }
  return true;
}

}  // namespace

double DicomInstance::normalPosition() const {
  const auto& o = orientation;
  const double n[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  return position[0] * n[0] + position[1] * n[1] + position[2] * n[2];
}

std::vector<DicomInstance> DicomInstanceReader::read(const std::string& path) const {
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

  Sint32 frames = 1;
  if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
  if (ds.tagExists(DCM_PerFrameFunctionalGroupsSequence) || ds.tagExists(DCM_SharedFunctionalGroupsSequence)) {
    // Enhanced (multi-frame): one instance per frame, from the functional groups.
    std::vector<DicomInstance> result;
    for (int f = 1; f <= frames; ++f) {
      DicomInstance frame = d;
      frame.frame = f;
      frame.hasGeometry =
          readValues(functionalGroup(ds, f, DCM_PlanePositionSequence), DCM_ImagePositionPatient, frame.position.data(), 3) &&
          readValues(functionalGroup(ds, f, DCM_PlaneOrientationSequence), DCM_ImageOrientationPatient, frame.orientation.data(), 6) &&
          readValues(functionalGroup(ds, f, DCM_PixelMeasuresSequence), DCM_PixelSpacing, frame.spacing.data(), 2);
      readValues(functionalGroup(ds, f, DCM_PixelMeasuresSequence), DCM_SliceThickness, &frame.sliceThickness, 1);
      double ti = 0;
      if (readValues(functionalGroup(ds, f, DCM_MRTimingAndRelatedParametersSequence), DCM_InversionTimes, &ti, 1) && ti > 0) {
        frame.inversionTime = ti;
        frame.inversionTimeSource = "InversionTimes";
      } else {
        frame.inversionTime.reset();
      }
      DcmItem* frameType = functionalGroup(ds, f, DCM_MRImageFrameTypeSequence);
      OFString type;
      if (frameType != nullptr && frameType->findAndGetOFStringArray(DCM_FrameType, type).good()) frame.imageType = type.c_str();
      result.push_back(frame);
    }
    return result;
  }

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
  return {d};
}

}  // namespace torcht1::dicom
