#include "SourceAttributes.h"

#include <algorithm>
#include <cctype>

#include "torcht1/dicom/DicomError.h"

namespace torcht1::dicom {

namespace {

using Type = SourceAttributes::Type;

std::vector<std::string> split(const std::string& value) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = value.find('\\', start);
    parts.push_back(value.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(' ');
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(' ') - a + 1);
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

bool allowedValues(const std::string& value, const std::vector<std::string>& allowed) {
  if (allowed.empty() || value.empty()) return true;
  for (const auto& part : split(value)) {
    if (std::find(allowed.begin(), allowed.end(), part) == allowed.end()) return false;
  }
  return true;
}

/// A code string repaired as far as it can be without guessing: uppercase, values trimmed,
/// values that are not allowed dropped.
std::string repairedCodeString(const std::string& value, const std::vector<std::string>& allowed) {
  std::string out;
  for (const auto& part : split(upper(value))) {
    const std::string v = trim(part);
    if (v.empty()) continue;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) continue;
    out += (out.empty() ? "" : "\\") + v;
  }
  return out;
}

/// The most characters a value of `vr` may hold (per component group for PN); 0: no limit
/// we check here.
size_t maxCharacters(DcmEVR vr) {
  switch (vr) {
    case EVR_AE: case EVR_CS: case EVR_DS: case EVR_SH: return 16;
    case EVR_AS: return 4;
    case EVR_DA: return 8;
    case EVR_IS: return 12;
    case EVR_TM: return 14;
    case EVR_LO: case EVR_PN: case EVR_UI: return 64;
    case EVR_ST: return 1024;
    case EVR_LT: return 10240;
    default: return 0;
  }
}

/// DCMTK's checkValue does not check value lengths: each value (each PN component group)
/// within the VR's limit, counted in characters (UTF-8 sequences as one).
bool withinLength(const std::string& value, DcmEVR vr, bool utf8) {
  const size_t limit = maxCharacters(vr);
  if (limit == 0) return true;
  for (const auto& v : split(value)) {
    size_t count = 0;
    for (char c : v) {
      if (c == '=' && vr == EVR_PN) {
        count = 0;
        continue;
      }
      if (!utf8 || (static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
      if (count > limit) return false;
    }
  }
  return true;
}

std::string tagName(const DcmTagKey& tag) { return DcmTag(tag).getTagName(); }

void putValue(DcmItem& to, const DcmTagKey& tag, const std::string& value) {
  const OFCondition status = to.putAndInsertOFStringArray(tag, value.c_str());
  if (status.bad()) throw DicomError("cannot set " + tagName(tag) + ": " + status.text());
}

}  // namespace

SourceAttributes::SourceAttributes(const DicomInstance& instance) {
  if (file_.loadFile(instance.path.c_str(), EXS_Unknown, EGL_noChange, 4096).bad()) {
    throw DicomError(instance.path + ": cannot read the source image again");
  }
}

const std::vector<SourceAttributes::Rule>& SourceAttributes::patientAndStudy() {
  static const std::vector<Rule> rules = {
      {DCM_SpecificCharacterSet, Type::Optional, "1-n"},
      {DCM_PatientName, Type::Present},
      {DCM_PatientID, Type::Present},
      {DCM_IssuerOfPatientID, Type::Optional},
      {DCM_PatientBirthDate, Type::Present},
      {DCM_PatientSex, Type::Present, "1", {"M", "F", "O"}},
      {DCM_PatientAge, Type::Optional},
      {DCM_PatientSize, Type::Optional},
      {DCM_PatientWeight, Type::Optional},
      // The study's UID is kept whatever it holds: a map outside its study is worse than
      // an inherited UID error (the reader refuses series without one).
      {DCM_StudyInstanceUID, Type::Required, "1", {}, "", true},
      {DCM_StudyDate, Type::Present},
      {DCM_StudyTime, Type::Present},
      {DCM_StudyID, Type::Present},
      {DCM_AccessionNumber, Type::Present},
      {DCM_ReferringPhysicianName, Type::Present},
      {DCM_StudyDescription, Type::Optional},
  };
  return rules;
}

const std::vector<SourceAttributes::Rule>& SourceAttributes::mrImage() {
  static const std::vector<Rule> rules = {
      // Frame of Reference: the writer makes a UID of its own when the source has none.
      {DCM_FrameOfReferenceUID, Type::Optional},
      {DCM_PositionReferenceIndicator, Type::Present},
      {DCM_PatientPosition, Type::Present, "1",
       {"HFP", "HFS", "HFDR", "HFDL", "FFDR", "FFDL", "FFP", "FFS", "LFP", "LFS", "RFP", "RFS", "AFDR", "AFDL",
        "PFDR", "PFDL"}},
      // Geometry: the writer states what the reader parsed when the text is unusable.
      {DCM_ImagePositionPatient, Type::Optional, "3"},
      {DCM_ImageOrientationPatient, Type::Optional, "6"},
      {DCM_PixelSpacing, Type::Optional, "2"},
      {DCM_SliceThickness, Type::Optional},
      {DCM_SliceLocation, Type::Optional},
      {DCM_ScanningSequence, Type::Required, "1-n", {"SE", "IR", "GR", "EP", "RM"}, "RM"},
      {DCM_SequenceVariant, Type::Required, "1-n", {"SK", "MTC", "SS", "TRSS", "SP", "MP", "OSP", "NONE"}, "NONE"},
      {DCM_ScanOptions, Type::Present, "1-n", {"PER", "RG", "CG", "PPG", "FC", "PFF", "PFP", "SP", "FS"}},
      {DCM_MRAcquisitionType, Type::Present, "1", {"2D", "3D"}},
      {DCM_RepetitionTime, Type::Optional},  // type 2C: the writer decides
      {DCM_EchoTime, Type::Present},
      {DCM_EchoTrainLength, Type::Present},
      {DCM_MagneticFieldStrength, Type::Optional},
      {DCM_SeriesDate, Type::Optional},
      {DCM_SeriesTime, Type::Optional},
      {DCM_ContrastBolusAgent, Type::Optional},
  };
  return rules;
}

bool SourceAttributes::usable(const Rule& rule, OFString& value) const {
  DcmDataset& src = dataset();
  DcmElement* element = nullptr;
  if (src.findAndGetElement(rule.tag, element).bad() || element == nullptr) return false;
  if (element->getOFStringArray(value).bad()) return false;
  if (rule.keepAsIs) return true;
  OFString charset;
  src.findAndGetOFStringArray(DCM_SpecificCharacterSet, charset);
  const bool utf8 = std::string(charset.c_str()).find("192") != std::string::npos;
  if (element->checkValue(rule.vm.c_str()).good() && withinLength(value.c_str(), element->ident(), utf8) &&
      allowedValues(value.c_str(), rule.allowed)) {
    return rule.type != Type::Required || !value.empty();
  }
  if (element->ident() == EVR_DA || element->ident() == EVR_TM) {
    // The old ACR-NEMA forms (2026.12.06, 06:49:47) and ISO dates: the same value without
    // its separators, when that is a valid one.
    std::string digits;
    for (char c : std::string(value.c_str())) {
      if (c != '-' && c != '.' && c != ':') digits += c;
      else if (c == '.' && element->ident() == EVR_TM && digits.size() == 6) digits += c;  // fraction
    }
    const OFCondition valid = element->ident() == EVR_DA ? DcmDate::checkStringValue(digits.c_str(), rule.vm.c_str())
                                                         : DcmTime::checkStringValue(digits.c_str(), rule.vm.c_str());
    if (digits.empty() || valid.bad() || !withinLength(digits, element->ident(), false)) return false;
    value = digits.c_str();
    return true;
  }
  if (element->ident() != EVR_CS) return false;
  const std::string repaired = repairedCodeString(value.c_str(), rule.allowed);
  if (repaired.empty() || DcmCodeString::checkStringValue(repaired.c_str(), rule.vm.c_str()).bad() ||
      !withinLength(repaired, EVR_CS, false)) {
    return false;
  }
  value = repaired.c_str();
  return true;
}

std::vector<std::string> SourceAttributes::copy(DcmItem& to, const std::vector<Rule>& rules) const {
  std::vector<std::string> notes;
  for (const auto& rule : rules) {
    OFString value;
    DcmElement* element = nullptr;
    const bool present = dataset().findAndGetElement(rule.tag, element).good() && element != nullptr;
    OFString was;
    if (present) element->getOFStringArray(was);
    if (usable(rule, value)) {
      putValue(to, rule.tag, value.c_str());
      if (value != was) notes.push_back(tagName(rule.tag) + " '" + was.c_str() + "' written as " + value.c_str());
      continue;
    }
    const std::string what = present ? "'" + std::string(was.c_str()) + "' not valid" : "absent";
    switch (rule.type) {
      case Type::Required:
        if (rule.fallback.empty()) break;
        putValue(to, rule.tag, rule.fallback);
        notes.push_back(tagName(rule.tag) + " " + what + ", written as " + rule.fallback);
        break;
      case Type::Present:
        putValue(to, rule.tag, "");
        notes.push_back(tagName(rule.tag) + " " + what + ", written empty");
        break;
      case Type::Optional:
        if (present) notes.push_back(tagName(rule.tag) + " " + what + ", left out");
        break;
    }
  }
  return notes;
}

const std::vector<std::string>& SourceAttributes::unpairedTerms() {
  static const std::vector<std::string> terms = {
      "ABDOMEN", "ABDOMENPELVIS", "AORTA", "BLADDER", "BRAIN",  "CHEST",    "CHESTABDOMEN", "CHESTABDPELVIS",
      "CSPINE",  "HEAD",          "HEADNECK", "HEART", "LIVER", "LSPINE", "MEDIASTINUM", "NECK", "PANCREAS",
      "PELVIS",  "PROSTATE",      "SPINE", "SPLEEN", "STOMACH", "TSPINE", "UTERUS", "WHOLEBODY",
  };
  return terms;
}

bool SourceAttributes::unpaired(const std::string& bodyPart) {
  const auto& terms = unpairedTerms();
  return std::find(terms.begin(), terms.end(), bodyPart) != terms.end();
}

void SourceAttributes::copyBodyPart(DcmItem& to, bool frameLaterality) const {
  static const Rule kBodyPartRule{DCM_BodyPartExamined, Type::Optional};
  static const Rule kLateralityRule{DCM_Laterality, Type::Optional, "1", {"R", "L"}};
  OFString part;
  std::string bodyPart;
  if (usable(kBodyPartRule, part)) bodyPart = trim(part.c_str());
  // Terms seen in the field for which the standard has another.
  if (bodyPart == "THORAX") bodyPart = "CHEST";
  if (bodyPart == "CARDIAC" || bodyPart == "MYOCARDIUM") bodyPart = "HEART";
  if (!bodyPart.empty()) putValue(to, DCM_BodyPartExamined, bodyPart);
  to.findAndDeleteElement(DCM_Laterality);
  // No series laterality for an unpaired part, nor where each frame states its own.
  if (frameLaterality || (!bodyPart.empty() && unpaired(bodyPart))) return;
  // A paired or unknown body part: the source's laterality, or empty for "unknown".
  OFString laterality;
  putValue(to, DCM_Laterality, usable(kLateralityRule, laterality) ? std::string(laterality.c_str()) : "");
}

std::string SourceAttributes::describe(const std::string& source, const std::string& suffix) {
  std::string base;
  for (char c : source.empty() ? std::string("MOLLI") : source) {
    const auto u = static_cast<unsigned char>(c);
    base += (c == '\\' || u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  base = trim(base);
  if (base.empty()) base = "MOLLI";
  const size_t room = suffix.size() + 1 >= 64 ? 0 : 64 - suffix.size() - 1;
  if (base.size() > room) {
    size_t cut = room;
    // Never in the middle of a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(base[cut]) & 0xC0) == 0x80) --cut;
    base = trim(base.substr(0, cut));
  }
  return base.empty() ? suffix.substr(0, 64) : base + " " + suffix;
}

}  // namespace torcht1::dicom
