#include "torcht1/dicom/ColourMapWriter.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomUid.h"
#include "DatasetWriting.h"
#include "SourceAttributes.h"

namespace fs = std::filesystem;

namespace torcht1::dicom {

namespace {

// viridis (matplotlib) at nine evenly spaced points; linear in between.
constexpr uint8_t kViridis[9][3] = {{68, 1, 84},    {72, 40, 120},  {62, 73, 137},  {49, 104, 142}, {38, 130, 142},
                                    {31, 158, 137}, {53, 183, 121}, {109, 205, 89}, {253, 231, 37}};

// 3x5 digits for the bar's labels, one row per 3-bit line (top to bottom).
constexpr uint8_t kDigits[10][5] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
                                    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};

}  // namespace

ColourMapWriter::ColourMapWriter(std::string programVersion) : programVersion_(std::move(programVersion)) {}

std::array<uint8_t, 3> ColourMapWriter::viridis(double fraction) {
  const double x = std::clamp(fraction, 0.0, 1.0) * 8.0;
  const int i = std::min(7, static_cast<int>(x));
  const double f = x - i;
  std::array<uint8_t, 3> rgb{};
  for (int c = 0; c < 3; ++c) {
    rgb[c] = static_cast<uint8_t>(std::lround(kViridis[i][c] + f * (kViridis[i + 1][c] - kViridis[i][c])));
  }
  return rgb;
}

std::vector<std::string> ColourMapWriter::write(const MolliSeries& source, const MapSeries& map,
                                                const std::string& dir) const {
  const double lo = map.windowCenter - map.windowWidth / 2, hi = map.windowCenter + map.windowWidth / 2;
  const std::string seriesUid = DicomUid::fromName(map.uidName(source.seriesInstanceUid, "colour"));
  const fs::path folder = fs::path(dir) / seriesUid;
  fs::create_directories(folder);
  const int rows = source.rows, cols = source.cols;
  const int scale = std::max(1, rows / 64);               // label pixels per font pixel
  const int barWidth = std::max(8, cols / 16);
  const int labelWidth = 4 * 4 * scale + 2;               // up to 4 digits of 3 + 1 spacing
  const int width = cols + 4 + barWidth + 2 + labelWidth;  // image, gap, bar, gap, labels
  std::vector<std::string> files;
  for (size_t s = 0; s < source.slices.size(); ++s) {
    const DicomInstance& first = source.slices[s].images.front();
    const std::string file = (folder / ("COLOUR_" + std::to_string(s + 1) + ".dcm")).string();
    std::vector<uint8_t> rgb(static_cast<size_t>(rows) * width * 3, 0);
    auto set = [&](int r, int c, const std::array<uint8_t, 3>& colour) {
      if (r < 0 || r >= rows || c < 0 || c >= width) return;
      std::copy(colour.begin(), colour.end(), rgb.begin() + (static_cast<size_t>(r) * width + c) * 3);
    };
    const auto& values = map.slices[s].values;
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        const float v = values[static_cast<size_t>(r) * cols + c];
        if (v > 0) set(r, c, viridis((v - lo) / (hi - lo)));
      }
    }
    // The bar: hi at the top, lo at the bottom, labelled at both ends and the middle.
    const int barLeft = cols + 4;
    for (int r = 0; r < rows; ++r) {
      const auto colour = viridis(1.0 - static_cast<double>(r) / std::max(1, rows - 1));
      for (int c = barLeft; c < barLeft + barWidth; ++c) set(r, c, colour);
    }
    auto label = [&](double value, int top) {
      const std::string digits = std::to_string(static_cast<long>(std::lround(value)));
      int left = barLeft + barWidth + 2;
      for (char d : digits) {
        if (d < '0' || d > '9') continue;
        for (int y = 0; y < 5; ++y) {
          for (int x = 0; x < 3; ++x) {
            if (!((kDigits[d - '0'][y] >> (2 - x)) & 1)) continue;
            for (int dy = 0; dy < scale; ++dy) {
              for (int dx = 0; dx < scale; ++dx) set(top + y * scale + dy, left + x * scale + dx, {255, 255, 255});
            }
          }
        }
        left += 4 * scale;
      }
    };
    label(hi, 0);
    label((lo + hi) / 2, rows / 2 - 5 * scale / 2);
    label(lo, rows - 5 * scale);

    const SourceAttributes src(first);
    DcmFileFormat out;
    DcmDataset& ds = *out.getDataset();
    src.copy(ds, SourceAttributes::patientAndStudy());
    src.copyBodyPart(ds);
    put(ds, DCM_SOPClassUID, UID_SecondaryCaptureImageStorage, file);
    put(ds, DCM_SOPInstanceUID, DicomUid::fromName(seriesUid + "/" + std::to_string(s)), file);
    put(ds, DCM_SeriesInstanceUID, seriesUid, file);
    put(ds, DCM_Modality, "MR", file);
    put(ds, DCM_ConversionType, "WSD", file);
    put(ds, DCM_Manufacturer, "TorchT1 node", file);
    put(ds, DCM_SoftwareVersions, programVersion_, file);
    put(ds, DCM_SeriesNumber, std::to_string(first.seriesNumber + map.seriesNumberOffset), file);
    put(ds, DCM_SeriesDescription,
        SourceAttributes::describe(source.description, map.description + " colour " + std::to_string(std::lround(lo)) + "-" +
                                         std::to_string(std::lround(hi)) + " " + map.unit),
        file);
    put(ds, DCM_InstanceNumber, std::to_string(s + 1), file);
    put(ds, DCM_PatientOrientation, "", file);
    put(ds, DCM_ImageType, map.quantity.colourImageType, file);
    put(ds, DCM_DerivationDescription, "TorchT1 node " + programVersion_ + ": " + map.quantity.name + " map in viridis, " +
                                           std::to_string(std::lround(lo)) + " to " + std::to_string(std::lround(hi)) +
                                           " " + map.unit + ", invalid voxels black, colour bar burnt in", file);
    put(ds, DCM_BurnedInAnnotation, "YES", file);
    put(ds, DCM_SamplesPerPixel, "3", file);
    put(ds, DCM_PhotometricInterpretation, "RGB", file);
    ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
    ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(rows));
    ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(width));
    ds.putAndInsertUint16(DCM_BitsAllocated, 8);
    ds.putAndInsertUint16(DCM_BitsStored, 8);
    ds.putAndInsertUint16(DCM_HighBit, 7);
    ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
    ds.putAndInsertUint8Array(DCM_PixelData, rgb.data(), static_cast<unsigned long>(rgb.size()));
    const OFCondition saved = out.saveFile(file.c_str(), EXS_LittleEndianExplicit);
    if (saved.bad()) throw DicomError(file + ": cannot write (" + std::string(saved.text()) + ")");
    files.push_back(file);
  }
  return files;
}

}  // namespace torcht1::dicom
