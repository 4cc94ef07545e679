// Hostile input to the path from file bytes to the fit's input: the reader, the assembler
// and the pixel loader report one line naming the file and the reason; nothing crashes,
// nothing allocates what a header claims before checking it.

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>

#include "HostileDicom.h"
#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomInstance.h"
#include "torcht1/dicom/InputLimits.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/PixelLoader.h"
#include "torcht1/dicom/SeriesAssembler.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

long peakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("torcht1-hostile-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    phantom::PhantomOptions options;
    options.size = 16;
    options.slices = 1;
    options.seed = 21;
    const auto phantom = phantom::PhantomGenerator(options).generate();
    series_ = dicom::MolliSeriesWriter(options, "hostile").write(phantom, (root_ / "good").string()).files;
    enhanced_ = dicom::MolliSeriesWriter(options, "hostile", {}, true).write(phantom, (root_ / "enhanced").string()).files.at(0);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  /// The series with image 3 changed, read and assembled: what the reader and assembler say.
  static dicom::SeriesAssembler::Result assembleWith(const std::string& name, const std::function<void(DcmDataset&)>& change,
                                                     std::string& changedFile) {
    const fs::path dir = root_ / name;
    fs::create_directories(dir);
    const auto files = testing::copySeries(series_, dir.string(), "1.2.826.0.1.3680043.10.1099." + std::to_string(name.size()),
                                           ".1", 3, change);
    EXPECT_EQ(files.size(), series_.size());
    changedFile = files.at(3);
    std::vector<dicom::DicomInstance> instances;
    for (const auto& f : files) {
      for (auto& i : dicom::DicomInstanceReader().read(f)) instances.push_back(std::move(i));
    }
    return dicom::SeriesAssembler(dicom::SeriesSelection{}).assemble(instances);
  }

  static std::string inversionTimeOf(const std::string& file) {
    DcmFileFormat format;
    OFString ti;
    format.loadFile(file.c_str());
    format.getDataset()->findAndGetOFString(DCM_InversionTime, ti);
    return ti.c_str();
  }

  static inline fs::path root_;
  static inline std::vector<std::string> series_;
  static inline std::string enhanced_;
};

TEST_F(HostileInputTest, EveryHandMadeCaseRejectsItsSeriesWithTheFileAndTheReason) {
  const dicom::PixelLoader loader;
  for (const auto& c : testing::hostileCases(inversionTimeOf(series_.at(2)))) {
    SCOPED_TRACE(c.name);
    std::string file;
    const long rssBefore = peakRssMiB();
    const auto result = assembleWith(c.name, c.change, file);
    ASSERT_EQ(result.series.size(), 0u);
    ASSERT_EQ(result.rejected.size(), 1u);
    const std::string& reason = result.rejected[0].reason;
    EXPECT_EQ(reason.find('\n'), std::string::npos) << reason;
    const bool namesFiles = c.name == "DuplicateInversionTime";
    EXPECT_NE(reason.find(namesFiles ? c.reason : file + ": " + c.reason), std::string::npos) << reason;
    if (namesFiles) {
      EXPECT_NE(reason.find(file), std::string::npos) << reason;
    }

    // The pixel loader on its own (as after a file changed on disk): the same check comes
    // first, or the pixels are what the header says.
    const auto image = dicom::DicomInstanceReader().read(file).at(0);
    try {
      const auto pixels = loader.load(image);
      EXPECT_EQ(pixels.size(), static_cast<size_t>(image.rows) * static_cast<size_t>(image.cols));
    } catch (const dicom::DicomError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(file + ": ", 0), 0u) << e.what();
    }
    EXPECT_LT(peakRssMiB() - rssBefore, 256) << "nothing of the claimed size was allocated";
  }
}

