#pragma once

// Attributes a derived object takes over from its source image.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include <string>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomInstance.h"

namespace torcht1::dicom {

/// Patient and study: every object we derive belongs to the source's patient and study.
inline const DcmTagKey kPatientAndStudy[] = {
    DCM_SpecificCharacterSet, DCM_PatientName, DCM_PatientID, DCM_PatientBirthDate, DCM_PatientSex,
    DCM_StudyInstanceUID, DCM_StudyDate, DCM_StudyTime, DCM_StudyID, DCM_AccessionNumber,
    DCM_ReferringPhysicianName, DCM_StudyDescription,
};

/// What a derived series says about the body, for modules that need it (General Series'
/// Laterality condition depends on the body part).
inline const DcmTagKey kBodyPart[] = {DCM_BodyPartExamined, DCM_Laterality};

/// "<source> <suffix>" within the 64 characters of VR LO: the source part is shortened,
/// never the suffix that says what the series is.
inline std::string describe(const std::string& source, const std::string& suffix) {
  const std::string base = source.empty() ? "MOLLI" : source;
  const size_t room = suffix.size() + 1 >= 64 ? 0 : 64 - suffix.size() - 1;
  return (base.size() > room ? base.substr(0, room) : base) + " " + suffix;
}

/// Loads the source image of `instance` again, without its pixel data.
inline void loadSourceHeader(const DicomInstance& instance, DcmFileFormat& file) {
  if (file.loadFile(instance.path.c_str(), EXS_Unknown, EGL_noChange, 4096).bad()) {
    throw DicomError(instance.path + ": cannot read the source image again");
  }
}

/// Copies each of `tags` that `from` has into `to`.
template <size_t N>
void copyAttributes(DcmDataset& from, DcmDataset& to, const DcmTagKey (&tags)[N]) {
  for (const auto& tag : tags) {
    DcmElement* element = nullptr;
    if (from.findAndGetElement(tag, element).good() && element != nullptr) {
      to.insert(static_cast<DcmElement*>(element->clone()), true);
    }
  }
}

}  // namespace torcht1::dicom
