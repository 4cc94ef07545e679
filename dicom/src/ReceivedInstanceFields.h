#pragma once

// The attributes of a ReceivedInstance, from a DCMTK dataset (shared by the receiver and the
// file reader).

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/ReceivedInstance.h"

namespace torcht1::dicom {

inline ReceivedInstance receivedFields(DcmItem& ds) {
  auto text = [&](const DcmTagKey& tag) {
    OFString value;
    ds.findAndGetOFStringArray(tag, value);
    return std::string(value.c_str());
  };
  ReceivedInstance r;
  r.sopClassUid = text(DCM_SOPClassUID);
  r.sopInstanceUid = text(DCM_SOPInstanceUID);
  r.seriesInstanceUid = text(DCM_SeriesInstanceUID);
  r.studyInstanceUid = text(DCM_StudyInstanceUID);
  r.modality = text(DCM_Modality);
  r.seriesDescription = text(DCM_SeriesDescription);
  if (r.seriesDescription.empty()) r.seriesDescription = text(DCM_ProtocolName);
  Sint32 number = 0;
  if (ds.findAndGetSint32(DCM_SeriesNumber, number).good()) r.seriesNumber = number;
  Sint32 images = 0;
  if (ds.findAndGetSint32(DCM_ImagesInAcquisition, images).good() && images > 0) r.imagesInAcquisition = images;
  Sint32 acquisition = 0;
  if (ds.findAndGetSint32(DCM_AcquisitionNumber, acquisition).good()) r.acquisitionNumber = acquisition;
  return r;
}

/// The first required UID that is missing, or "".
inline std::string missingUid(const ReceivedInstance& r) {
  if (r.sopInstanceUid.empty()) return "SOPInstanceUID";
  if (r.seriesInstanceUid.empty()) return "SeriesInstanceUID";
  if (r.sopClassUid.empty()) return "SOPClassUID";
  return "";
}

}  // namespace torcht1::dicom
