// PixelLoader keeps the last file in memory: frames of one object come out as if every frame
// had been read on its own, in any order, compressed or not, and a file changed on disk is
// read again.

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "torcht1/dicom/DicomInstance.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/PixelLoader.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

class PixelLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torcht1-pixels-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.size = 24;
    options_.slices = 2;
    options_.seed = 6;
    const auto phantom = phantom::PhantomGenerator(options_).generate();
    for (const auto& file : dicom::MolliSeriesWriter(options_, "pixels", {}, false).write(phantom, (dir_ / "single").string()).files) {
      single_.push_back(dicom::DicomInstanceReader().read(file).at(0));
    }
    enhancedFile_ = dicom::MolliSeriesWriter(options_, "pixels", {}, true).write(phantom, (dir_ / "enhanced").string()).files.at(0);
    enhanced_ = dicom::DicomInstanceReader().read(enhancedFile_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  phantom::PhantomOptions options_;
  std::vector<dicom::DicomInstance> single_, enhanced_;
  std::string enhancedFile_;
};

TEST_F(PixelLoaderTest, FramesOfOneObjectEqualTheSingleFrameImagesInAnyOrder) {
  ASSERT_EQ(enhanced_.size(), 16u);
  ASSERT_EQ(single_.size(), 16u);
  const dicom::PixelLoader loader;
  // Alternating between the two files: the one kept in memory changes at every call.
  for (size_t f = 0; f < enhanced_.size(); ++f) {
    const auto frame = loader.load(enhanced_[f]);
    EXPECT_EQ(frame.size(), 24u * 24u);
    EXPECT_EQ(frame, loader.load(single_[f])) << "frame " << f + 1;
  }
  // Backwards through the one object, and through a copy of the loader.
  const dicom::PixelLoader copy(loader);
  for (size_t f = enhanced_.size(); f-- > 0;) {
    EXPECT_EQ(copy.load(enhanced_[f]), dicom::PixelLoader().load(single_[f])) << "frame " << f + 1;
  }
}

TEST_F(PixelLoaderTest, CompressedMultiFrameObjectsDecodeEveryFrame) {
  for (const std::string tool : {"dcmcrle", "dcmcjpls +el"}) {
    const std::string compressed = (dir_ / "compressed.dcm").string();
    const std::string command = tool + " '" + enhancedFile_ + "' '" + compressed + "' 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    const auto frames = dicom::DicomInstanceReader().read(compressed);
    ASSERT_EQ(frames.size(), enhanced_.size());
    const dicom::PixelLoader loader;
    for (size_t f : {5u, 0u, 15u, 7u, 8u, 1u}) {
      EXPECT_EQ(loader.load(frames[f]), loader.load(single_[f])) << tool << " frame " << f + 1;
    }
    // Frame after frame of the one object kept in memory, as the node reads a slice.
    const dicom::PixelLoader one;
    for (size_t f : {3u, 0u, 15u, 1u, 2u}) {
      EXPECT_EQ(one.load(frames[f]), dicom::PixelLoader().load(single_[f])) << tool << " frame " << f + 1 << ", in a row";
    }
  }
}

TEST_F(PixelLoaderTest, AFileChangedOnDiskIsReadAgain) {
  const dicom::PixelLoader loader;
  const fs::path path = dir_ / "changing.dcm";
  fs::copy_file(single_[0].path, path);
  dicom::DicomInstance instance = single_[0];
  instance.path = path.string();
  EXPECT_EQ(loader.load(instance), loader.load(single_[0]));
  // Another image of the same size in its place, with a later time.
  const auto before = fs::last_write_time(path);
  fs::copy_file(single_[5].path, path, fs::copy_options::overwrite_existing);
  fs::last_write_time(path, before + std::chrono::seconds(2));
  EXPECT_EQ(loader.load(instance), dicom::PixelLoader().load(single_[5]));
  EXPECT_NE(loader.load(instance), dicom::PixelLoader().load(single_[0]));
}

}  // namespace
}  // namespace torcht1
