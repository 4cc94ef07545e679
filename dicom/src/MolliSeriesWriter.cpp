#include "torcht1/dicom/MolliSeriesWriter.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/DicomUid.h"
#include "DatasetWriting.h"

namespace fs = std::filesystem;

namespace torcht1::dicom {

namespace {

// Oblique short-axis plane: orthonormal row and column directions and their normal.
constexpr double kRow[3] = {0.8, 0.6, 0.0};
constexpr double kColumn[3] = {-0.36, 0.48, -0.8};
constexpr double kNormal[3] = {-0.48, 0.64, 0.6};
constexpr double kFieldOfView = 360.0;     // mm
constexpr double kSliceDistance = 10.0;    // mm, centre to centre
constexpr double kSliceThickness = 8.0;    // mm

std::string decimal(double value, int precision = 6) {
  std::ostringstream out;
  out << std::setprecision(precision) << value;
  return out.str();
}

std::string backslashJoin(const std::vector<double>& values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i) s += (i ? "\\" : "") + decimal(values[i], 10);
  return s;
}

}  // namespace

MolliSeriesWriter::MolliSeriesWriter(phantom::PhantomOptions options, std::string studyName, PixelEncoding encoding,
                                     bool enhanced)
    : options_(std::move(options)), studyName_(std::move(studyName)), encoding_(encoding), enhanced_(enhanced) {
  if (encoding_.bitsStored != 8 && encoding_.bitsStored != 12 && encoding_.bitsStored != 16) {
    throw std::invalid_argument("bits stored must be 8, 12 or 16");
  }
  if (!(encoding_.rescaleSlope > 0)) throw std::invalid_argument("rescale slope must be > 0");
}

