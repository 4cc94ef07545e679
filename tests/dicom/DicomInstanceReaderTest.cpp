// Enhanced MR input: where DicomInstanceReader finds each frame's inversion time and geometry.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "EnhancedMr.h"
#include "torcht1/dicom/DicomInstance.h"
#include "torcht1/dicom/MolliSeriesWriter.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

class DicomInstanceReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torcht1-reader-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.size = 16;
    options_.slices = 2;
    options_.seed = 4;
    phantom_ = phantom::PhantomGenerator(options_).generate();
    const auto written = dicom::MolliSeriesWriter(options_, "reader-test", {}, true).write(phantom_, (dir_ / "in").string());
    ASSERT_EQ(written.files.size(), 1u);
    enhanced_ = written.files[0];
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  phantom::PhantomOptions options_;
  phantom::Phantom phantom_;
  std::string enhanced_;
};

TEST_F(DicomInstanceReaderTest, PerFrameInversionTimesTakePrecedenceOverShared) {
  // Shared MR timing says 9999 ms; frames 1 to 3 lose their own, the others keep it.
  DcmFileFormat format;
  ASSERT_TRUE(format.loadFile(enhanced_.c_str()).good());
  DcmDataset& ds = *format.getDataset();
  DcmItem* shared = nullptr;
  ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).good());
  DcmItem* timing = nullptr;
  ASSERT_TRUE(shared->findOrCreateSequenceItem(DCM_MRTimingAndRelatedParametersSequence, timing, 0).good());
  ASSERT_TRUE(timing->putAndInsertFloat64(DCM_InversionTimes, 9999.0).good());
  for (int f = 0; f < 3; ++f) {
    DcmItem* frame = nullptr;
    ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, f).good());
    ASSERT_TRUE(frame->findAndDeleteElement(DCM_MRTimingAndRelatedParametersSequence).good());
  }
  const std::string file = (dir_ / "mixed.dcm").string();
  ASSERT_TRUE(format.saveFile(file.c_str(), EXS_LittleEndianExplicit).good());

  const auto frames = dicom::DicomInstanceReader().read(file);
  ASSERT_EQ(frames.size(), 16u);
  for (size_t f = 0; f < frames.size(); ++f) {
    ASSERT_TRUE(frames[f].inversionTime.has_value()) << "frame " << f + 1;
    EXPECT_EQ(frames[f].frame, static_cast<int>(f + 1));
    EXPECT_EQ(frames[f].inversionTimeSource, "InversionTimes");
    if (f < 3) {
      EXPECT_EQ(*frames[f].inversionTime, 9999.0) << "frame " << f + 1 << " has no own: the shared one";
    } else {
      EXPECT_NEAR(*frames[f].inversionTime, phantom_.times[f], 1e-3) << "frame " << f + 1 << ": its own, not the shared";
    }
  }
}

TEST_F(DicomInstanceReaderTest, OneSingleFrameObjectPerInversionTimeWithSharedTiming) {
  fs::create_directories(dir_ / "split");
  const auto files = testing::splitEnhancedPerFrame(enhanced_, (dir_ / "split").string());
  ASSERT_EQ(files.size(), 16u);
  const auto whole = dicom::DicomInstanceReader().read(enhanced_);
  for (size_t f = 0; f < files.size(); ++f) {
    // The split really moved the timing and the position into the shared groups.
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(files[f].c_str()).good());
    DcmItem* frame = nullptr;
    ASSERT_TRUE(format.getDataset()->findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, 0).good());
    EXPECT_FALSE(frame->tagExists(DCM_MRTimingAndRelatedParametersSequence));
    EXPECT_FALSE(frame->tagExists(DCM_PlanePositionSequence));

    const auto read = dicom::DicomInstanceReader().read(files[f]);
    ASSERT_EQ(read.size(), 1u);
    const dicom::DicomInstance& d = read[0];
    EXPECT_EQ(d.frame, 1);
    ASSERT_TRUE(d.inversionTime.has_value()) << files[f];
    EXPECT_EQ(*d.inversionTime, *whole[f].inversionTime) << files[f];
    EXPECT_EQ(d.inversionTimeSource, "InversionTimes");
    EXPECT_TRUE(d.hasGeometry);
    EXPECT_EQ(d.position, whole[f].position);
    EXPECT_EQ(d.orientation, whole[f].orientation);
    EXPECT_EQ(d.spacing, whole[f].spacing);
    EXPECT_EQ(d.seriesInstanceUid, whole[f].seriesInstanceUid);
    EXPECT_NE(d.sopInstanceUid, whole[f].sopInstanceUid);
  }
}

}  // namespace
}  // namespace torcht1
