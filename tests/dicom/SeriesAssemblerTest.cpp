#include <gtest/gtest.h>

#include "torcht1/dicom/SeriesAssembler.h"

namespace torcht1 {
namespace {

using dicom::DicomInstance;

/// A well-formed MOLLI series: `slices` x 8 images, 128x128, axial, 10 mm apart.
std::vector<DicomInstance> molli(const std::string& series, int slices = 2) {
  std::vector<DicomInstance> out;
  const double times[8] = {100, 180, 1100, 1180, 2100, 2180, 3100, 4100};
  for (int s = 0; s < slices; ++s) {
    for (int i = 0; i < 8; ++i) {
      DicomInstance d;
      d.path = "/in/" + series + "_" + std::to_string(s) + "_" + std::to_string(i);
      d.sopClassUid = "1.2.840.10008.5.1.4.1.1.4";
      d.sopInstanceUid = "1.2.3." + series + "." + std::to_string(s) + "." + std::to_string(i);
      d.seriesInstanceUid = series;
      d.modality = "MR";
      d.imageType = "ORIGINAL\\PRIMARY\\M\\ND";
      d.seriesDescription = "MOLLI 5(3)3";
      d.rows = d.cols = 128;
      d.hasPixelData = d.hasGeometry = true;
      d.orientation = {1, 0, 0, 0, 1, 0};
      d.position = {-100, -100, 10.0 * s};
      d.spacing = {1.5, 1.5};
      d.inversionTime = times[(i * 3) % 8];  // arrival order is not TI order
      out.push_back(d);
    }
  }
  return out;
}

dicom::SeriesAssembler::Result assemble(const std::vector<DicomInstance>& in) {
  return dicom::SeriesAssembler(dicom::SeriesSelection{}).assemble(in);
}

void expectRejected(std::vector<DicomInstance> in, const std::string& reason) {
  const auto r = assemble(in);
  ASSERT_EQ(r.series.size(), 0u) << "expected rejection: " << reason;
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_NE(r.rejected[0].reason.find(reason), std::string::npos) << r.rejected[0].reason;
  EXPECT_EQ(r.rejected[0].reason.find('\n'), std::string::npos);
}

TEST(SeriesAssembler, GroupsSlicesAndSortsByInversionTime) {
  auto in = molli("1.1", 3);
  std::reverse(in.begin(), in.end());
  const auto r = assemble(in);
  ASSERT_EQ(r.series.size(), 1u);
  ASSERT_EQ(r.series[0].slices.size(), 3u);
  for (size_t s = 0; s < 3; ++s) {
    const auto t = r.series[0].slices[s].inversionTimes();
    EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
    EXPECT_EQ(t.size(), 8u);
    EXPECT_DOUBLE_EQ(r.series[0].slices[s].images[0].position[2], 10.0 * s) << "slices along the normal";
  }
  EXPECT_FALSE(r.series[0].postContrast);
}

TEST(SeriesAssembler, SeparatesSeriesAndDetectsPostContrast) {
  auto a = molli("1.1"), b = molli("1.2");
  for (auto& d : b) d.contrastBolusAgent = "Gadobutrol";
  a.insert(a.end(), b.begin(), b.end());
  const auto r = assemble(a);
  ASSERT_EQ(r.series.size(), 2u);
  EXPECT_TRUE(r.series[1].postContrast);
  auto c = molli("1.3");
  for (auto& d : c) d.seriesDescription = "MOLLI post Gd";
  EXPECT_TRUE(assemble(c).series[0].postContrast);
}

TEST(SeriesAssembler, FramesOfOneEnhancedObjectAreImages) {
  auto frames = molli("1.1");
  for (size_t k = 0; k < frames.size(); ++k) {
    frames[k].sopClassUid = "1.2.840.10008.5.1.4.1.1.4.1";
    frames[k].sopInstanceUid = "1.2.3.9";  // one object
    frames[k].frame = static_cast<int>(k) + 1;
  }
  const auto r = assemble(frames);
  ASSERT_EQ(r.series.size(), 1u) << (r.rejected.empty() ? "" : r.rejected[0].reason);
  EXPECT_EQ(r.series[0].slices.size(), 2u);
  frames[3].frame = frames[2].frame;
  expectRejected(frames, "appears in more than one file");
}

TEST(SeriesAssembler, SubmillimetreJitterIsOneSlice) {
  auto in = molli("1.1", 1);
  in[3].position[2] += 0.2;
  EXPECT_EQ(assemble(in).series[0].slices.size(), 1u);
}

TEST(SeriesAssembler, RejectsWithReasons) {
  auto notMr = molli("1.1");
  for (auto& d : notMr) d.modality = "CT";
  expectRejected(notMr, "not MR (modality 'CT')");

  auto derived = molli("1.1");
  for (auto& d : derived) d.imageType = "DERIVED\\PRIMARY\\T1 MAP";
  expectRejected(derived, "a derived series");

  auto phase = molli("1.1");
  for (auto& d : phase) d.imageType = "ORIGINAL\\PRIMARY\\P\\ND";
  expectRejected(phase, "phase images");

  auto other = molli("1.1");
  for (auto& d : other) d.sopClassUid = "1.2.840.10008.5.1.4.1.1.7";
  expectRejected(other, "is not MR or Enhanced MR Image Storage");

  auto noPixels = molli("1.1");
  noPixels[5].hasPixelData = false;
  expectRejected(noPixels, "/in/1.1_0_5 has no pixel data");

  auto mixed = molli("1.1");
  mixed[9].rows = 256;
  expectRejected(mixed, "mixed matrix sizes (128x128 and 256x128)");

  auto noTi = molli("1.1");
  noTi[2].inversionTime.reset();
  expectRejected(noTi, "/in/1.1_0_2 has no inversion time");

  auto duplicateUid = molli("1.1");
  duplicateUid[4].sopInstanceUid = duplicateUid[3].sopInstanceUid;
  expectRejected(duplicateUid, "appears in more than one file");

  auto duplicateTi = molli("1.1");
  duplicateTi[4].inversionTime = *duplicateTi[3].inversionTime;
  expectRejected(duplicateTi, "has two images at TI");

  auto fewTi = molli("1.1", 1);
  fewTi.resize(4);
  expectRejected(fewTi, "slice 1 has 4 inversion times; at least 5 are needed");

  auto cine = molli("1.1");
  for (auto& d : cine) d.seriesDescription = d.protocolName = "cine SAX";
  expectRejected(cine, "does not match the T1 pattern");

  auto tilted = molli("1.1");
  tilted[10].orientation = {0, 1, 0, 0, 0, 1};
  expectRejected(tilted, "mixed image orientations");
}

TEST(SeriesAssembler, ARejectedSeriesDoesNotStopTheOthers) {
  auto good = molli("1.1"), bad = molli("1.2");
  for (auto& d : bad) d.modality = "CT";
  bad.insert(bad.end(), good.begin(), good.end());
  const auto r = assemble(bad);
  EXPECT_EQ(r.series.size(), 1u);
  EXPECT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].seriesInstanceUid, "1.2");
}

}  // namespace
}  // namespace torcht1