TEST_F(HostileInputTest, TheHugeMatrixIsRefusedByThePixelLoaderBeforeDecoding) {
  const std::string file = (root_ / "huge.dcm").string();
  ASSERT_TRUE(testing::rewrite(series_.at(0), file, [](DcmDataset& ds) {
    ds.putAndInsertUint16(DCM_Rows, 65535);
    ds.putAndInsertUint16(DCM_Columns, 65535);
  }));
  dicom::DicomInstance instance = dicom::DicomInstanceReader().read(file).at(0);
  instance.problem.clear();  // as if the reader had not looked: the loader checks on its own
  const long before = peakRssMiB();
  try {
    dicom::PixelLoader().load(instance);
    FAIL() << "8 GiB of pixels from 512 bytes";
  } catch (const dicom::DicomError& e) {
    EXPECT_EQ(std::string(e.what()),
              file + ": pixel data has 512 bytes; 65535 x 65535 x 16 bits x 1 frame needs 8589672450");
  }
  EXPECT_LT(peakRssMiB() - before, 64);
}

TEST_F(HostileInputTest, AMatrixBeyondAnyMrImageIsRefusedEvenWithItsPixelData) {
  const std::string file = (root_ / "wide.dcm").string();
  ASSERT_TRUE(testing::rewrite(series_.at(0), file, [](DcmDataset& ds) {
    ds.putAndInsertUint16(DCM_Rows, 1);
    ds.putAndInsertUint16(DCM_Columns, dicom::InputLimits::kMaxMatrix + 1);
    const std::vector<Uint16> row(dicom::InputLimits::kMaxMatrix + 1, 5);
    ds.putAndInsertUint16Array(DCM_PixelData, row.data(), static_cast<unsigned long>(row.size()));
  }));
  const auto instance = dicom::DicomInstanceReader().read(file).at(0);
  EXPECT_EQ(instance.problem, "Rows x Columns 1 x 4097 is beyond any MR image (at most 4096 x 4096)");
  EXPECT_THROW(dicom::PixelLoader().load(instance), dicom::DicomError);
}

