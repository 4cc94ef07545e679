#pragma once

// Hand-made hostile DICOM input, built with DCMTK from a good simulated series: what a
// broken or malicious sender could hand the node. Shared by the reader/assembler tests and
// the node tests, which expect the same one-line reasons.

#include <functional>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

namespace torcht1::testing {

/// Puts `value` under `tag` as VR LO, whatever the dictionary says (a wrong VR, as explicit
/// VR transfer syntaxes carry it).
inline void putAsLongString(DcmItem& ds, const DcmTagKey& tag, const std::string& value) {
  auto* element = new DcmLongString(DcmTag(tag, EVR_LO));
  element->putString(value.c_str());
  ds.insert(element, true);
}

/// Loads `source`, lets `change` edit it and saves it as `target` (explicit VR little
/// endian). False when DCMTK could not.
inline bool rewrite(const std::string& source, const std::string& target, const std::function<void(DcmDataset&)>& change) {
  DcmFileFormat file;
  if (file.loadFile(source.c_str()).bad()) return false;
  change(*file.getDataset());
  return file.saveFile(target.c_str(), EXS_LittleEndianExplicit).good();
}

/// A copy of a series under another Series Instance UID (SOP Instance UIDs get `suffix`),
/// `change` applied to image `which` (its index in `files`), in `dir`.
inline std::vector<std::string> copySeries(const std::vector<std::string>& files, const std::string& dir,
                                           const std::string& seriesUid, const std::string& suffix, size_t which,
                                           const std::function<void(DcmDataset&)>& change) {
  std::vector<std::string> out;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string target = dir + "/IM_" + std::to_string(i + 1) + ".dcm";
    const bool ok = rewrite(files[i], target, [&](DcmDataset& ds) {
      OFString sop;
      ds.findAndGetOFString(DCM_SOPInstanceUID, sop);
      ds.putAndInsertString(DCM_SOPInstanceUID, (std::string(sop.c_str()) + suffix).c_str());
      ds.putAndInsertString(DCM_SeriesInstanceUID, seriesUid.c_str());
      if (i == which) change(ds);
    });
    if (!ok) return {};
    out.push_back(target);
  }
  return out;
}

/// One hostile image in an otherwise good MOLLI series, and the reason the series must be
/// rejected with (after "<file>: ", except where the reason names the files itself).
struct HostileCase {
  std::string name;
  std::function<void(DcmDataset&)> change;
  std::string reason;
};

/// The cases, for a series of 16 x 16 16-bit single-frame images whose image 3 is changed
/// (`otherTi` is the InversionTime of image 2, as its file states it).
inline std::vector<HostileCase> hostileCases(const std::string& otherTi) {
  auto ti = [](const std::string& value) {
    return [value](DcmDataset& ds) { ds.putAndInsertString(DCM_InversionTime, value.c_str()); };
  };
  return {
      {"RowsAsText", [](DcmDataset& ds) { putAsLongString(ds, DCM_Rows, "abc"); }, "Rows has VR LO, not US"},
      {"InversionTimeAsText", ti("abc"), "InversionTime 'abc' is not a number (VR DS)"},
      {"InversionTimeWithVrLo", [](DcmDataset& ds) { putAsLongString(ds, DCM_InversionTime, "100"); },
       "InversionTime '100' is not a number (VR LO)"},
      {"HugeMatrixShortPixelData",
       [](DcmDataset& ds) {
         ds.putAndInsertUint16(DCM_Rows, 65535);
         ds.putAndInsertUint16(DCM_Columns, 65535);
       },
       "pixel data has 512 bytes; 65535 x 65535 x 16 bits x 1 frame needs 8589672450"},
      {"PixelDataShorterThanDeclared",
       [](DcmDataset& ds) {
         const std::vector<Uint16> few(100, 7);
         ds.putAndInsertUint16Array(DCM_PixelData, few.data(), static_cast<unsigned long>(few.size()));
       },
       "pixel data has 200 bytes; 16 x 16 x 16 bits x 1 frame needs 512"},
      {"BillionsOfFramesClaimed", [](DcmDataset& ds) { ds.putAndInsertString(DCM_NumberOfFrames, "2147483647"); },
       "pixel data has 512 bytes; 16 x 16 x 16 bits x 2147483647 frames needs 1099511627264"},
      {"NaNInversionTime", ti("NaN"), "InversionTime nan ms is not an inversion time (0 to 100000 ms)"},
      {"InfiniteInversionTime", ti("inf"), "InversionTime inf ms is not an inversion time (0 to 100000 ms)"},
      {"NegativeInversionTime", ti("-100"), "InversionTime -100 ms is not an inversion time (0 to 100000 ms)"},
      {"DuplicateInversionTime", ti(otherTi), "slice 1 has two images at TI "},
      {"InversionTimeInACommentWithThousandsOfDigits",
       [](DcmDataset& ds) {
         ds.findAndDeleteElement(DCM_InversionTime);
         ds.putAndInsertString(DCM_ImageComments, ("TI " + std::string(5000, '7')).c_str());
       },
       "ImageComments 'TI 77777777777777777777777777777777...' is not an inversion time (0 to 100000 ms)"},
      {"NaNPosition", [](DcmDataset& ds) { ds.putAndInsertString(DCM_ImagePositionPatient, "nan\\0\\0"); },
       "ImagePositionPatient has nan, not a finite number within +-1e+06"},
  };
}

}  // namespace torcht1::testing
