#pragma once

// What an image states about its pixels, checked against the pixel data it carries before
// anything is decoded: DCMTK's image module allocates Rows x Columns x frames as declared
// (65535 x 65535 is 8 GiB) and fills what the data lacks with zeros. Shared by the reader
// (which keeps the pixel data on disk) and the pixel loader.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "torcht1/dicom/InputLimits.h"

namespace torcht1::dicom {

struct PixelLayout {
  unsigned rows = 0, cols = 0, bitsAllocated = 0;
  int64_t frames = 1;
};

/// "" when one of `tag` is there as VR US (value in `out`) or absent and not `required`;
/// else what is wrong with it.
inline std::string readUnsignedShort(DcmItem& ds, const DcmTagKey& tag, const char* name, bool required, unsigned& out) {
  DcmElement* element = nullptr;
  if (ds.findAndGetElement(tag, element).bad() || element == nullptr) return required ? std::string(name) + " is missing" : "";
  if (element->ident() != EVR_US) {
    return std::string(name) + " has VR " + DcmVR(element->getVR()).getVRName() + ", not US";
  }
  Uint16 value = 0;
  if (element->getUint16(value).bad()) return std::string(name) + " has no value";
  out = value;
  return "";
}

/// "" when the pixel data holds what Rows, Columns, BitsAllocated, SamplesPerPixel and
/// NumberOfFrames declare, within InputLimits; else the problem in words (one line).
inline std::string pixelDataProblem(DcmItem& ds, PixelLayout& layout) {
  DcmElement* pixels = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr) return "no pixel data";
  unsigned samples = 1;
  for (const std::string& problem :
       {readUnsignedShort(ds, DCM_Rows, "Rows", true, layout.rows),
        readUnsignedShort(ds, DCM_Columns, "Columns", true, layout.cols),
        readUnsignedShort(ds, DCM_BitsAllocated, "BitsAllocated", true, layout.bitsAllocated),
        readUnsignedShort(ds, DCM_SamplesPerPixel, "SamplesPerPixel", false, samples)}) {
    if (!problem.empty()) return problem;
  }
  const std::string matrix = std::to_string(layout.rows) + " x " + std::to_string(layout.cols);
  if (layout.rows == 0 || layout.cols == 0) return "Rows x Columns is " + matrix;
  if (samples != 1) return "SamplesPerPixel is " + std::to_string(samples) + "; only grayscale images are fitted";
  if (layout.bitsAllocated != 8 && layout.bitsAllocated != 16 && layout.bitsAllocated != 32) {
    return "BitsAllocated is " + std::to_string(layout.bitsAllocated) + "; 8, 16 or 32 are read";
  }
  Sint32 frames = 1;
  if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
  layout.frames = frames;
  const int64_t framePixels = int64_t{layout.rows} * layout.cols;
  const std::string declared = matrix + " x " + std::to_string(layout.bitsAllocated) + " bits x " +
                               std::to_string(frames) + (frames == 1 ? " frame" : " frames");

  // What is there first: a short or hostile header must not make us allocate what it claims.
  E_TransferSyntax syntax = EXS_Unknown;
  const DcmRepresentationParameter* parameter = nullptr;
  auto* pixelData = dynamic_cast<DcmPixelData*>(pixels);
  if (pixelData != nullptr) pixelData->getOriginalRepresentationKey(syntax, parameter);
  if (pixelData != nullptr && syntax != EXS_Unknown && DcmXfer(syntax).isEncapsulated()) {
    DcmPixelSequence* sequence = nullptr;
    if (pixelData->getEncapsulatedRepresentation(syntax, parameter, sequence).bad() || sequence == nullptr) {
      return "compressed pixel data without fragments";
    }
    // Item 0 is the offset table; every frame takes at least one fragment.
    const int64_t fragments = sequence->card() > 0 ? static_cast<int64_t>(sequence->card()) - 1 : 0;
    if (fragments < frames) {
      return "compressed pixel data has " + std::to_string(fragments) + " fragments; " + declared + " needs one per frame";
    }
  } else {
    // Divided, not multiplied: 65535 x 65535 x 4 bytes x 2^31 frames overflows 64 bits.
    const int64_t frameBytes = framePixels * (layout.bitsAllocated / 8);
    const int64_t length = pixels->getLength();
    if (length / frameBytes < frames) {
      char needed[32];
      std::snprintf(needed, sizeof needed, "%.0f", static_cast<double>(frameBytes) * static_cast<double>(frames));
      return "pixel data has " + std::to_string(length) + " bytes; " + declared + " needs " + needed;
    }
  }
  if (layout.rows > InputLimits::kMaxMatrix || layout.cols > InputLimits::kMaxMatrix) {
    return "Rows x Columns " + matrix + " is beyond any MR image (at most " + std::to_string(InputLimits::kMaxMatrix) +
           " x " + std::to_string(InputLimits::kMaxMatrix) + ")";
  }
  if (framePixels * frames > InputLimits::kMaxObjectPixels) {
    return declared + " is more than " + std::to_string(InputLimits::kMaxObjectPixels) + " pixels in one object";
  }
  return "";
}

}  // namespace torcht1::dicom