TEST_F(HostileInputTest, TruncatedFilesAreOneLineErrorsNamingTheFile) {
  std::ifstream in(series_.at(0), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string file = (root_ / "truncated.dcm").string();
  for (size_t size : {size_t{0}, size_t{10}, size_t{128}, size_t{132}, size_t{200}, size_t{700}, bytes.size() - 600,
                      bytes.size() - 100, bytes.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(size) + " of " + std::to_string(bytes.size()) + " bytes");
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(size));
    try {
      const auto instances = dicom::DicomInstanceReader().read(file);
      // Whatever DCMTK still makes of it, the pixels are checked before they are used.
      for (const auto& i : instances) EXPECT_THROW(dicom::PixelLoader().load(i), dicom::DicomError);
    } catch (const dicom::DicomError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(file + ": ", 0), 0u) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST_F(HostileInputTest, AnEnhancedObjectClaimingBillionsOfFramesIsOneImageWithItsProblem) {
  for (const char* frames : {"2147483647", "17"}) {
    SCOPED_TRACE(frames);
    const std::string file = (root_ / (std::string("frames-") + frames + ".dcm")).string();
    ASSERT_TRUE(testing::rewrite(enhanced_, file,
                                 [&](DcmDataset& ds) { ds.putAndInsertString(DCM_NumberOfFrames, frames); }));
    const auto start = std::chrono::steady_clock::now();
    const auto instances = dicom::DicomInstanceReader().read(file);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    ASSERT_EQ(instances.size(), 1u);
    EXPECT_NE(instances[0].problem.find("16 x 16 x 16 bits x " + std::string(frames) + " frames needs"), std::string::npos)
        << instances[0].problem;
  }
}

TEST_F(HostileInputTest, NonFiniteInversionTimesOfEnhancedFramesAreProblems) {
  const std::string file = (root_ / "enhanced-nan.dcm").string();
  ASSERT_TRUE(testing::rewrite(enhanced_, file, [](DcmDataset& ds) {
    DcmItem* frame = nullptr;
    DcmItem* timing = nullptr;
    if (ds.findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, 4).good() &&
        frame->findAndGetSequenceItem(DCM_MRTimingAndRelatedParametersSequence, timing, 0).good()) {
      timing->putAndInsertFloat64(DCM_InversionTimes, std::numeric_limits<double>::quiet_NaN());
    }
  }));
  const auto instances = dicom::DicomInstanceReader().read(file);
  ASSERT_EQ(instances.size(), 8u);
  EXPECT_EQ(instances[4].problem, "InversionTimes nan ms is not an inversion time (0 to 100000 ms)");
  const auto result = dicom::SeriesAssembler(dicom::SeriesSelection{}).assemble(instances);
  ASSERT_EQ(result.rejected.size(), 1u);
  EXPECT_EQ(result.rejected[0].reason, file + " frame 5: InversionTimes nan ms is not an inversion time (0 to 100000 ms)");
}

/// 10,000 tiny images in one series, in memory: grouping stays fast, and a slice with more
/// images than any inversion-recovery scheme has is refused before the fit would take hours.
TEST_F(HostileInputTest, TenThousandInstancesInOneSeriesGetAClearOutcomeQuickly) {
  const auto base = dicom::DicomInstanceReader().read(series_.at(0)).at(0);
  auto many = [&](int slices) {
    std::vector<dicom::DicomInstance> out;
    for (int i = 0; i < 10000; ++i) {
      dicom::DicomInstance d = base;
      d.path = "/in/" + std::to_string(i);
      d.sopInstanceUid = "1.2.3." + std::to_string(i);
      d.rows = d.cols = 4;
      const int slice = i % slices;
      const double n[3] = {-0.48, 0.64, 0.6};  // the simulated series' normal
      for (int k = 0; k < 3; ++k) d.position[k] += 10.0 * slice * n[k];
      d.inversionTime = 100.0 + 0.5 * (i / slices);
      out.push_back(d);
    }
    return out;
  };
  const dicom::SeriesAssembler assembler(dicom::SeriesSelection{});
  const auto start = std::chrono::steady_clock::now();
  const auto oneSlice = assembler.assemble(many(1));
  ASSERT_EQ(oneSlice.rejected.size(), 1u);
  EXPECT_EQ(oneSlice.rejected[0].reason, "slice 1 has 10000 images; at most 64 inversion times are fitted");
  const auto manySlices = assembler.assemble(many(1250));
  ASSERT_EQ(manySlices.series.size(), 1u) << manySlices.rejected.at(0).reason;
  EXPECT_EQ(manySlices.series[0].slices.size(), 1250u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(HostileInputTest, ASeriesTooLargeForOneFitIsRefusedBeforeItsPixelsAreRead) {
  auto base = dicom::DicomInstanceReader().read(series_.at(0)).at(0);
  base.rows = base.cols = 4096;
  std::vector<dicom::DicomInstance> in;
  for (int i = 0; i < 9; ++i) {
    dicom::DicomInstance d = base;
    d.sopInstanceUid += "." + std::to_string(i);
    d.inversionTime = 100.0 + i;
    in.push_back(d);
  }
  const auto result = dicom::SeriesAssembler(dicom::SeriesSelection{}).assemble(in);
  ASSERT_EQ(result.rejected.size(), 1u);
  EXPECT_EQ(result.rejected[0].reason, "9 images of 4096 x 4096 are more than 134217728 pixels for one fit");
}

TEST_F(HostileInputTest, AReasonQuotingWhatAFileSaysIsOneLine) {
  // Found by torcht1_dicom_fuzzer: Modality "\nR" made a reason of two lines.
  auto instance = dicom::DicomInstanceReader().read(series_.at(0)).at(0);
  instance.modality = "\nR";
  const auto result = dicom::SeriesAssembler(dicom::SeriesSelection{}).assemble({instance});
  ASSERT_EQ(result.rejected.size(), 1u);
  EXPECT_EQ(result.rejected[0].reason, "not MR (modality '?R')");
}

}  // namespace
}  // namespace torcht1
