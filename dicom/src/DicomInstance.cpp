#include "torcht1/dicom/DicomInstance.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/oflog/oflog.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/InputLimits.h"
#include "PixelDataCheck.h"

namespace torcht1::dicom {

namespace {

std::string text(DcmItem& ds, const DcmTagKey& tag) {
  OFString value;
  if (ds.findAndGetOFStringArray(tag, value).bad()) return "";
  std::string s = value.c_str();
  if (s.size() > InputLimits::kMaxTextLength) s.resize(InputLimits::kMaxTextLength);
  return s;
}

/// A value as a message shows it: at most 32 characters, one line.
std::string shown(std::string value) {
  if (value.size() > 32) value = value.substr(0, 32) + "...";
  for (char& c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return value;
}

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

/// A time in ms from `tag` of `item`: nothing when absent, empty or 0 (not stated). When
/// the value is there but is not a time (not a number, NaN, infinite, negative, beyond
/// InputLimits::kMaxTimeMs), nothing and `problem` says why.
std::optional<double> timeValue(DcmItem* item, const DcmTagKey& tag, const char* name, std::string& problem) {
  DcmElement* element = nullptr;
  if (item == nullptr || item->findAndGetElement(tag, element).bad() || element == nullptr || element->getLength() == 0) {
    return std::nullopt;
  }
  Float64 value = 0;
  if (element->getFloat64(value, 0).bad()) {
    OFString raw;
    element->getOFString(raw, 0);
    problem = std::string(name) + " '" + shown(raw.c_str()) + "' is not a number (VR " +
              DcmVR(element->getVR()).getVRName() + ")";
    return std::nullopt;
  }
  if (!std::isfinite(value) || value < 0 || value > InputLimits::kMaxTimeMs) {
    problem = std::string(name) + " " + number(value) + " ms is not an inversion time (0 to " +
              number(InputLimits::kMaxTimeMs) + " ms)";
    return std::nullopt;
  }
  if (value == 0) return std::nullopt;
  return value;
}

/// "TI <ms>" (also "TI: <ms>", "TI=<ms>", any case) in free text, as scanners write it in
/// ImageComments: the first such number. Scanned by hand: a regular expression recurses
/// once per digit in libstdc++ and a long comment would overflow the stack.
std::optional<std::string> commentTime(const std::string& text) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text[i])) != 'T' ||
        std::toupper(static_cast<unsigned char>(text[i + 1])) != 'I' || (i > 0 && word(text[i - 1]))) {
      continue;
    }
    size_t j = i + 2;
    while (j < text.size() && space(text[j])) ++j;
    if (j < text.size() && (text[j] == ':' || text[j] == '=')) ++j;
    while (j < text.size() && space(text[j])) ++j;
    const size_t start = j;
    while (j < text.size() && digit(text[j])) ++j;
    if (j == start) continue;
    if (j + 1 < text.size() && text[j] == '.' && digit(text[j + 1])) {
      for (++j; j < text.size() && digit(text[j]);) ++j;
    }
    return text.substr(start, j - start);
  }
  return std::nullopt;
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
DcmItem* functionalGroup(DcmItem* perFrame, DcmItem* shared, const DcmTagKey& sequence) {
  DcmItem* item = nullptr;
  if (perFrame != nullptr && perFrame->findAndGetSequenceItem(sequence, item, 0).good() && item != nullptr) return item;
  if (shared != nullptr && shared->findAndGetSequenceItem(sequence, item, 0).good() && item != nullptr) return item;
  return nullptr;
}

/// Reads `count` numbers of `tag`; false when one is missing. A value that is not finite or
/// beyond +-`bound` (it would make the slice order meaningless) is a problem, not a value.
bool readValues(DcmItem* item, const DcmTagKey& tag, double* out, unsigned count, double bound, std::string& problem) {
  if (item == nullptr) return false;
  for (unsigned i = 0; i < count; ++i) {
    if (item->findAndGetFloat64(tag, out[i], i).bad()) return false;
    if (!std::isfinite(out[i]) || std::abs(out[i]) > bound) {
      if (problem.empty()) {
        problem = std::string(DcmTag(tag).getTagName()) + " has " + number(out[i]) +
                  ", not a finite number within +-" + number(bound);
      }
      return false;
    }
  }
  return true;
}

