#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "Dciodvfy.h"
#include "torcht1/dicom/DicomUid.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/DerivedSeriesWriter.h"
#include "torcht1/dicom/SeriesAssembler.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

TEST(DicomUid, DeterministicValidAndDistinct) {
  const std::string a = dicom::DicomUid::fromName("study/1");
  EXPECT_EQ(a, dicom::DicomUid::fromName("study/1"));
  EXPECT_NE(a, dicom::DicomUid::fromName("study/2"));
  EXPECT_EQ(a.rfind("2.25.", 0), 0u);
  EXPECT_TRUE(dicom::DicomUid::isValid(a));
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string uid = dicom::DicomUid::fromName("image/" + std::to_string(i));
    EXPECT_TRUE(dicom::DicomUid::isValid(uid)) << uid;
    seen.insert(uid);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(DicomUid, RejectsMalformed) {
  for (const char* bad : {"", "1..2", "1.02", "1.2.", ".1", "1.2a", "../etc/passwd",
                          "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29"}) {
    EXPECT_FALSE(dicom::DicomUid::isValid(bad)) << bad;
  }
  EXPECT_TRUE(dicom::DicomUid::isValid("1.2.840.10008.5.1.4.1.1.4"));
  EXPECT_TRUE(dicom::DicomUid::isValid("2.25.0"));
}

class MolliSeriesWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torcht1-writer-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.size = 32;
    options_.slices = 2;
    options_.seed = 3;
    phantom_ = phantom::PhantomGenerator(options_).generate();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  phantom::PhantomOptions options_;
  phantom::Phantom phantom_;
};

std::string readString(DcmDataset& ds, const DcmTagKey& tag) {
  OFString value;
  ds.findAndGetOFStringArray(tag, value);
  return value.c_str();
}

TEST_F(MolliSeriesWriterTest, EveryFilePassesDciodvfy) {
  const auto written = dicom::MolliSeriesWriter(options_, "test").write(phantom_, dir_.string());
  ASSERT_EQ(written.files.size(), 16u);
  for (const auto& file : written.files) {
    const std::string output = testing::dciodvfy(file);
    ASSERT_NE(output.find("MRImage"), std::string::npos) << "dciodvfy did not recognise the IOD: " << output;
    EXPECT_EQ(output.find("Error"), std::string::npos) << file << ":\n" << output;
  }
}

TEST_F(MolliSeriesWriterTest, ReadsBackAsWritten) {
  const auto written = dicom::MolliSeriesWriter(options_, "test").write(phantom_, dir_.string());
  const int64_t voxels = phantom_.voxelsPerSlice();
  std::vector<std::vector<double>> positions;
  std::set<std::string> sops;
  for (int64_t s = 0; s < phantom_.slices; ++s) {
    for (int64_t i = 0; i < phantom_.samples; ++i) {
      DcmFileFormat format;
      const std::string& file = written.files[s * phantom_.samples + i];
      ASSERT_TRUE(format.loadFile(file.c_str()).good()) << file;
      DcmDataset& ds = *format.getDataset();
      EXPECT_EQ(readString(ds, DCM_SOPClassUID), UID_MRImageStorage);
      EXPECT_EQ(readString(ds, DCM_SeriesInstanceUID), written.seriesInstanceUid);
      EXPECT_EQ(readString(ds, DCM_StudyInstanceUID), written.studyInstanceUid);
      sops.insert(readString(ds, DCM_SOPInstanceUID));
      Float64 ti = 0;
      ASSERT_TRUE(ds.findAndGetFloat64(DCM_InversionTime, ti).good());
      EXPECT_NEAR(ti, phantom_.times[s * phantom_.samples + i], 1e-3);
      EXPECT_EQ(readString(ds, DCM_ImageComments), "TI " + std::to_string(std::lround(phantom_.times[s * phantom_.samples + i])));
      const Uint16* pixels = nullptr;
      unsigned long count = 0;
      ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
      ASSERT_EQ(count, static_cast<unsigned long>(voxels));
      for (int64_t v = 0; v < voxels; v += 7) {
        const float expected = phantom_.pixels[(s * phantom_.samples + i) * voxels + v];
        EXPECT_NEAR(pixels[v], std::min(4095.0f, std::round(expected)), 0.5f);
      }
      if (i == 0) {
        std::vector<double> p(3);
        for (unsigned k = 0; k < 3; ++k) ds.findAndGetFloat64(DCM_ImagePositionPatient, p[k], k);
        positions.push_back(p);
      }
    }
  }
  EXPECT_EQ(sops.size(), written.files.size());
  // Slices 10 mm apart along the normal of the oblique plane.
  const double d = std::sqrt(std::pow(positions[1][0] - positions[0][0], 2) + std::pow(positions[1][1] - positions[0][1], 2) +
                             std::pow(positions[1][2] - positions[0][2], 2));
  EXPECT_NEAR(d, 10.0, 1e-6);
}

