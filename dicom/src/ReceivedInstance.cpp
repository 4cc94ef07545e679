#include "torcht1/dicom/ReceivedInstance.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomInstance.h"
#include "ReceivedInstanceFields.h"

namespace torcht1::dicom {

ReceivedInstance ReceivedInstance::fromFile(const std::string& file) {
  quietDcmtk();
  DcmFileFormat format;
  const OFCondition loaded = format.loadFileUntilTag(file.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                                     ERM_autoDetect, DCM_PixelData);
  if (loaded.bad()) throw DicomError(file + ": not readable as DICOM (" + std::string(loaded.text()) + ")");
  ReceivedInstance instance = receivedFields(*format.getDataset());
  instance.file = file;
  const std::string missing = missingUid(instance);
  if (!missing.empty()) throw DicomError(file + ": no " + missing);
  return instance;
}

}  // namespace torcht1::dicom