constexpr double kMaxMillimetres = 1e6;  // positions, spacing and thickness
constexpr double kMaxCosine = 2;         // direction cosines are within +-1 (and rounding)

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
  d.accessionNumber = text(ds, DCM_AccessionNumber);
  d.seriesDateTime = text(ds, DCM_SeriesDate) + text(ds, DCM_SeriesTime);
  {
    Float64 tesla = 0;
    if (ds.findAndGetFloat64(DCM_MagneticFieldStrength, tesla).good() && std::isfinite(tesla) && tesla > 0 && tesla < 20) {
      d.magneticFieldStrength = tesla;
    }
  }
  if (d.sopInstanceUid.empty()) throw DicomError(path + ": no SOP Instance UID");
  if (d.seriesInstanceUid.empty()) throw DicomError(path + ": no Series Instance UID");
  Sint32 seriesNumber = 0;
  if (ds.findAndGetSint32(DCM_SeriesNumber, seriesNumber).good()) d.seriesNumber = seriesNumber;
  unsigned rows = 0, cols = 0;
  // Wrong VRs are problems of the image (Rows as a string reads as no Rows at all).
  for (const std::string& problem : {readUnsignedShort(ds, DCM_Rows, "Rows", false, rows),
                                     readUnsignedShort(ds, DCM_Columns, "Columns", false, cols)}) {
    if (d.problem.empty()) d.problem = problem;
  }
  d.rows = static_cast<int>(rows);
  d.cols = static_cast<int>(cols);
  d.hasPixelData = ds.tagExists(DCM_PixelData);

  // The header against the pixel data, before anything trusts its sizes.
  Sint32 frames = 1;
  if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
  if (d.hasPixelData && d.problem.empty()) {
    PixelLayout layout;
    d.problem = pixelDataProblem(ds, layout);
  }

  bool geometry = readValues(&ds, DCM_ImagePositionPatient, d.position.data(), 3, kMaxMillimetres, d.problem);
  geometry = readValues(&ds, DCM_ImageOrientationPatient, d.orientation.data(), 6, kMaxCosine, d.problem) && geometry;
  geometry = readValues(&ds, DCM_PixelSpacing, d.spacing.data(), 2, kMaxMillimetres, d.problem) && geometry;
  d.hasGeometry = geometry;
  std::string ignored;
  if (!readValues(&ds, DCM_SliceThickness, &d.sliceThickness, 1, kMaxMillimetres, ignored)) d.sliceThickness = 0;

  if (ds.tagExists(DCM_PerFrameFunctionalGroupsSequence) || ds.tagExists(DCM_SharedFunctionalGroupsSequence)) {
    // Enhanced (multi-frame): one instance per frame, from the functional groups. The
    // per-frame items are taken in one pass (DCMTK finds item n by walking n items).
    std::vector<DcmItem*> perFrame;
    DcmSequenceOfItems* sequence = nullptr;
    if (ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, sequence).good() && sequence != nullptr) {
      for (DcmObject* o = sequence->nextInContainer(nullptr); o != nullptr; o = sequence->nextInContainer(o)) {
        perFrame.push_back(dynamic_cast<DcmItem*>(o));
      }
      if (d.problem.empty() && perFrame.size() != static_cast<size_t>(frames)) {
        d.problem = "NumberOfFrames is " + std::to_string(frames) + " but there are " + std::to_string(perFrame.size()) +
                    " per-frame functional groups";
      }
    }
    // An object that does not hold together is one image with its problem, whatever
    // number of frames it claims.
    if (!d.problem.empty()) return {d};
    DcmItem* shared = nullptr;
    if (ds.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).bad()) shared = nullptr;
    std::vector<DicomInstance> result;
    for (int f = 1; f <= frames; ++f) {
      DcmItem* mine = static_cast<size_t>(f) <= perFrame.size() ? perFrame[static_cast<size_t>(f - 1)] : nullptr;
      DicomInstance frame = d;
      frame.frame = f;
      frame.hasGeometry =
          readValues(functionalGroup(mine, shared, DCM_PlanePositionSequence), DCM_ImagePositionPatient,
                     frame.position.data(), 3, kMaxMillimetres, frame.problem) &&
          readValues(functionalGroup(mine, shared, DCM_PlaneOrientationSequence), DCM_ImageOrientationPatient,
                     frame.orientation.data(), 6, kMaxCosine, frame.problem) &&
          readValues(functionalGroup(mine, shared, DCM_PixelMeasuresSequence), DCM_PixelSpacing, frame.spacing.data(),
                     2, kMaxMillimetres, frame.problem);
      if (!readValues(functionalGroup(mine, shared, DCM_PixelMeasuresSequence), DCM_SliceThickness,
                      &frame.sliceThickness, 1, kMaxMillimetres, ignored)) {
        frame.sliceThickness = 0;
      }
      frame.inversionTime = timeValue(functionalGroup(mine, shared, DCM_MRTimingAndRelatedParametersSequence),
                                      DCM_InversionTimes, "InversionTimes", frame.problem);
      frame.inversionTimeSource = frame.inversionTime ? "InversionTimes" : "";
      DcmItem* frameType = functionalGroup(mine, shared, DCM_MRImageFrameTypeSequence);
      OFString type;
      if (frameType != nullptr && frameType->findAndGetOFStringArray(DCM_FrameType, type).good()) frame.imageType = type.c_str();
      result.push_back(std::move(frame));
    }
    return result;
  }

  // InversionTime, else "TI <ms>" in ImageComments, else (when allowed) TriggerTime. One
  // that is there but is not a time is a problem, not a reason to look further.
  std::string problem;
  if ((d.inversionTime = timeValue(&ds, DCM_InversionTime, "InversionTime", problem))) {
    d.inversionTimeSource = "InversionTime";
  } else if (problem.empty()) {
    if (const auto comment = commentTime(text(ds, DCM_ImageComments))) {
      char* end = nullptr;
      const double ti = std::strtod(comment->c_str(), &end);
      if (!std::isfinite(ti) || ti > InputLimits::kMaxTimeMs) {
        problem = "ImageComments 'TI " + shown(*comment) + "' is not an inversion time (0 to " +
                  number(InputLimits::kMaxTimeMs) + " ms)";
      } else if (ti > 0) {
        d.inversionTime = ti;
        d.inversionTimeSource = "ImageComments";
      }
    }
    if (!d.inversionTime && problem.empty() && triggerTimeFallback_ &&
        (d.inversionTime = timeValue(&ds, DCM_TriggerTime, "TriggerTime", problem))) {
      d.inversionTimeSource = "TriggerTime";
    }
  }
  if (d.problem.empty()) d.problem = problem;
  return {d};
}

}  // namespace torcht1::dicom
