#include "torcht1/dicom/ParametricMapWriter.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgframeanatomy.h>
#include <dcmtk/dcmfg/fgframevoilut.h>
#include <dcmtk/dcmfg/fgparametricmapframetype.h>
#include <dcmtk/dcmfg/fgpixeltransform.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmfg/fgrealworldvaluemapping.h>
#include <dcmtk/dcmiod/iodcontentitemmacro.h>
#include <dcmtk/dcmpmap/dpmparametricmapiod.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomUid.h"
#include "DatasetWriting.h"
#include "SourceAttributes.h"

namespace fs = std::filesystem;

namespace torcht1::dicom {

namespace {

// Codes beside the map's own quantity (MapQuantity: T1, ECV).
const char* const kQuantity[] = {"246205007", "SCT", "Quantity"};
const char* const kMeasurementMethod[] = {"370129005", "SCT", "Measurement Method"};
const char* const kSourceForProcessing[] = {"121322", "DCM", "Source image for image processing operation"};
const char* const kHeart[] = {"80891009", "SCT", "Heart"};  // T1 and ECV maps of the heart

/// A decimal string (VR DS, at most 16 characters) as close to `value` as fits.
std::string decimalString(double value) {
  char buffer[32];
  for (int precision = 15; precision > 0; --precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::string(buffer).size() <= 16) break;
  }
  return buffer;
}

void check(const OFCondition& status, const std::string& file, const std::string& what) {
  if (status.bad()) throw DicomError(file + ": " + what + ": " + status.text());
}

CodeSequenceMacro* code(const char* const (&c)[3]) { return new CodeSequenceMacro(c[0], c[1], c[2]); }
CodeSequenceMacro* code(const CodedConcept& c) {
  return new CodeSequenceMacro(c.value.c_str(), c.scheme.c_str(), c.meaning.c_str());
}

/// A Quantity Definition content item: `name` = `value`, both codes.
ContentItemMacro* codedItem(const char* const (&name)[3], const CodedConcept& value) {
  auto* item = new ContentItemMacro;
  item->setValueType(ContentItemMacro::VT_CODE);
  item->getEntireConceptNameCodeSequence().push_back(code(name));
  item->getEntireConceptCodeSequence().push_back(code(value));
  return item;
}

}  // namespace

ParametricMapWriter::ParametricMapWriter(std::string programVersion, std::string method)
    : programVersion_(std::move(programVersion)), method_(std::move(method)) {}

