#pragma once

// Writing elements into a dataset we are building, each failure naming the file.

#include <string>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/DicomError.h"

namespace torcht1::dicom {

/// Sets a string element; throws DicomError "<file>: cannot set <tag>: <reason>".
inline void put(DcmDataset& ds, const DcmTagKey& tag, const std::string& value, const std::string& file) {
  const OFCondition status = ds.putAndInsertString(tag, value.c_str());
  if (status.bad()) {
    throw DicomError(file + ": cannot set " + DcmTag(tag).getTagName() + ": " + status.text());
  }
}

}  // namespace torcht1::dicom