WrittenStudy MolliSeriesWriter::write(const phantom::Phantom& ph, const std::string& dir) const {
  fs::create_directories(dir);
  const std::string key = studyName_ + "/seed=" + std::to_string(options_.seed);
  WrittenStudy written;
  written.studyInstanceUid = DicomUid::fromName(key + "/study");
  // A native and a post-contrast phantom of one seed are two series of one study (an ECV
  // pair): the post-contrast one has its own series and image UIDs, a later series number
  // and is acquired 15 minutes later.
  const std::string seriesKey = options_.postContrast ? key + "/post" : key;
  written.seriesInstanceUid = DicomUid::fromName(seriesKey + "/series");
  const std::string frameOfReference = DicomUid::fromName(key + "/frame-of-reference");

  char date[16], clock[16];
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::strftime(date, sizeof date, "%Y%m%d", &local);
  std::strftime(clock, sizeof clock, "%H%M%S", &local);
  char seriesDate[16], seriesClock[16];
  const std::time_t acquired = now + (options_.postContrast ? 15 * 60 : 0);
  std::tm acquiredLocal{};
  localtime_r(&acquired, &acquiredLocal);
  std::strftime(seriesDate, sizeof seriesDate, "%Y%m%d", &acquiredLocal);
  std::strftime(seriesClock, sizeof seriesClock, "%H%M%S", &acquiredLocal);

  const double spacing = ph.pixelSpacingMm > 0 ? ph.pixelSpacingMm : kFieldOfView / static_cast<double>(ph.cols);
  const int64_t voxels = ph.voxelsPerSlice();
  const std::string description = std::string(ph.scheme == "5(1)1(1)1" ? "ShMOLLI " : "MOLLI ") + ph.scheme + (options_.postContrast ? " post-contrast" : " native") +
                                  " (TorchT1 phantom)";
  const int bitsAllocated = encoding_.bitsStored == 8 ? 8 : 16;
  const long maxStored = encoding_.isSigned ? (1L << (encoding_.bitsStored - 1)) - 1 : (1L << encoding_.bitsStored) - 1;
  const long minStored = encoding_.isSigned ? -(1L << (encoding_.bitsStored - 1)) : 0;
  std::vector<long> stored(static_cast<size_t>(voxels));
  int instance = 0;
  // Enhanced mode: one object, frames appended in slice then inversion-time order.
  DcmFileFormat enhancedFile;
  std::vector<Uint16> enhancedPixels;
  const std::string enhancedPath = (fs::path(dir) / "ENHANCED_MOLLI.dcm").string();
  for (int64_t s = 0; s < ph.slices; ++s) {
    // Slices stacked along the normal, centred on the origin.
    const double offset = (static_cast<double>(s) - 0.5 * static_cast<double>(ph.slices - 1)) * kSliceDistance;
    std::vector<double> position(3);
    for (int k = 0; k < 3; ++k) {
      position[k] = offset * kNormal[k] - 0.5 * spacing * static_cast<double>(ph.cols) * (kRow[k] + kColumn[k]);
    }
    for (int64_t i = 0; i < ph.samples; ++i) {
      ++instance;
      const double ti = ph.times[s * ph.samples + i];
      const std::string file = (fs::path(dir) / ("IM_" + std::to_string(s + 1) + "_" + std::to_string(i + 1) + ".dcm")).string();
      DcmFileFormat format;
      DcmDataset& ds = *format.getDataset();
      const std::string sop = DicomUid::fromName(seriesKey + "/image/" + std::to_string(s) + "/" + std::to_string(i));
      put(ds, DCM_SpecificCharacterSet, "ISO_IR 100", file);
      put(ds, DCM_SOPClassUID, enhanced_ ? UID_EnhancedMRImageStorage : UID_MRImageStorage, file);
      put(ds, DCM_SOPInstanceUID, sop, file);
      put(ds, DCM_StudyDate, date, file);
      put(ds, DCM_StudyTime, clock, file);
      put(ds, DCM_SeriesDate, seriesDate, file);
      put(ds, DCM_SeriesTime, seriesClock, file);
      put(ds, DCM_ContentDate, seriesDate, file);
      put(ds, DCM_ContentTime, seriesClock, file);
      put(ds, DCM_AccessionNumber, "TT1A" + std::to_string(options_.seed), file);  // a POST /api/hematocrit key
      put(ds, DCM_Modality, "MR", file);
      put(ds, DCM_BodyPartExamined, "HEART", file);
      put(ds, DCM_PatientPosition, "HFS", file);
      put(ds, DCM_Manufacturer, "TorchT1 phantom", file);
      put(ds, DCM_ReferringPhysicianName, "", file);
      put(ds, DCM_StudyDescription, "TorchT1 MOLLI phantom", file);
      put(ds, DCM_SeriesDescription, description, file);
      put(ds, DCM_ProtocolName, "MOLLI " + ph.scheme, file);
      put(ds, DCM_PatientName, "TorchT1^Phantom", file);
      put(ds, DCM_PatientID, "TT1-" + std::to_string(options_.seed), file);
      put(ds, DCM_PatientBirthDate, "", file);
      put(ds, DCM_PatientSex, "O", file);
      put(ds, DCM_StudyInstanceUID, written.studyInstanceUid, file);
      put(ds, DCM_SeriesInstanceUID, written.seriesInstanceUid, file);
      put(ds, DCM_StudyID, "1", file);
      put(ds, DCM_SeriesNumber, options_.postContrast ? "7" : "5", file);
      // One acquisition made the whole series: a receiver knows how many images to expect.
      put(ds, DCM_AcquisitionNumber, "1", file);
      put(ds, DCM_ImagesInAcquisition, std::to_string(ph.slices * ph.samples), file);
      put(ds, DCM_InstanceNumber, std::to_string(instance), file);
      put(ds, DCM_FrameOfReferenceUID, frameOfReference, file);
      put(ds, DCM_PositionReferenceIndicator, "", file);
      put(ds, DCM_ImageType, "ORIGINAL\\PRIMARY\\M\\ND", file);
      // MR Image module: an inversion-recovery gradient-echo (bSSFP readout) sequence.
      put(ds, DCM_ScanningSequence, "GR\\IR", file);
      put(ds, DCM_SequenceVariant, "SP\\MP", file);
      put(ds, DCM_ScanOptions, "CG", file);  // cardiac gating: TriggerTime applies
      put(ds, DCM_MRAcquisitionType, "2D", file);
      put(ds, DCM_RepetitionTime, "2.7", file);
      put(ds, DCM_EchoTime, "1.1", file);
      put(ds, DCM_EchoTrainLength, "1", file);
      put(ds, DCM_InversionTime, decimal(ti, 10), file);
      put(ds, DCM_TriggerTime, decimal(std::fmod(ti, 60000.0 / options_.heartRate)), file);
      put(ds, DCM_FlipAngle, "35", file);
      if (options_.postContrast) put(ds, DCM_ContrastBolusAgent, "Gadobutrol", file);
      put(ds, DCM_MagneticFieldStrength, "1.5", file);
      put(ds, DCM_ImageComments, "TI " + decimal(std::round(ti)), file);
      put(ds, DCM_SliceThickness, decimal(kSliceThickness), file);
      put(ds, DCM_SpacingBetweenSlices, decimal(kSliceDistance), file);
      put(ds, DCM_PixelSpacing, backslashJoin({spacing, spacing}), file);
      put(ds, DCM_ImageOrientationPatient,
          backslashJoin({kRow[0], kRow[1], kRow[2], kColumn[0], kColumn[1], kColumn[2]}), file);
      put(ds, DCM_ImagePositionPatient, backslashJoin(position), file);
      put(ds, DCM_SliceLocation, decimal(offset), file);
      put(ds, DCM_SamplesPerPixel, "1", file);
      put(ds, DCM_PhotometricInterpretation, "MONOCHROME2", file);
      ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(ph.rows));
      ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(ph.cols));
      ds.putAndInsertUint16(DCM_BitsAllocated, static_cast<Uint16>(bitsAllocated));
      ds.putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(encoding_.bitsStored));
      ds.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(encoding_.bitsStored - 1));
      ds.putAndInsertUint16(DCM_PixelRepresentation, encoding_.isSigned ? 1 : 0);
      if (encoding_.writeRescale()) {
        put(ds, DCM_RescaleSlope, decimal(encoding_.rescaleSlope, 10), file);
        put(ds, DCM_RescaleIntercept, decimal(encoding_.rescaleIntercept, 10), file);
        put(ds, DCM_RescaleType, "US", file);
      }
      const float* image = &ph.pixels[(s * ph.samples + i) * voxels];
      for (int64_t v = 0; v < voxels; ++v) {
        const double value = (image[v] - encoding_.rescaleIntercept) / encoding_.rescaleSlope;
        stored[v] = std::clamp(std::lround(value), minStored, maxStored);
      }
      if (enhanced_) {
        // The frame's functional groups; the first frame's dataset becomes the object.
        DcmDataset& target = *enhancedFile.getDataset();
        if (s == 0 && i == 0) {
          target = ds;
          target.findAndDeleteElement(DCM_PixelData);
          for (const auto& tag : {DCM_ImagePositionPatient, DCM_ImageOrientationPatient, DCM_PixelSpacing,
                                  DCM_SliceThickness, DCM_InversionTime, DCM_TriggerTime, DCM_SliceLocation,
                                  DCM_ImageComments, DCM_InstanceNumber}) {
            target.findAndDeleteElement(tag);
          }
          put(target, DCM_SOPInstanceUID, DicomUid::fromName(key + "/enhanced"), enhancedPath);
          put(target, DCM_InstanceNumber, "1", enhancedPath);
          put(target, DCM_NumberOfFrames, std::to_string(ph.slices * ph.samples), enhancedPath);
          DcmItem* shared = nullptr;
          target.findOrCreateSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
          DcmItem* measures = nullptr;
          shared->findOrCreateSequenceItem(DCM_PixelMeasuresSequence, measures, 0);
          measures->putAndInsertString(DCM_PixelSpacing, backslashJoin({spacing, spacing}).c_str());
          measures->putAndInsertString(DCM_SliceThickness, decimal(kSliceThickness).c_str());
          DcmItem* plane = nullptr;
          shared->findOrCreateSequenceItem(DCM_PlaneOrientationSequence, plane, 0);
          plane->putAndInsertString(DCM_ImageOrientationPatient,
                                    backslashJoin({kRow[0], kRow[1], kRow[2], kColumn[0], kColumn[1], kColumn[2]}).c_str());
        }
        DcmItem* frame = nullptr;
        target.findOrCreateSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, -2);
        DcmItem* item = nullptr;
        frame->findOrCreateSequenceItem(DCM_PlanePositionSequence, item, 0);
        item->putAndInsertString(DCM_ImagePositionPatient, backslashJoin(position).c_str());
        frame->findOrCreateSequenceItem(DCM_MRTimingAndRelatedParametersSequence, item, 0);
        item->putAndInsertFloat64(DCM_InversionTimes, ti);
        frame->findOrCreateSequenceItem(DCM_MRImageFrameTypeSequence, item, 0);
        item->putAndInsertString(DCM_FrameType, "ORIGINAL\\PRIMARY\\M\\NONE");
        frame->findOrCreateSequenceItem(DCM_FrameContentSequence, item, 0);
        item->putAndInsertString(DCM_InStackPositionNumber, std::to_string(s + 1).c_str());
        item->putAndInsertString(DCM_TemporalPositionIndex, std::to_string(i + 1).c_str());
        for (long v : stored) enhancedPixels.push_back(static_cast<Uint16>(v & 0xffff));
        continue;
      }
      if (bitsAllocated == 8) {
        std::vector<Uint8> bytes(stored.begin(), stored.end());  // two's complement when signed
        ds.putAndInsertUint8Array(DCM_PixelData, bytes.data(), static_cast<unsigned long>(voxels));
      } else {
        std::vector<Uint16> words(stored.size());
        for (size_t k = 0; k < stored.size(); ++k) words[k] = static_cast<Uint16>(stored[k] & 0xffff);
        ds.putAndInsertUint16Array(DCM_PixelData, words.data(), static_cast<unsigned long>(voxels));
      }
      const OFCondition saved = format.saveFile(file.c_str(), EXS_LittleEndianExplicit);
      if (saved.bad()) throw std::runtime_error(file + ": cannot write: " + saved.text());
      written.files.push_back(file);
    }
  }

  if (enhanced_) {
    if (bitsAllocated == 8) throw std::invalid_argument("the Enhanced MR writer stores 12 or 16 bits");
    DcmDataset& target = *enhancedFile.getDataset();
    target.putAndInsertUint16Array(DCM_PixelData, enhancedPixels.data(), static_cast<unsigned long>(enhancedPixels.size()));
    const OFCondition saved = enhancedFile.saveFile(enhancedPath.c_str(), EXS_LittleEndianExplicit);
    if (saved.bad()) throw std::runtime_error(enhancedPath + ": cannot write: " + saved.text());
    written.files.push_back(enhancedPath);
  }

  // Ground truth beside the images.
  written.truthDir = (fs::path(dir) / "truth").string();
  fs::create_directories(written.truthDir);
  auto writeRaw = [&](const std::string& name, const void* data, size_t bytes) {
    std::ofstream out(fs::path(written.truthDir) / name, std::ios::binary);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    if (!out) throw std::runtime_error((fs::path(written.truthDir) / name).string() + ": cannot write");
  };
  writeRaw("t1.f32", ph.t1.data(), ph.t1.size() * sizeof(float));
  writeRaw("labels.u8", ph.labels.data(), ph.labels.size());
  if (!ph.ecv.empty()) writeRaw("ecv.f32", ph.ecv.data(), ph.ecv.size() * sizeof(float));
  if (!ph.purity.empty()) writeRaw("purity.f32", ph.purity.data(), ph.purity.size() * sizeof(float));
  std::ofstream json(fs::path(written.truthDir) / "truth.json");
  json << "{\"slices\": " << ph.slices << ", \"rows\": " << ph.rows << ", \"cols\": " << ph.cols
       << ", \"samples\": " << ph.samples << ", \"scheme\": \"" << ph.scheme << "\", \"post_contrast\": "
       << (options_.postContrast ? "true" : "false") << ", \"snr\": " << options_.snr
       << ", \"noise_sigma\": " << ph.noiseSigma << ", \"series_instance_uid\": \"" << written.seriesInstanceUid
       << "\", \"t1_file\": \"t1.f32\", \"labels_file\": \"labels.u8\", \"labels\": {\"0\": \"background\", "
          "\"1\": \"blood\", \"2\": \"myocardium\", \"3\": \"liver\", \"4\": \"muscle\", \"5\": \"fat\", \"6\": "
          "\"lung\"}, \"inversion_times_ms\": [";
  for (int64_t s = 0; s < ph.slices; ++s) {
    json << (s ? ", " : "") << "[";
    for (int64_t i = 0; i < ph.samples; ++i) json << (i ? ", " : "") << ph.times[s * ph.samples + i];
    json << "]";
  }
  json << "], \"motion_mm\": {\"drift\": " << options_.motionMm << ", \"gasp\": " << options_.gaspMm
       << ", \"warp\": " << options_.warpMm
       << "}, \"hematocrit\": " << ph.hematocrit << ", \"ecv_file\": \"" << (ph.ecv.empty() ? "" : "ecv.f32")
       << "\", \"pose\": {\"shift_x_mm\": " << options_.poseShiftXMm << ", \"shift_y_mm\": " << options_.poseShiftYMm
       << ", \"rotation_deg\": " << options_.poseRotationDeg << "}, \"partial_volume\": " << options_.partialVolume
       << ", \"purity_file\": \"purity.f32\""
       << ", \"truth_position\": \"each slice's key image (its longest inversion time)\", "
          "\"true_displacement_mm\": [";
  for (int64_t s = 0; s < ph.slices; ++s) {
    json << (s ? ", " : "") << "[";
    for (int64_t i = 0; i < ph.samples; ++i) {
      json << (i ? ", " : "") << (ph.trueDisplacementMm.empty() ? 0.0f : ph.trueDisplacementMm[s * ph.samples + i]);
    }
    json << "]";
  }
  json << "]}\n";
  if (!json) throw std::runtime_error(written.truthDir + "/truth.json: cannot write");
  return written;
}

}  // namespace torcht1::dicom
