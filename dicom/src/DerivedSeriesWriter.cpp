#include "torcht1/dicom/DerivedSeriesWriter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomUid.h"
#include "DatasetWriting.h"
#include "SourceAttributes.h"

namespace fs = std::filesystem;

namespace torcht1::dicom {

DerivedSeriesWriter::DerivedSeriesWriter(std::string programVersion, std::string method)
    : programVersion_(std::move(programVersion)), method_(std::move(method)) {}

std::vector<std::string> DerivedSeriesWriter::notInherited(const MolliSeries& source) {
  if (source.slices.empty() || source.slices.front().images.empty()) return {};
  const SourceAttributes src(source.slices.front().images.front());
  DcmDataset scratch;
  std::vector<std::string> notes = src.copy(scratch, SourceAttributes::patientAndStudy());
  for (auto& note : src.copy(scratch, SourceAttributes::mrImage())) notes.push_back(std::move(note));
  return notes;
}

std::vector<std::string> DerivedSeriesWriter::write(const MolliSeries& source, const MapSeries& map,
                                                    const std::string& dir) const {
  if (map.slices.size() != source.slices.size()) {
    throw DicomError("series " + source.seriesInstanceUid + ": " + std::to_string(map.slices.size()) +
                     " map slices for " + std::to_string(source.slices.size()) + " source slices");
  }
  const std::string seriesUid = DicomUid::fromName(map.uidName(source.seriesInstanceUid));
  const fs::path folder = fs::path(dir) / seriesUid;
  fs::create_directories(folder);
  std::vector<std::string> files;
  // One instance: slice s's map (image < 0), or the image made from slice s's source image.
  int instanceNumber = 0;
  auto writeInstance = [&](size_t s, int image, const std::vector<float>& values) {
    const MolliSlice& slice = source.slices[s];
    const DicomInstance& first = image < 0 ? slice.images.front() : slice.images[static_cast<size_t>(image)];
    const SourceAttributes src(first);
    const std::string file =
        (folder / ("MAP_" + std::to_string(s + 1) + (image < 0 ? "" : "_" + std::to_string(image + 1)) + ".dcm")).string();

    DcmFileFormat out;
    DcmDataset& ds = *out.getDataset();
    src.copy(ds, SourceAttributes::patientAndStudy());
    src.copyBodyPart(ds);
    src.copy(ds, SourceAttributes::mrImage());
    // Enhanced MR keeps geometry in functional groups, and a source may hold text the reader
    // could parse but that is not valid DICOM: what the copy did not bring comes from the
    // instance as the reader parsed it, or is stated as unknown.
    auto joined = [](const double* v, int n) {
      std::string out;
      for (int i = 0; i < n; ++i) {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%.10g", v[i]);
        out += (i ? "\\" : "") + std::string(buffer);
      }
      return out;
    };
    auto fill = [&](const DcmTagKey& tag, const std::string& value) {
      if (!ds.tagExists(tag)) put(ds, tag, value, file);
    };
    fill(DCM_ImagePositionPatient, joined(first.position.data(), 3));
    fill(DCM_ImageOrientationPatient, joined(first.orientation.data(), 6));
    fill(DCM_PixelSpacing, joined(first.spacing.data(), 2));
    fill(DCM_SliceThickness, first.sliceThickness > 0 ? joined(&first.sliceThickness, 1) : "");
    // A map in the source's frame of reference; one of its own when the source has none.
    fill(DCM_FrameOfReferenceUID, DicomUid::fromName(source.seriesInstanceUid + "/frame-of-reference"));
    // The instance's sources: the slice's images for a map, its own image otherwise.
    std::vector<const DicomInstance*> sources;
    if (image < 0) {
      for (const auto& im : slice.images) sources.push_back(&im);
      for (const auto& im : map.slices[s].alsoDerivedFrom) sources.push_back(&im);
    } else {
      sources.push_back(&first);
    }
    std::string sourceSops;
    for (const auto* im : sources) sourceSops += im->sopInstanceUid + "/" + std::to_string(im->frame);
    put(ds, DCM_SOPClassUID, UID_MRImageStorage, file);
    put(ds, DCM_SOPInstanceUID,
        DicomUid::fromName(seriesUid + "/" + std::to_string(s) + (image < 0 ? "" : "/" + std::to_string(image)) + "/" + sourceSops),
        file);
    put(ds, DCM_SeriesInstanceUID, seriesUid, file);
    put(ds, DCM_Modality, "MR", file);
    put(ds, DCM_Manufacturer, "TorchT1 node", file);
    put(ds, DCM_SoftwareVersions, programVersion_, file);
    put(ds, DCM_SeriesNumber, std::to_string(first.seriesNumber + map.seriesNumberOffset), file);
    put(ds, DCM_SeriesDescription, SourceAttributes::describe(source.description, map.description), file);
    put(ds, DCM_InstanceNumber, std::to_string(++instanceNumber), file);
    put(ds, DCM_ImageType, map.imageType, file);
    {
      // DerivationDescription is ST: at most 1024 characters.
      std::string derivation = "TorchT1 node " + programVersion_ + ": " + method_;
      if (!map.slices[s].derivationNote.empty()) derivation += "; " + map.slices[s].derivationNote;
      if (derivation.size() > 1024) derivation.resize(1024);
      put(ds, DCM_DerivationDescription, derivation, file);
    }
    // A map has neither; each is required (type 2C, may be empty) when the copied
    // acquisition says inversion recovery, resp. cardiac gating, and not allowed otherwise.
    OFString scanning, options;
    ds.findAndGetOFStringArray(DCM_ScanningSequence, scanning);
    ds.findAndGetOFStringArray(DCM_ScanOptions, options);
    // An image made from one source image keeps its inversion and trigger time.
    if (std::string(scanning.c_str()).find("IR") != std::string::npos) {
      put(ds, DCM_InversionTime, image >= 0 && first.inversionTime ? joined(&*first.inversionTime, 1) : "", file);
    }
    if (std::string(options.c_str()).find("CG") != std::string::npos && (image < 0 || !ds.tagExists(DCM_TriggerTime))) {
      put(ds, DCM_TriggerTime, "", file);
    }
    if (!ds.tagExists(DCM_RepetitionTime) && std::string(scanning.c_str()).find("EP") == std::string::npos) {
      put(ds, DCM_RepetitionTime, "", file);
    }
    put(ds, DCM_WindowCenter, std::to_string(static_cast<int>(map.windowCenter)), file);
    put(ds, DCM_WindowWidth, std::to_string(static_cast<int>(map.windowWidth)), file);
    put(ds, DCM_WindowCenterWidthExplanation, map.description + " (" + map.unit + ")", file);
    put(ds, DCM_SamplesPerPixel, "1", file);
    put(ds, DCM_PhotometricInterpretation, "MONOCHROME2", file);
    ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(source.rows));
    ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(source.cols));
    ds.putAndInsertUint16(DCM_BitsAllocated, 16);
    ds.putAndInsertUint16(DCM_BitsStored, 16);
    ds.putAndInsertUint16(DCM_HighBit, 15);
    ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
    for (const auto* im : sources) {
      DcmItem* item = nullptr;
      if (ds.findOrCreateSequenceItem(DCM_SourceImageSequence, item, -2).good() && item != nullptr) {
        item->putAndInsertString(DCM_ReferencedSOPClassUID, im->sopClassUid.c_str());
        item->putAndInsertString(DCM_ReferencedSOPInstanceUID, im->sopInstanceUid.c_str());
        if (im->frame > 0) item->putAndInsertString(DCM_ReferencedFrameNumber, std::to_string(im->frame).c_str());
      }
    }
    if (values.size() != static_cast<size_t>(source.rows) * static_cast<size_t>(source.cols)) {
      throw DicomError(file + ": map has " + std::to_string(values.size()) + " values for a " +
                       std::to_string(source.rows) + "x" + std::to_string(source.cols) + " image");
    }
    std::vector<Uint16> pixels(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      pixels[i] = static_cast<Uint16>(std::clamp(std::lround(map.scale * values[i]), 0L, 65535L));
    }
    ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), static_cast<unsigned long>(pixels.size()));
    const OFCondition saved = out.saveFile(file.c_str(), EXS_LittleEndianExplicit);
    if (saved.bad()) throw DicomError(file + ": cannot write (" + std::string(saved.text()) + ")");
    files.push_back(file);
  };
  for (size_t s = 0; s < source.slices.size(); ++s) {
    const auto& images = map.slices[s].images;
    if (images.empty()) {
      writeInstance(s, -1, map.slices[s].values);
      continue;
    }
    if (images.size() != source.slices[s].images.size()) {
      throw DicomError("series " + source.seriesInstanceUid + ", slice " + std::to_string(s + 1) + ": " +
                       std::to_string(images.size()) + " images for " + std::to_string(source.slices[s].images.size()) +
                       " source images");
    }
    for (size_t i = 0; i < images.size(); ++i) writeInstance(s, static_cast<int>(i), images[i]);
  }
  return files;
}

}  // namespace torcht1::dicom
