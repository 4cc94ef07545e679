#pragma once

// Reshaping Enhanced MR objects for tests, with DCMTK: how other scanners export them.

#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

namespace torcht1::testing {

/// Splits a multi-frame Enhanced MR object (as `torcht1 simulate --enhanced` writes it) into
/// one single-frame Enhanced MR object per frame in `dir`, as scanners that export one
/// instance per inversion time and slice do: same series, the frame's plane position and
/// MR timing (its InversionTimes) in the shared functional groups, frame content and frame
/// type per frame. Returns the files, or an empty list when something could not be done.
inline std::vector<std::string> splitEnhancedPerFrame(const std::string& file, const std::string& dir) {
  DcmFileFormat whole;
  if (whole.loadFile(file.c_str()).bad()) return {};
  DcmDataset& source = *whole.getDataset();
  Sint32 frames = 0;
  Uint16 rows = 0, cols = 0;
  const Uint16* pixels = nullptr;
  unsigned long count = 0;
  OFString sop;
  if (source.findAndGetSint32(DCM_NumberOfFrames, frames).bad() || source.findAndGetUint16(DCM_Rows, rows).bad() ||
      source.findAndGetUint16(DCM_Columns, cols).bad() || source.findAndGetOFString(DCM_SOPInstanceUID, sop).bad() ||
      source.findAndGetUint16Array(DCM_PixelData, pixels, &count).bad() ||
      count != static_cast<unsigned long>(frames) * rows * cols) {
    return {};
  }
  const std::vector<Uint16> all(pixels, pixels + count);
  std::vector<std::string> files;
  for (Sint32 f = 0; f < frames; ++f) {
    DcmFileFormat part(whole);
    DcmDataset& ds = *part.getDataset();
    ds.putAndInsertString(DCM_SOPInstanceUID, (std::string(sop.c_str()) + "." + std::to_string(f + 1)).c_str());
    ds.putAndInsertString(DCM_InstanceNumber, std::to_string(f + 1).c_str());
    ds.putAndInsertString(DCM_NumberOfFrames, "1");
    DcmItem* shared = nullptr;
    DcmSequenceOfItems* perFrame = nullptr;
    if (ds.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).bad() ||
        ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrame).bad()) {
      return {};
    }
    DcmItem* mine = perFrame->remove(static_cast<unsigned long>(f));
    if (mine == nullptr) return {};
    perFrame->clear();
    perFrame->insert(mine);
    for (const auto& group : {DCM_PlanePositionSequence, DCM_MRTimingAndRelatedParametersSequence}) {
      DcmElement* moved = mine->remove(group);
      if (moved == nullptr || shared->insert(moved, true).bad()) return {};
    }
    ds.putAndInsertUint16Array(DCM_PixelData, all.data() + static_cast<size_t>(f) * rows * cols,
                               static_cast<unsigned long>(rows) * cols);
    const std::string out = dir + "/ENHANCED_" + std::to_string(f + 1) + ".dcm";
    if (part.saveFile(out.c_str(), EXS_LittleEndianExplicit).bad()) return {};
    files.push_back(out);
  }
  return files;
}

}  // namespace torcht1::testing