TEST_F(MolliSeriesWriterTest, SameOptionsGiveSameUidsAndTruthIsWritten) {
  const auto first = dicom::MolliSeriesWriter(options_, "test").write(phantom_, (dir_ / "a").string());
  const auto second = dicom::MolliSeriesWriter(options_, "test").write(phantom_, (dir_ / "b").string());
  EXPECT_EQ(first.seriesInstanceUid, second.seriesInstanceUid);
  EXPECT_EQ(first.studyInstanceUid, second.studyInstanceUid);
  options_.seed = 4;
  const auto third = dicom::MolliSeriesWriter(options_, "test").write(phantom_, (dir_ / "c").string());
  EXPECT_NE(first.seriesInstanceUid, third.seriesInstanceUid);
  EXPECT_EQ(fs::file_size(fs::path(first.truthDir) / "t1.f32"), phantom_.t1.size() * sizeof(float));
  EXPECT_EQ(fs::file_size(fs::path(first.truthDir) / "labels.u8"), phantom_.labels.size());
  EXPECT_TRUE(fs::exists(fs::path(first.truthDir) / "truth.json"));
}

TEST_F(MolliSeriesWriterTest, LongSourceDescriptionsStayWithinSixtyFourCharacters) {
  const auto written = dicom::MolliSeriesWriter(options_, "test").write(phantom_, (dir_ / "in").string());
  std::vector<dicom::DicomInstance> instances;
  for (const auto& file : written.files) {
    for (auto& i : dicom::DicomInstanceReader().read(file)) instances.push_back(i);
  }
  auto assembled = dicom::SeriesAssembler(dicom::SeriesSelection{}).assemble(instances);
  ASSERT_EQ(assembled.series.size(), 1u);
  auto& series = assembled.series[0];
  series.description = std::string(64, 'x');
  dicom::MapSeries map{"T1_SD", "T1 SD map", "DERIVED\\PRIMARY\\T1 MAP\\UNCERTAINTY", "ms", 101, 200, 400, 1, 1, {}};
  map.slices.resize(series.slices.size(), dicom::SliceMap{std::vector<float>(32 * 32, 50.0f)});
  const auto files = dicom::DerivedSeriesWriter("test", "test").write(series, map, (dir_ / "out").string());
  DcmFileFormat format;
  ASSERT_TRUE(format.loadFile(files[0].c_str()).good());
  const std::string description = readString(*format.getDataset(), DCM_SeriesDescription);
  EXPECT_EQ(description.size(), 64u);
  EXPECT_EQ(description.substr(description.size() - 10), " T1 SD map") << "the kind is never cut";
  EXPECT_EQ(testing::dciodvfy(files[0]).find("Error"), std::string::npos);
}

TEST_F(MolliSeriesWriterTest, UnwritableFolderIsAClearError) {
  fs::create_directories(dir_);
  const fs::path blocker = dir_ / "file";
  { std::ofstream(blocker.string()) << "x"; }
  try {
    dicom::MolliSeriesWriter(options_, "test").write(phantom_, (blocker / "sub").string());
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(blocker.string()), std::string::npos) << "names the path: " << e.what();
  }
}

}  // namespace
}  // namespace torcht1