std::vector<std::string> ParametricMapWriter::write(const MolliSeries& source, const MapSeries& map,
                                                    const std::string& dir) const {
  const std::string seriesUid = DicomUid::fromName(map.uidName(source.seriesInstanceUid, "pmap"));
  const fs::path folder = fs::path(dir) / seriesUid;
  const std::string file = (folder / "PMAP_1.dcm").string();
  if (map.slices.size() != source.slices.size() || source.slices.empty() || source.slices.size() > 65535) {
    throw DicomError(file + ": " + std::to_string(map.slices.size()) + " map slices for " +
                     std::to_string(source.slices.size()) + " source slices (1 to 65535 frames)");
  }
  fs::create_directories(folder);
  const DicomInstance& first = source.slices.front().images.front();
  const MapQuantity& q = map.quantity;
  const size_t voxels = static_cast<size_t>(source.rows) * static_cast<size_t>(source.cols);

  // The instance UID also depends on which source images went in (as the MR maps' do).
  std::string sourceSops;
  for (const auto& slice : source.slices) {
    for (const auto& image : slice.images) sourceSops += image.sopInstanceUid + "/" + std::to_string(image.frame) + ";";
  }
  for (const auto& slice : map.slices) {
    for (const auto& image : slice.alsoDerivedFrom) sourceSops += image.sopInstanceUid + "/" + std::to_string(image.frame) + ";";
  }

  // ImageType and FrameType: DERIVED\PRIMARY\<image flavour>\<derived pixel contrast>.
  std::vector<std::string> type;
  for (size_t start = 0;;) {
    const size_t end = map.imageType.find('\\', start);
    type.push_back(map.imageType.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (type.size() != 4 || type[0] != "DERIVED" || type[1] != "PRIMARY") {
    throw DicomError(file + ": image type '" + map.imageType + "' is not DERIVED\\PRIMARY\\<flavour>\\<contrast>");
  }

  auto created = DPMParametricMapIOD::create<IODFloatingPointImagePixelModule>(
      "MR", std::to_string(first.seriesNumber + map.seriesNumberOffset), "1", static_cast<Uint16>(source.rows),
      static_cast<Uint16>(source.cols),
      IODEnhGeneralEquipmentModule::EquipmentInfo("TorchT1 node", "TorchT1 node",
                                                  "0",  // software: no device serial number (type 1)
                                                  programVersion_.c_str()),
      ContentIdentificationMacro("1", q.contentLabel.c_str(), q.contentDescription.c_str(), ""),
      type[2].c_str(), type[3].c_str(), DPMTypes::CQ_RESEARCH);
  if (const OFCondition* error = OFget<OFCondition>(&created)) check(*error, file, "cannot create the parametric map");
  DPMParametricMapIOD& pmap = *OFget<DPMParametricMapIOD>(&created);

  // Identity: the source's study and frame of reference, our own deterministic series and instance.
  check(pmap.getStudy().setStudyInstanceUID(first.studyInstanceUid.c_str()), file, "Study Instance UID");
  check(pmap.getSeries().setSeriesInstanceUID(seriesUid.c_str()), file, "Series Instance UID");
  check(pmap.getSOPCommon().setSOPInstanceUID(DicomUid::fromName(seriesUid + "/1/" + sourceSops).c_str()), file,
        "SOP Instance UID");
  const std::string frameOfReference = first.frameOfReferenceUid.empty()
                                           ? DicomUid::fromName(source.seriesInstanceUid + "/frame-of-reference")
                                           : first.frameOfReferenceUid;
  check(pmap.getFrameOfReference().setFrameOfReferenceUID(frameOfReference.c_str()), file, "Frame of Reference UID");
  check(pmap.getSeries().setSeriesDescription(SourceAttributes::describe(source.description, map.description).c_str()), file,
        "Series Description");

  // Shared by every frame: what the values mean, how to show them, what they show.
  FGRealWorldValueMapping rwvm;
  auto* mapping = new FGRealWorldValueMapping::RWVMItem;
  rwvm.getRealWorldValueMapping().push_back(mapping);
  float lowest = 0, highest = 0;
  for (const auto& slice : map.slices) {
    if (slice.values.size() != voxels) {
      throw DicomError(file + ": map has " + std::to_string(slice.values.size()) + " values for a " +
                       std::to_string(source.rows) + "x" + std::to_string(source.cols) + " image");
    }
    const auto [lo, hi] = std::minmax_element(slice.values.begin(), slice.values.end());
    lowest = std::min(lowest, *lo);
    highest = std::max(highest, *hi);
  }
  check(mapping->setDoubleFloatRealWorldValueFirstValueMapped(lowest), file, "RWVM first value");
  check(mapping->setDoubleFloatRealWorldValueLastValueMapped(highest), file, "RWVM last value");
  check(mapping->setRealWorldValueSlope(1), file, "RWVM slope");
  check(mapping->setRealWorldValueIntercept(0), file, "RWVM intercept");
  check(mapping->setLUTLabel(q.name.c_str()), file, "RWVM LUT label");
  check(mapping->setLUTExplanation(q.lutExplanation.c_str()), file, "RWVM LUT explanation");
  check(mapping->getMeasurementUnitsCode().set(q.unit.value.c_str(), q.unit.scheme.c_str(), q.unit.meaning.c_str()), file,
        "RWVM unit");
  if (!q.quantity.value.empty()) {
    mapping->getEntireQuantityDefinitionSequence().push_back(codedItem(kQuantity, q.quantity));
  }
  if (!q.measurementMethod.value.empty()) {
    mapping->getEntireQuantityDefinitionSequence().push_back(codedItem(kMeasurementMethod, q.measurementMethod));
  }
  check(pmap.addForAllFrames(rwvm), file, "Real World Value Mapping");

  FGPixelValueTransformation identity;
  identity.setUseAsIdentityPixelValueTransformation();
  check(pmap.addForAllFrames(identity), file, "Identity Pixel Value Transformation");

  FGFrameVOILUT window;
  const std::string explanation = map.description + " (" + map.unit + ")";
  check(window.setCenterWidthExplanation(map.windowCenter, map.windowWidth, explanation.c_str()), file, "Window");
  check(pmap.addForAllFrames(window), file, "Frame VOI LUT");

  FGFrameAnatomy anatomy;
  check(anatomy.setLaterality(FGFrameAnatomy::LATERALITY_UNPAIRED), file, "Frame Laterality");
  check(anatomy.getAnatomy().getAnatomicRegion().set(kHeart[0], kHeart[1], kHeart[2]), file, "Anatomic Region");
  check(pmap.addForAllFrames(anatomy), file, "Frame Anatomy");

  FGParametricMapFrameType frameType;
  check(frameType.setFrameType(map.imageType.c_str()), file, "Frame Type");
  check(pmap.addForAllFrames(frameType), file, "Parametric Map Frame Type");

  // One dimension: the slice position.
  check(pmap.getIODMultiframeDimensionModule().addDimensionIndex(
            DCM_ImagePositionPatient, DicomUid::fromName(seriesUid + "/dimension-organization").c_str(),
            DCM_PlanePositionSequence, "Slice position"),
        file, "Dimension Index");

  // One frame per slice, with its geometry and its source images.
  DPMParametricMapIOD::FramesType frames = pmap.getFrames();
  auto* typed = OFget<DPMParametricMapIOD::Frames<Float32>>(&frames);
  if (typed == nullptr) throw DicomError(file + ": the parametric map holds no float frames");
  for (size_t s = 0; s < source.slices.size(); ++s) {
    const MolliSlice& slice = source.slices[s];
    const DicomInstance& image = slice.images.front();
    FGPlanePosPatient position;
    check(position.setImagePositionPatient(decimalString(image.position[0]).c_str(),
                                           decimalString(image.position[1]).c_str(),
                                           decimalString(image.position[2]).c_str()),
          file, "Image Position (Patient)");
    FGPlaneOrientationPatient orientation;
    const auto& o = image.orientation;
    check(orientation.setImageOrientationPatient(decimalString(o[0]).c_str(), decimalString(o[1]).c_str(),
                                                 decimalString(o[2]).c_str(), decimalString(o[3]).c_str(),
                                                 decimalString(o[4]).c_str(), decimalString(o[5]).c_str()),
          file, "Image Orientation (Patient)");
    FGPixelMeasures measures;
    check(measures.setPixelSpacing((decimalString(image.spacing[0]) + "\\" + decimalString(image.spacing[1])).c_str()),
          file, "Pixel Spacing");
    if (image.sliceThickness > 0) {
      check(measures.setSliceThickness(decimalString(image.sliceThickness).c_str()), file, "Slice Thickness");
    }
    FGFrameContent content;
    check(content.setDimensionIndexValues(static_cast<Uint32>(s + 1), 0), file, "Dimension Index Values");
    FGDerivationImage derivation;
    DerivationImageItem* derived = nullptr;
    // DerivationDescription is ST: at most 1024 characters.
    std::string described = "TorchT1 node " + programVersion_ + ": " + method_;
    if (!map.slices[s].derivationNote.empty()) described += "; " + map.slices[s].derivationNote;
    if (described.size() > 1024) described.resize(1024);
    check(derivation.addDerivationImageItem(
              CodeSequenceMacro(q.derivation.value.c_str(), q.derivation.scheme.c_str(), q.derivation.meaning.c_str()),
              described.c_str(), derived),
          file, "Derivation Image");
    // The slice's source images, and those of a paired series (ECV: the post-contrast slice).
    std::vector<const DicomInstance*> sources;
    for (const auto& image : slice.images) sources.push_back(&image);
    for (const auto& image : map.slices[s].alsoDerivedFrom) sources.push_back(&image);
    for (const DicomInstance* sourceImage : sources) {
      auto item = std::make_unique<SourceImageItem>();
      ImageSOPInstanceReferenceMacro& reference = item->getImageSOPInstanceReference();
      check(reference.setReferencedSOPClassUID(sourceImage->sopClassUid.c_str()), file, "Referenced SOP Class UID");
      check(reference.setReferencedSOPInstanceUID(sourceImage->sopInstanceUid.c_str()), file,
            "Referenced SOP Instance UID");
      if (sourceImage->frame > 0) {
        check(reference.addReferencedFrameNumber(static_cast<Uint16>(sourceImage->frame)), file, "Referenced Frame Number");
      }
      check(item->getPurposeOfReferenceCode().set(kSourceForProcessing[0], kSourceForProcessing[1],
                                                  kSourceForProcessing[2]),
            file, "Purpose of Reference");
      derived->getSourceImageItems().push_back(item.release());
    }
    std::vector<Float32> values(map.slices[s].values.begin(), map.slices[s].values.end());
    const OFVector<FGBase*> groups = {&position, &orientation, &measures, &content, &derivation};
    check(typed->addFrame(values.data(), values.size(), groups), file, "frame " + std::to_string(s + 1));
  }

  // The source series and its images, for the Common Instance Reference module.
  IODReferences references;
  std::vector<const DicomInstance*> referenced;
  for (const auto& slice : source.slices) {
    for (const auto& image : slice.images) referenced.push_back(&image);
  }
  for (const auto& slice : map.slices) {
    for (const auto& image : slice.alsoDerivedFrom) referenced.push_back(&image);
  }
  for (const DicomInstance* image : referenced) {
    auto reference = std::make_unique<IODImageReference>("", image->studyInstanceUid.c_str(),
                                                         image->seriesInstanceUid.c_str(),
                                                         image->sopInstanceUid.c_str(), image->sopClassUid.c_str());
    if (!references.add(reference.get())) throw DicomError(file + ": cannot reference " + image->name());
    reference.release();  // owned by `references` now
  }
  pmap.getIODCommonInstanceReferenceModule().addReferences(references, first.studyInstanceUid.c_str());

  DcmFileFormat out;
  DcmDataset& ds = *out.getDataset();
  check(pmap.writeDataset(ds), file, "cannot encode the parametric map");

  // Patient and study as the source has them (the IOD wrote empty type 2 attributes).
  const SourceAttributes src(first);
  src.copy(ds, SourceAttributes::patientAndStudy());
  src.copyBodyPart(ds, /*frameLaterality=*/true);
  static const std::vector<SourceAttributes::Rule> kFrameOfReference = {
      {DCM_PositionReferenceIndicator, SourceAttributes::Type::Present}};
  src.copy(ds, kFrameOfReference);
  put(ds, DCM_Manufacturer, "TorchT1 node", file);
  put(ds, DCM_SoftwareVersions, programVersion_, file);

  const OFCondition saved = out.saveFile(file.c_str(), EXS_LittleEndianExplicit);
  if (saved.bad()) throw DicomError(file + ": cannot write (" + std::string(saved.text()) + ")");
  return {file};
}

}  // namespace torcht1::dicom
