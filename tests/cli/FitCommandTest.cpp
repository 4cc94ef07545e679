// `torcht1 simulate` then `torcht1 fit`, through the real binary: the offline DICOM path.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "Dciodvfy.h"
#include "EnhancedMr.h"
#include "StoreScpProcess.h"
#include "torcht1/dicom/ColourMapWriter.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

struct Outcome {
  int status;
  std::string output;
};

Outcome runTorcht1(const std::string& arguments) {
  const std::string command = std::string(TORCHT1_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  Outcome r{-1, ""};
  if (pipe == nullptr) return r;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) r.output += buffer;
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string text(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  ds.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

void expectValid(const fs::path& file, const std::string& iod) { testing::expectValid(file.string(), iod); }

std::vector<fs::path> dicomFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".dcm") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class FitCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torcht1-fitcmd-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    const Outcome sim = runTorcht1("simulate --out " + (dir_ / "in").string() + " --size 64 --slices 2 --seed 9");
    ASSERT_EQ(sim.status, 0) << sim.output;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FitCommandTest, MapsMatchTruthPassDciodvfyAndReferenceTheSource) {
  const Outcome fit = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() + " --device cpu");
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("slice 1: T1"), std::string::npos) << fit.output;
  EXPECT_NE(fit.output.find("skipped " + (dir_ / "in" / "truth").string()), std::string::npos)
      << "non-DICOM files are reported, one line each:\n" << fit.output;

  const auto maps = dicomFiles(dir_ / "out");
  ASSERT_EQ(maps.size(), 4u) << "T1 and SD, 2 slices each";
  std::vector<float> truth(2 * 64 * 64);
  std::vector<uint8_t> labels(truth.size());
  std::ifstream(dir_ / "in" / "truth" / "t1.f32", std::ios::binary).read(reinterpret_cast<char*>(truth.data()), truth.size() * 4);
  std::ifstream(dir_ / "in" / "truth" / "labels.u8", std::ios::binary).read(reinterpret_cast<char*>(labels.data()), labels.size());

  DcmFileFormat source;
  ASSERT_TRUE(source.loadFile((dir_ / "in" / "IM_1_1.dcm").c_str()).good());
  DcmDataset& src = *source.getDataset();
  int t1Maps = 0;
  for (const auto& file : maps) {
    expectValid(file, "MRImage");

    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    EXPECT_EQ(text(ds, DCM_StudyInstanceUID), text(src, DCM_StudyInstanceUID));
    EXPECT_EQ(text(ds, DCM_PatientID), text(src, DCM_PatientID));
    EXPECT_EQ(text(ds, DCM_FrameOfReferenceUID), text(src, DCM_FrameOfReferenceUID));
    EXPECT_NE(text(ds, DCM_SeriesInstanceUID), text(src, DCM_SeriesInstanceUID));
    EXPECT_NE(text(ds, DCM_DerivationDescription).find("TorchT1 node"), std::string::npos);
    DcmSequenceOfItems* references = nullptr;
    ASSERT_TRUE(ds.findAndGetSequence(DCM_SourceImageSequence, references).good());
    EXPECT_EQ(references->card(), 8u) << "one reference per source image of the slice";
    if (text(ds, DCM_ImageType) != "DERIVED\\PRIMARY\\T1 MAP") continue;
    ++t1Maps;
    EXPECT_EQ(text(ds, DCM_WindowCenter), "1300");
    EXPECT_EQ(text(ds, DCM_SeriesNumber), "105");
    const int slice = std::stoi(text(ds, DCM_InstanceNumber)) - 1;
    // Same geometry as the source slice.
    DcmFileFormat sliceSource;
    ASSERT_TRUE(sliceSource.loadFile((dir_ / "in" / ("IM_" + std::to_string(slice + 1) + "_1.dcm")).c_str()).good());
    EXPECT_EQ(text(ds, DCM_ImagePositionPatient), text(*sliceSource.getDataset(), DCM_ImagePositionPatient));
    EXPECT_EQ(text(ds, DCM_ImageOrientationPatient), text(*sliceSource.getDataset(), DCM_ImageOrientationPatient));
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
    ASSERT_EQ(count, 64u * 64u);
    std::vector<double> myocardiumError;
    for (unsigned long v = 0; v < count; ++v) {
      const size_t i = slice * 64 * 64 + v;
      if (labels[i] == 2) myocardiumError.push_back(std::abs(pixels[v] - truth[i]) / truth[i]);
    }
    ASSERT_GT(myocardiumError.size(), 20u);
    std::nth_element(myocardiumError.begin(), myocardiumError.begin() + myocardiumError.size() / 2, myocardiumError.end());
    EXPECT_LT(myocardiumError[myocardiumError.size() / 2], 0.03) << "median T1 error in myocardium, slice " << slice;
  }
  EXPECT_EQ(t1Maps, 2);

  // Fitting again gives the same UIDs: PACS never holds the maps twice.
  const Outcome again = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "again").string() + " --device cpu");
  ASSERT_EQ(again.status, 0) << again.output;
  const auto second = dicomFiles(dir_ / "again");
  ASSERT_EQ(second.size(), maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    DcmFileFormat a, b;
    a.loadFile(maps[i].c_str());
    b.loadFile(second[i].c_str());
    EXPECT_EQ(text(*a.getDataset(), DCM_SOPInstanceUID), text(*b.getDataset(), DCM_SOPInstanceUID));
    EXPECT_EQ(text(*a.getDataset(), DCM_SeriesInstanceUID), text(*b.getDataset(), DCM_SeriesInstanceUID));
  }

  // Our own maps are never taken as input.
  const Outcome loop = runTorcht1("fit " + (dir_ / "out").string() + " --out " + (dir_ / "loop").string());
  EXPECT_EQ(loop.status, 1);
  EXPECT_NE(loop.output.find("a derived series"), std::string::npos) << loop.output;
  EXPECT_NE(loop.output.find("no MOLLI series"), std::string::npos) << loop.output;
}

TEST_F(FitCommandTest, PostContrastMapsGetThePostContrastWindow) {
  const Outcome sim = runTorcht1("simulate --post --out " + (dir_ / "post").string() + " --size 48 --slices 1");
  ASSERT_EQ(sim.status, 0) << sim.output;
  const Outcome fit = runTorcht1("fit " + (dir_ / "post").string() + " --out " + (dir_ / "out").string() + " --device cpu");
  ASSERT_EQ(fit.status, 0) << fit.output;
  int checked = 0;
  for (const auto& file : dicomFiles(dir_ / "out")) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    if (text(ds, DCM_ImageType) != "DERIVED\\PRIMARY\\T1 MAP") continue;
    EXPECT_EQ(text(ds, DCM_WindowCenter), "400");
    EXPECT_EQ(text(ds, DCM_WindowWidth), "300");
    EXPECT_EQ(text(ds, DCM_ContrastBolusAgent), "Gadobutrol");
    ++checked;
  }
  EXPECT_EQ(checked, 1);
}

TEST_F(FitCommandTest, TooFewInversionTimesIsSkippedWithTheReason) {
  for (int i = 4; i <= 8; ++i) fs::remove(dir_ / "in" / ("IM_2_" + std::to_string(i) + ".dcm"));
  const Outcome fit = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() + " --device cpu");
  EXPECT_EQ(fit.status, 1) << fit.output;
  EXPECT_NE(fit.output.find("slice 2 has 3 inversion times; at least 5 are needed"), std::string::npos) << fit.output;
}

TEST_F(FitCommandTest, ConfigurationSelectsTheSeries) {
  { std::ofstream(dir_ / "strict.yaml") << "input:\n  min_inversion_times: 9\n"; }
  const Outcome fit = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() +
                                 " --config " + (dir_ / "strict.yaml").string());
  EXPECT_EQ(fit.status, 1);
  EXPECT_NE(fit.output.find("slice 1 has 8 inversion times; at least 9 are needed"), std::string::npos) << fit.output;
  // A flag overrides the file.
  const Outcome flag = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() +
                                  " --config " + (dir_ / "strict.yaml").string() + " --min-ti 8 --device cpu");
  EXPECT_EQ(flag.status, 0) << flag.output;
}

TEST_F(FitCommandTest, ConfiguredMapsAreWrittenAndValid) {
  { std::ofstream(dir_ / "all.yaml") << "output:\n  maps: [T1, T1_SD, R2, T1star, A, B]\n  series_number_offset: 200\n"; }
  const Outcome fit = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() +
                                 " --device cpu --config " + (dir_ / "all.yaml").string());
  ASSERT_EQ(fit.status, 0) << fit.output;
  const auto files = dicomFiles(dir_ / "out");
  ASSERT_EQ(files.size(), 12u) << "six maps, two slices";
  std::set<std::string> numbers, series;
  for (const auto& file : files) {
    expectValid(file, "MRImage");
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    numbers.insert(text(*format.getDataset(), DCM_SeriesNumber));
    series.insert(text(*format.getDataset(), DCM_SeriesInstanceUID));
    if (text(*format.getDataset(), DCM_ImageType) == "DERIVED\\PRIMARY\\OTHER\\R2") {
      const Uint16* pixels = nullptr;
      unsigned long count = 0;
      format.getDataset()->findAndGetUint16Array(DCM_PixelData, pixels, &count);
      EXPECT_LE(*std::max_element(pixels, pixels + count), 1000) << "R2 x1000";
      EXPECT_GT(*std::max_element(pixels, pixels + count), 900);
    }
  }
  EXPECT_EQ(series.size(), 6u);
  EXPECT_EQ(numbers, (std::set<std::string>{"205", "206", "207", "208", "209", "210"}));
}

TEST_F(FitCommandTest, MissingInputAndNoSeriesAreClearErrors) {
  const Outcome missing = runTorcht1("fit " + (dir_ / "nowhere").string() + " --out " + (dir_ / "out").string());
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find("nowhere: no such file or folder"), std::string::npos) << missing.output;
  const Outcome pattern = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() + " --pattern '^T2'");
  EXPECT_EQ(pattern.status, 1);
  EXPECT_NE(pattern.output.find("does not match the T1 pattern"), std::string::npos) << pattern.output;
}

/// The T1 map pixels of a fit output, slice by slice.
std::vector<std::vector<Uint16>> t1Pixels(const fs::path& out) {
  std::vector<std::pair<int, std::vector<Uint16>>> slices;
  for (const auto& file : dicomFiles(out)) {
    DcmFileFormat format;
    if (format.loadFile(file.c_str()).bad()) continue;
    DcmDataset& ds = *format.getDataset();
    if (text(ds, DCM_ImageType) != "DERIVED\\PRIMARY\\T1 MAP") continue;
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ds.findAndGetUint16Array(DCM_PixelData, pixels, &count);
    slices.push_back({std::stoi(text(ds, DCM_InstanceNumber)), std::vector<Uint16>(pixels, pixels + count)});
  }
  std::sort(slices.begin(), slices.end());
  std::vector<std::vector<Uint16>> result;
  for (auto& s : slices) result.push_back(std::move(s.second));
  return result;
}

TEST_F(FitCommandTest, EveryLosslessTransferSyntaxGivesTheSameMap) {
  const Outcome reference = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "ref").string() + " --device cpu");
  ASSERT_EQ(reference.status, 0) << reference.output;
  const auto expected = t1Pixels(dir_ / "ref");
  ASSERT_EQ(expected.size(), 2u);
  // DCMTK's own tools write each variant; the node must read every one of them.
  struct Variant {
    std::string name, tool;
    E_TransferSyntax syntax;
  };
  const std::vector<Variant> variants = {
      {"implicit-little-endian", "dcmconv +ti", EXS_LittleEndianImplicit},
      {"explicit-big-endian", "dcmconv +tb", EXS_BigEndianExplicit},
      {"deflated", "dcmconv +td", EXS_DeflatedLittleEndianExplicit},
      {"jpeg-lossless", "dcmcjpeg +e1", EXS_JPEGProcess14SV1},
      {"jpeg-ls-lossless", "dcmcjpls +el", EXS_JPEGLSLossless},
      {"rle", "dcmcrle", EXS_RLELossless},
  };
  for (const auto& [name, tool, syntax] : variants) {
    const fs::path in = dir_ / name;
    fs::create_directories(in);
    for (const auto& file : dicomFiles(dir_ / "in")) {
      const std::string command = tool + " '" + file.string() + "' '" + (in / file.filename()).string() + "' 2>&1";
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
    DcmFileFormat converted;
    ASSERT_TRUE(converted.loadFile((in / "IM_1_1.dcm").c_str()).good());
    ASSERT_EQ(converted.getDataset()->getOriginalXfer(), syntax) << name << " was not written as intended";
    const Outcome fit = runTorcht1("fit " + in.string() + " --out " + (dir_ / (name + "-out")).string() + " --device cpu");
    ASSERT_EQ(fit.status, 0) << name << "\n" << fit.output;
    EXPECT_EQ(t1Pixels(dir_ / (name + "-out")), expected) << name << ": the T1 map differs from the uncompressed input's";
  }
}

TEST_F(FitCommandTest, EnhancedMrGivesTheSameMapsAsSingleFrames) {
  const Outcome reference = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "ref").string() + " --device cpu");
  ASSERT_EQ(reference.status, 0) << reference.output;
  const Outcome sim = runTorcht1("simulate --enhanced --out " + (dir_ / "enh").string() + " --size 64 --slices 2 --seed 9");
  ASSERT_EQ(sim.status, 0) << sim.output;
  ASSERT_EQ(dicomFiles(dir_ / "enh").size(), 1u) << "one multi-frame object";
  const Outcome fit = runTorcht1("fit " + (dir_ / "enh").string() + " --out " + (dir_ / "enh-out").string() + " --device cpu");
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_EQ(t1Pixels(dir_ / "enh-out"), t1Pixels(dir_ / "ref")) << "frames fit exactly as the single-frame images";
  for (const auto& file : dicomFiles(dir_ / "enh-out")) {
    expectValid(file, "MRImage");
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmItem* reference = nullptr;
    ASSERT_TRUE(format.getDataset()->findAndGetSequenceItem(DCM_SourceImageSequence, reference, 0).good());
    EXPECT_NE(text(*reference, DCM_ReferencedFrameNumber), "") << "frames are referenced by number";
  }
}

TEST_F(FitCommandTest, EnhancedMrOneObjectPerInversionTimeWithSharedTiming) {
  // How scanners that export one Enhanced MR instance per slice and inversion time write
  // MOLLI: every object one frame, its InversionTimes in the shared MR timing group.
  const Outcome reference = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "ref").string() + " --device cpu");
  ASSERT_EQ(reference.status, 0) << reference.output;
  const Outcome sim = runTorcht1("simulate --enhanced --out " + (dir_ / "enh").string() + " --size 64 --slices 2 --seed 9");
  ASSERT_EQ(sim.status, 0) << sim.output;
  fs::create_directories(dir_ / "split");
  const auto files = testing::splitEnhancedPerFrame((dir_ / "enh" / "ENHANCED_MOLLI.dcm").string(), (dir_ / "split").string());
  ASSERT_EQ(files.size(), 16u) << "2 slices x 8 inversion times";
  { std::ofstream(dir_ / "pmap.yaml") << "output:\n  maps: [T1, T1_PARAMETRIC]\n"; }
  const Outcome fit = runTorcht1("fit " + (dir_ / "split").string() + " --out " + (dir_ / "split-out").string() +
                                 " --device cpu --config " + (dir_ / "pmap.yaml").string());
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("slice 2: T1"), std::string::npos) << fit.output;
  EXPECT_NE(fit.output.find("8 TIs"), std::string::npos) << fit.output;
  EXPECT_EQ(t1Pixels(dir_ / "split-out"), t1Pixels(dir_ / "ref")) << "the same fit as the single-frame images";
  for (const auto& file : dicomFiles(dir_ / "split-out")) {
    if (file.filename().string().rfind("PMAP_", 0) == 0) {
      expectValid(file, "ParametricMap");
    } else {
      expectValid(file, "MRImage");
    }
  }
}

TEST_F(FitCommandTest, InversionTimeFallsBackToImageCommentsThenTriggerTime) {
  const Outcome reference = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "ref").string() + " --device cpu");
  ASSERT_EQ(reference.status, 0) << reference.output;
  // Exports without InversionTime: "TI <ms>" in ImageComments (rounded to 1 ms) serves.
  const fs::path comments = dir_ / "comments";
  fs::create_directories(comments);
  for (const auto& file : dicomFiles(dir_ / "in")) fs::copy_file(file, comments / file.filename());
  ASSERT_EQ(std::system(("dcmodify -nb -q -e '(0018,0082)' " + (comments / "*.dcm").string()).c_str()), 0);
  const Outcome fromComments = runTorcht1("fit " + comments.string() + " --out " + (dir_ / "c-out").string() + " --device cpu");
  ASSERT_EQ(fromComments.status, 0) << fromComments.output;
  const auto expected = t1Pixels(dir_ / "ref"), got = t1Pixels(dir_ / "c-out");
  ASSERT_EQ(got.size(), expected.size());
  std::vector<double> difference;
  for (size_t s = 0; s < got.size(); ++s) {
    for (size_t v = 0; v < got[s].size(); ++v) {
      if (expected[s][v] > 0) difference.push_back(std::abs(got[s][v] - expected[s][v]) / expected[s][v]);
    }
  }
  std::sort(difference.begin(), difference.end());
  EXPECT_LT(difference[difference.size() / 2], 0.002) << "TIs rounded to 1 ms move T1 by a fraction of a percent";

  // Exports that keep the TI only in TriggerTime: refused unless asked for.
  const fs::path trigger = dir_ / "trigger";
  fs::create_directories(trigger);
  for (const auto& file : dicomFiles(dir_ / "in")) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    Float64 ti = 0;
    ASSERT_TRUE(ds.findAndGetFloat64(DCM_InversionTime, ti).good());
    ds.findAndDeleteElement(DCM_InversionTime);
    ds.findAndDeleteElement(DCM_ImageComments);
    ds.putAndInsertString(DCM_TriggerTime, std::to_string(ti).c_str());
    ASSERT_TRUE(format.saveFile((trigger / file.filename()).c_str()).good());
  }
  const Outcome refused = runTorcht1("fit " + trigger.string() + " --out " + (dir_ / "t-out").string());
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("has no inversion time"), std::string::npos) << refused.output;
  const Outcome accepted =
      runTorcht1("fit " + trigger.string() + " --out " + (dir_ / "t-out").string() + " --trigger-time --device cpu");
  ASSERT_EQ(accepted.status, 0) << accepted.output;
  EXPECT_EQ(t1Pixels(dir_ / "t-out"), expected);
}

TEST_F(FitCommandTest, BitDepthsSignednessAndRescaleAreHonoured) {
  const Outcome reference = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "ref").string() + " --device cpu");
  ASSERT_EQ(reference.status, 0) << reference.output;
  const auto expected = t1Pixels(dir_ / "ref");
  // The same phantom stored other ways; every value = slope * stored + intercept.
  const std::vector<std::pair<std::string, std::string>> encodings = {
      {"16-bit", "--bits 16"},
      {"16-bit-rescaled", "--bits 16 --rescale-slope 0.25"},
      {"16-bit-signed-offset", "--bits 16 --signed --rescale-intercept 2000"},
      {"12-bit-signed", "--bits 12 --signed"},
      {"8-bit-rescaled", "--bits 8 --rescale-slope 6"},
  };
  for (const auto& [name, flags] : encodings) {
    const fs::path in = dir_ / name;
    const Outcome sim = runTorcht1("simulate --out " + in.string() + " --size 64 --slices 2 --seed 9 " + flags);
    ASSERT_EQ(sim.status, 0) << sim.output;
    const Outcome fit = runTorcht1("fit " + in.string() + " --out " + (dir_ / (name + "-out")).string() + " --device cpu");
    ASSERT_EQ(fit.status, 0) << name << "\n" << fit.output;
    const auto maps = t1Pixels(dir_ / (name + "-out"));
    ASSERT_EQ(maps.size(), expected.size()) << name;
    // Storage at least as fine as the reference's 12 bits gives the same map to 0.2% at the
    // 99.9th percentile (a finer step moves a few voxels slightly); 8 bits quantise the
    // images (a step of 6 against a noise sigma of 14), so there T1 agrees within 2% median.
    const bool lossless = name != "8-bit-rescaled";
    for (size_t s = 0; s < maps.size(); ++s) {
      std::vector<double> difference;
      for (size_t v = 0; v < maps[s].size(); ++v) {
        if (expected[s][v] > 0 && maps[s][v] > 0) difference.push_back(std::abs(maps[s][v] - expected[s][v]) / expected[s][v]);
      }
      ASSERT_GT(difference.size(), 1000u) << name;
      std::sort(difference.begin(), difference.end());
      if (lossless) {
        EXPECT_LE(difference[difference.size() * 999 / 1000], 0.002) << name << " slice " << s;
      } else {
        EXPECT_LT(difference[difference.size() / 2], 0.02) << name << " slice " << s;
      }
    }
  }
}

TEST_F(FitCommandTest, SimulateSendsTheStudyByCStore) {
  testing::StoreScpProcess pacs(dir_ / "pacs", "PACS");
  ASSERT_TRUE(pacs.running()) << pacs.state();
  const Outcome sent = runTorcht1("simulate --out " + (dir_ / "sent").string() + " --size 32 --slices 2 --send 127.0.0.1:" +
                                  std::to_string(pacs.port()) + " --aec PACS");
  ASSERT_EQ(sent.status, 0) << sent.output;
  EXPECT_NE(sent.output.find("sent 16 of 16 files to PACS@127.0.0.1:"), std::string::npos) << sent.output;
  EXPECT_EQ(pacs.files().size(), 16u);
}

TEST_F(FitCommandTest, SimulateWithPartialVolumeWritesWhichPixelsArePure) {
  const Outcome sim = runTorcht1("simulate --out " + (dir_ / "pv").string() + " --size 64 --slices 1 --partial-volume 4");
  ASSERT_EQ(sim.status, 0) << sim.output;
  std::vector<float> purity(64 * 64, -1.0f);
  std::ifstream in(dir_ / "pv" / "truth" / "purity.f32", std::ios::binary);
  ASSERT_TRUE(in.read(reinterpret_cast<char*>(purity.data()), static_cast<std::streamsize>(purity.size() * 4)));
  const auto mixed = std::count_if(purity.begin(), purity.end(), [](float p) { return p > 0 && p < 1; });
  const auto pure = std::count(purity.begin(), purity.end(), 1.0f);
  EXPECT_GT(mixed, 50);
  EXPECT_GT(pure, 64 * 64 / 2);
  std::ifstream json(dir_ / "pv" / "truth" / "truth.json");
  const std::string meta((std::istreambuf_iterator<char>(json)), std::istreambuf_iterator<char>());
  EXPECT_NE(meta.find("\"partial_volume\": 4"), std::string::npos) << meta;
  const Outcome bad = runTorcht1("simulate --out " + (dir_ / "pv9").string() + " --size 64 --partial-volume 9");
  EXPECT_NE(bad.status, 0);
}

TEST_F(FitCommandTest, ARefusingPeerIsAClearError) {
  testing::StoreScpProcess pacs(dir_ / "pacs", "PACS", testing::StoreScpProcess::Mode::RefuseAssociation);
  ASSERT_TRUE(pacs.running()) << pacs.state();
  const Outcome sent = runTorcht1("simulate --out " + (dir_ / "sent").string() + " --size 16 --slices 1 --send 127.0.0.1:" +
                                  std::to_string(pacs.port()) + " --aec PACS");
  EXPECT_EQ(sent.status, 1) << sent.output;
  EXPECT_NE(sent.output.find("no association"), std::string::npos) << sent.output;
  const Outcome bad = runTorcht1("simulate --out " + (dir_ / "sent").string() + " --size 16 --slices 1 --send localhost");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("expected HOST:PORT"), std::string::npos) << bad.output;
}

TEST_F(FitCommandTest, ColourMapFollowsViridisWithABar) {
  { std::ofstream(dir_ / "colour.yaml") << "output:\n  maps: [T1, T1_COLOUR]\n"; }
  const Outcome fit = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() +
                                 " --device cpu --config " + (dir_ / "colour.yaml").string());
  ASSERT_EQ(fit.status, 0) << fit.output;
  const auto t1 = t1Pixels(dir_ / "out");
  ASSERT_EQ(t1.size(), 2u);
  int checked = 0;
  for (const auto& file : dicomFiles(dir_ / "out")) {
    if (file.filename().string().rfind("COLOUR_", 0) != 0) continue;
    expectValid(file, "SCImage");
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    EXPECT_EQ(text(ds, DCM_PhotometricInterpretation), "RGB");
    EXPECT_LE(text(ds, DCM_SeriesDescription).size(), 64u);
    const int slice = std::stoi(text(ds, DCM_InstanceNumber)) - 1;
    Uint16 rows = 0, cols = 0;
    ds.findAndGetUint16(DCM_Rows, rows);
    ds.findAndGetUint16(DCM_Columns, cols);
    ASSERT_EQ(rows, 64);
    ASSERT_GT(cols, 64) << "the bar is beside the image";
    const Uint8* rgb = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(ds.findAndGetUint8Array(DCM_PixelData, rgb, &count).good());
    ASSERT_EQ(count, 3ul * rows * cols);
    auto pixel = [&](int r, int c) { return std::array<uint8_t, 3>{rgb[(r * cols + c) * 3], rgb[(r * cols + c) * 3 + 1], rgb[(r * cols + c) * 3 + 2]}; };
    // Every image voxel: black where the map is 0, else viridis over the 650..1950 ms window.
    int coloured = 0;
    for (int r = 0; r < 64; ++r) {
      for (int c = 0; c < 64; ++c) {
        const double value = t1[slice][r * 64 + c];
        const auto expected = value > 0 ? dicom::ColourMapWriter::viridis((value - 650.0) / 1300.0) : std::array<uint8_t, 3>{0, 0, 0};
        const auto got = pixel(r, c);
        for (int k = 0; k < 3; ++k) EXPECT_NEAR(got[k], expected[k], 2) << "row " << r << " col " << c;
        coloured += value > 0;
      }
    }
    EXPECT_GT(coloured, 1000);
    // The bar: yellow at the top (1950 ms), dark purple at the bottom (650 ms).
    const int bar = 64 + 4 + 2;
    EXPECT_EQ(pixel(0, bar), dicom::ColourMapWriter::viridis(1.0));
    EXPECT_EQ(pixel(63, bar), dicom::ColourMapWriter::viridis(0.0));
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

/// Item `index` of `sequence` in `item` (nullptr when there is none).
DcmItem* itemOf(DcmItem& item, const DcmTagKey& sequence, int index = 0) {
  DcmItem* found = nullptr;
  item.findAndGetSequenceItem(sequence, found, index);
  return found;
}

/// The Parametric Map files of a fit output.
/// A Parametric Map's shared Real World Value Mapping and window: its UCUM unit, its LUT
/// label and its window centre and width.
void expectMappingAndWindow(DcmDataset& ds, const std::string& unitCode, const std::string& label,
                            const std::string& center, const std::string& width) {
  DcmItem* shared = itemOf(ds, DCM_SharedFunctionalGroupsSequence);
  ASSERT_NE(shared, nullptr);
  DcmItem* rwvm = itemOf(*shared, DCM_RealWorldValueMappingSequence);
  ASSERT_NE(rwvm, nullptr);
  DcmItem* unit = itemOf(*rwvm, DCM_MeasurementUnitsCodeSequence);
  ASSERT_NE(unit, nullptr);
  EXPECT_EQ(text(*unit, DCM_CodeValue), unitCode);
  EXPECT_EQ(text(*unit, DCM_CodingSchemeDesignator), "UCUM");
  EXPECT_EQ(text(*rwvm, DCM_LUTLabel), label);
  DcmItem* window = itemOf(*shared, DCM_FrameVOILUTSequence);
  ASSERT_NE(window, nullptr);
  EXPECT_EQ(text(*window, DCM_WindowCenter), center);
  EXPECT_EQ(text(*window, DCM_WindowWidth), width);
}

std::vector<fs::path> parametricMaps(const fs::path& out) {
  std::vector<fs::path> files;
  for (const auto& file : dicomFiles(out)) {
    if (file.filename().string().rfind("PMAP_", 0) == 0) files.push_back(file);
  }
  return files;
}

TEST_F(FitCommandTest, ParametricMapHoldsTheFittedT1AsFloats) {
  { std::ofstream(dir_ / "pmap.yaml") << "output:\n  maps: [T1, T1_PARAMETRIC]\n"; }
  const std::string fitPmap = " --device cpu --config " + (dir_ / "pmap.yaml").string();
  const Outcome fit = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() + fitPmap);
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("wrote 1 T1 map (float) images"), std::string::npos) << fit.output;
  const auto pmaps = parametricMaps(dir_ / "out");
  ASSERT_EQ(pmaps.size(), 1u) << "one object for the series";
  expectValid(pmaps[0], "ParametricMap");

  // The same fit as the 16-bit T1 map, unrounded.
  const auto t1 = t1Pixels(dir_ / "out");
  ASSERT_EQ(t1.size(), 2u);
  DcmFileFormat format;
  ASSERT_TRUE(format.loadFile(pmaps[0].c_str()).good());
  DcmDataset& ds = *format.getDataset();
  const Float32* values = nullptr;
  unsigned long count = 0;
  ASSERT_TRUE(ds.findAndGetFloat32Array(DCM_FloatPixelData, values, &count).good());
  ASSERT_EQ(count, 2ul * 64 * 64);
  int fractional = 0;
  for (size_t s = 0; s < 2; ++s) {
    for (size_t v = 0; v < 64 * 64; ++v) {
      const float value = values[s * 64 * 64 + v];
      if (value == 0) {
        EXPECT_EQ(t1[s][v], 0) << "invalid in one, valid in the other: slice " << s << " voxel " << v;
      } else {
        EXPECT_NEAR(value, t1[s][v], 0.5) << "slice " << s << " voxel " << v;
        fractional += value != std::round(value);
      }
    }
  }
  EXPECT_GT(fractional, 1000) << "T1 is not rounded to whole ms";

  // Against the truth.
  std::vector<float> truth(2 * 64 * 64);
  std::vector<uint8_t> labels(truth.size());
  std::ifstream(dir_ / "in" / "truth" / "t1.f32", std::ios::binary).read(reinterpret_cast<char*>(truth.data()), truth.size() * 4);
  std::ifstream(dir_ / "in" / "truth" / "labels.u8", std::ios::binary).read(reinterpret_cast<char*>(labels.data()), labels.size());
  std::vector<double> error;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (labels[i] == 2) error.push_back(std::abs(values[i] - truth[i]) / truth[i]);
  }
  ASSERT_GT(error.size(), 40u);
  std::nth_element(error.begin(), error.begin() + error.size() / 2, error.end());
  EXPECT_LT(error[error.size() / 2], 0.03) << "median T1 error in myocardium";

  // Unit, window, numbering, description.
  expectMappingAndWindow(ds, "ms", "T1", "1300", "1300");
  EXPECT_EQ(text(ds, DCM_SeriesNumber), "106") << "source 5 + 100, second map";
  EXPECT_EQ(text(ds, DCM_SeriesDescription), "MOLLI 5(3)3 native (TorchT1 phantom) T1 map (float)");

  // Each frame: the geometry of its slice and references to the slice's 8 source images.
  for (int s = 0; s < 2; ++s) {
    DcmItem* frame = itemOf(ds, DCM_PerFrameFunctionalGroupsSequence, s);
    ASSERT_NE(frame, nullptr);
    DcmFileFormat source;
    ASSERT_TRUE(source.loadFile((dir_ / "in" / ("IM_" + std::to_string(s + 1) + "_1.dcm")).c_str()).good());
    DcmItem* position = itemOf(*frame, DCM_PlanePositionSequence);
    ASSERT_NE(position, nullptr);
    for (unsigned k = 0; k < 3; ++k) {
      Float64 got = 0, expected = 0;
      position->findAndGetFloat64(DCM_ImagePositionPatient, got, k);
      source.getDataset()->findAndGetFloat64(DCM_ImagePositionPatient, expected, k);
      EXPECT_NEAR(got, expected, 1e-6) << "frame " << s;
    }
    std::set<std::string> referenced, expected;
    DcmItem* derivation = itemOf(*frame, DCM_DerivationImageSequence);
    ASSERT_NE(derivation, nullptr);
    for (int i = 0; DcmItem* reference = itemOf(*derivation, DCM_SourceImageSequence, i); ++i) {
      referenced.insert(text(*reference, DCM_ReferencedSOPInstanceUID));
    }
    for (int i = 1; i <= 8; ++i) {
      DcmFileFormat image;
      ASSERT_TRUE(image.loadFile((dir_ / "in" / ("IM_" + std::to_string(s + 1) + "_" + std::to_string(i) + ".dcm")).c_str()).good());
      expected.insert(text(*image.getDataset(), DCM_SOPInstanceUID));
    }
    EXPECT_EQ(referenced, expected) << "frame " << s;
  }

  // Fitting again gives the same UIDs; the map is never an input.
  const Outcome again = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "again").string() + fitPmap);
  ASSERT_EQ(again.status, 0) << again.output;
  const auto second = parametricMaps(dir_ / "again");
  ASSERT_EQ(second.size(), 1u);
  DcmFileFormat other;
  ASSERT_TRUE(other.loadFile(second[0].c_str()).good());
  EXPECT_EQ(text(*other.getDataset(), DCM_SOPInstanceUID), text(ds, DCM_SOPInstanceUID));
  EXPECT_EQ(text(*other.getDataset(), DCM_SeriesInstanceUID), text(ds, DCM_SeriesInstanceUID));
  const Outcome loop = runTorcht1("fit " + pmaps[0].string() + " --out " + (dir_ / "loop").string());
  EXPECT_EQ(loop.status, 1);
  EXPECT_NE(loop.output.find("is not MR or Enhanced MR Image Storage"), std::string::npos) << loop.output;

  // Post-contrast: the post-contrast window.
  const Outcome post = runTorcht1("simulate --post --out " + (dir_ / "post").string() + " --size 32 --slices 1");
  ASSERT_EQ(post.status, 0) << post.output;
  const Outcome postFit = runTorcht1("fit " + (dir_ / "post").string() + " --out " + (dir_ / "post-out").string() + fitPmap);
  ASSERT_EQ(postFit.status, 0) << postFit.output;
  const auto postMaps = parametricMaps(dir_ / "post-out");
  ASSERT_EQ(postMaps.size(), 1u);
  expectValid(postMaps[0], "ParametricMap");
  DcmFileFormat postFormat;
  ASSERT_TRUE(postFormat.loadFile(postMaps[0].c_str()).good());
  DcmItem* postShared = itemOf(*postFormat.getDataset(), DCM_SharedFunctionalGroupsSequence);
  ASSERT_NE(postShared, nullptr);
  DcmItem* postWindow = itemOf(*postShared, DCM_FrameVOILUTSequence);
  ASSERT_NE(postWindow, nullptr);
  EXPECT_EQ(text(*postWindow, DCM_WindowCenter), "400");
  EXPECT_EQ(text(*postWindow, DCM_WindowWidth), "300");
}

}  // namespace
}  // namespace torcht1

namespace torcht1 {
namespace {

/// Median |T1 - truth| / truth over the myocardium and the blood of every T1 map in `out`
/// (slices by InstanceNumber), against `in`/truth of a 64 x 64 x `slices` study.
double medianError(const fs::path& in, const fs::path& out, int slices, const std::string& imageType = "DERIVED\\PRIMARY\\T1 MAP") {
  std::vector<float> truth(static_cast<size_t>(slices) * 64 * 64);
  std::vector<uint8_t> labels(truth.size());
  std::ifstream(in / "truth" / "t1.f32", std::ios::binary).read(reinterpret_cast<char*>(truth.data()), truth.size() * 4);
  std::ifstream(in / "truth" / "labels.u8", std::ios::binary).read(reinterpret_cast<char*>(labels.data()), labels.size());
  std::vector<double> errors;
  for (const auto& file : dicomFiles(out)) {
    DcmFileFormat format;
    if (format.loadFile(file.c_str()).bad() || text(*format.getDataset(), DCM_ImageType) != imageType) continue;
    DcmDataset& ds = *format.getDataset();
    const int slice = std::stoi(text(ds, DCM_InstanceNumber)) - 1;
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    if (ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).bad()) continue;
    for (unsigned long v = 0; v < count; ++v) {
      const size_t i = static_cast<size_t>(slice) * 64 * 64 + v;
      if (labels[i] == 1 || labels[i] == 2) errors.push_back((pixels[v] - truth[i]) / truth[i]);
    }
  }
  if (errors.empty()) return 1e9;
  std::nth_element(errors.begin(), errors.begin() + static_cast<long>(errors.size() / 2), errors.end());
  return errors[errors.size() / 2];
}

TEST_F(FitCommandTest, ShmolliIsFittedAsShmolliWithItsSamplesMap) {
  const fs::path in = dir_ / "shmolli";
  const Outcome sim = runTorcht1("simulate --out " + in.string() + " --size 64 --slices 2 --seed 4 --scheme shmolli");
  ASSERT_EQ(sim.status, 0) << sim.output;
  { std::ofstream(dir_ / "maps.yaml") << "output:\n  maps: [T1, SAMPLES]\n"; }
  const Outcome fit = runTorcht1("fit " + in.string() + " --out " + (dir_ / "out").string() + " --device cpu --config " +
                                 (dir_ / "maps.yaml").string());
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("slice 1: T1"), std::string::npos) << fit.output;
  EXPECT_NE(fit.output.find("ShMOLLI, "), std::string::npos) << fit.output;
  const auto files = dicomFiles(dir_ / "out");
  ASSERT_EQ(files.size(), 4u) << fit.output;
  bool sawSamples = false;
  for (const auto& file : files) {
    expectValid(file, "MRImage");
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    EXPECT_NE(text(ds, DCM_DerivationDescription).find("ShMOLLI conditional fit"), std::string::npos);
    if (text(ds, DCM_ImageType) != "DERIVED\\PRIMARY\\OTHER\\SAMPLES") continue;
    sawSamples = true;
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
    std::set<int> values(pixels, pixels + count);
    for (int v : values) EXPECT_TRUE(v == 0 || (v >= 5 && v <= 7)) << v;
    EXPECT_TRUE(values.count(5)) << "blood and myocardium (long T1) use the first inversion only";
  }
  EXPECT_TRUE(sawSamples);
  // Blood 1600 ms and myocardium 1000 ms at ~65 bpm: the conditional fit is unbiased, where
  // the plain 7-sample fit would be far off.
  EXPECT_LT(std::abs(medianError(in, dir_ / "out", 2)), 0.01);
}

TEST_F(FitCommandTest, ShmolliWithoutItsImagesIsRefusedNotFittedAsMolli) {
  // A 5(3)3 series whose description says ShMOLLI: 8 images per slice.
  const fs::path in = dir_ / "in";
  for (const auto& file : dicomFiles(in)) {
    const std::string cmd = "dcmodify -nb -m \"(0008,103e)=ShMOLLI SAX\" " + file.string() + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  const Outcome fit = runTorcht1("fit " + in.string() + " --out " + (dir_ / "out").string() + " --device cpu");
  EXPECT_EQ(fit.status, 1) << fit.output;
  EXPECT_NE(fit.output.find("not fitted: refused: ShMOLLI by its description, but slice 1 has 8 images"), std::string::npos)
      << fit.output;
  EXPECT_FALSE(fs::exists(dir_ / "out") && !dicomFiles(dir_ / "out").empty()) << "nothing may be written";
}

TEST_F(FitCommandTest, TheT1ScaleMatchesVendorMapsAndSaysSo) {
  { std::ofstream(dir_ / "scale.yaml") << "fit:\n  molli:\n    t1_scale: 1.0365\n"; }
  const Outcome plain = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "plain").string() + " --device cpu");
  const Outcome scaled = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "scaled").string() +
                                    " --device cpu --config " + (dir_ / "scale.yaml").string());
  ASSERT_EQ(plain.status, 0) << plain.output;
  ASSERT_EQ(scaled.status, 0) << scaled.output;
  const double a = medianError(dir_ / "in", dir_ / "plain", 2), b = medianError(dir_ / "in", dir_ / "scaled", 2);
  EXPECT_NEAR((1 + b) / (1 + a), 1.0365, 0.002);
  for (const auto& file : dicomFiles(dir_ / "scaled")) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    EXPECT_NE(text(*format.getDataset(), DCM_DerivationDescription).find("x 1.0365 (fit.molli.t1_scale"), std::string::npos);
  }
  for (const auto& file : dicomFiles(dir_ / "plain")) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    EXPECT_EQ(text(*format.getDataset(), DCM_DerivationDescription).find("t1_scale"), std::string::npos);
  }
}

TEST_F(FitCommandTest, EachSliceLineReportsNoiseAndTheShareFittedButInvalid) {
  const Outcome fit = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() + " --device cpu");
  ASSERT_EQ(fit.status, 0) << fit.output;
  for (const char* slice : {"slice 1: T1", "slice 2: T1"}) {
    const auto at = fit.output.find(slice);
    ASSERT_NE(at, std::string::npos) << fit.output;
    const std::string line = fit.output.substr(at, fit.output.find('\n', at) - at);
    EXPECT_NE(line.find("% fitted but invalid"), std::string::npos) << line;
    EXPECT_NE(line.find("(background)"), std::string::npos) << line;
    EXPECT_NE(line.find("MOLLI"), std::string::npos) << line;
  }
}

TEST_F(FitCommandTest, AMovingStudyIsMotionCorrectedAndItsMapsSaySo) {
  const Outcome sim = runTorcht1("simulate --out " + (dir_ / "moving").string() +
                                 " --size 128 --slices 1 --snr 60 --motion 3 --gasp 8 --seed 4");
  ASSERT_EQ(sim.status, 0) << sim.output;
  EXPECT_NE(sim.output.find("moving: drift 3.0 mm, gasp 8.0 mm"), std::string::npos) << sim.output;
  const Outcome moco = runTorcht1("fit " + (dir_ / "moving").string() + " --out " + (dir_ / "moco").string() + " --device cpu");
  const Outcome plain = runTorcht1("fit " + (dir_ / "moving").string() + " --out " + (dir_ / "plain").string() +
                                   " --device cpu --no-moco");
  ASSERT_EQ(moco.status, 0) << moco.output;
  ASSERT_EQ(plain.status, 0) << plain.output;
  EXPECT_NE(moco.output.find("MOCO max displacement"), std::string::npos) << moco.output;
  EXPECT_NE(moco.output.find(": MOCO, largest displacement"), std::string::npos) << moco.output;
  EXPECT_NE(plain.output.find(", no MOCO\n"), std::string::npos) << plain.output;
  size_t t1Maps = 0;
  for (const auto& file : dicomFiles(dir_ / "moco")) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    EXPECT_NE(text(ds, DCM_DerivationDescription).find("MOCO: model-based registration"), std::string::npos);
    t1Maps += text(ds, DCM_ImageType) == "DERIVED\\PRIMARY\\T1 MAP\\MOCO";
    expectValid(file, "MRImage");
  }
  EXPECT_EQ(t1Maps, 1u);
  for (const auto& file : dicomFiles(dir_ / "plain")) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    EXPECT_EQ(text(*format.getDataset(), DCM_ImageType).find("MOCO"), std::string::npos);
  }
  // The corrected map is closer to the truth (in the key image's position): the share of
  // myocardial voxels within 5%.
  auto within5 = [&](const fs::path& out, const std::string& imageType) {
    std::vector<float> truth(128 * 128);
    std::vector<uint8_t> labels(truth.size());
    std::ifstream(dir_ / "moving" / "truth" / "t1.f32", std::ios::binary).read(reinterpret_cast<char*>(truth.data()), truth.size() * 4);
    std::ifstream(dir_ / "moving" / "truth" / "labels.u8", std::ios::binary).read(reinterpret_cast<char*>(labels.data()), labels.size());
    int myo = 0, good = 0;
    for (const auto& file : dicomFiles(out)) {
      DcmFileFormat format;
      if (format.loadFile(file.c_str()).bad() || text(*format.getDataset(), DCM_ImageType) != imageType) continue;
      const Uint16* pixels = nullptr;
      unsigned long count = 0;
      if (format.getDataset()->findAndGetUint16Array(DCM_PixelData, pixels, &count).bad() || count != truth.size()) continue;
      for (size_t v = 0; v < truth.size(); ++v) {
        if (labels[v] != 2) continue;
        ++myo;
        good += std::abs(pixels[v] - truth[v]) <= 0.05 * truth[v];
      }
    }
    return myo > 0 ? 100.0 * good / myo : 0.0;
  };
  const double corrected = within5(dir_ / "moco", "DERIVED\\PRIMARY\\T1 MAP\\MOCO");
  const double uncorrected = within5(dir_ / "plain", "DERIVED\\PRIMARY\\T1 MAP");
  EXPECT_GE(corrected, uncorrected + 5.0) << corrected << "% vs " << uncorrected << "%";
}

// output.maps MOCO: the registered images as a derived MR series next to the maps, one
// instance per source image with its inversion time and a reference to it, the key image
// (longest TI, the position the others were moved into) unchanged, dciodvfy-clean; and no
// such series for a study that was not corrected.
TEST_F(FitCommandTest, TheMocoOutputIsTheRegisteredImagesNextToTheMaps) {
  const Outcome sim = runTorcht1("simulate --out " + (dir_ / "moving").string() +
                                 " --size 128 --slices 1 --snr 60 --motion 3 --gasp 8 --seed 4");
  ASSERT_EQ(sim.status, 0) << sim.output;
  std::ofstream(dir_ / "moco.yaml") << "output:\n  maps: [T1, MOCO]\n";
  const Outcome fit = runTorcht1("fit " + (dir_ / "moving").string() + " --out " + (dir_ / "out").string() +
                                 " --device cpu --config " + (dir_ / "moco.yaml").string());
  ASSERT_EQ(fit.status, 0) << fit.output;
  // The sources by SOP instance UID: inversion time and pixels.
  std::map<std::string, std::pair<double, std::vector<Uint16>>> sources;
  double longest = 0;
  for (const auto& file : dicomFiles(dir_ / "moving")) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    Float64 ti = 0;
    ASSERT_TRUE(ds.findAndGetFloat64(DCM_InversionTime, ti).good());
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
    sources[text(ds, DCM_SOPInstanceUID)] = {ti, std::vector<Uint16>(pixels, pixels + count)};
    longest = std::max(longest, ti);
  }
  ASSERT_EQ(sources.size(), 8u);
  size_t mocoImages = 0, moved = 0, keyImages = 0;
  std::set<std::string> referenced;
  std::set<std::string> series;
  for (const auto& file : dicomFiles(dir_ / "out")) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    if (text(ds, DCM_ImageType) != "DERIVED\\PRIMARY\\OTHER\\MOCO") continue;
    ++mocoImages;
    series.insert(text(ds, DCM_SeriesInstanceUID));
    expectValid(file, "MRImage");
    EXPECT_NE(text(ds, DCM_SeriesDescription).find("MOCO images"), std::string::npos);
    DcmItem* item = nullptr;
    ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_SourceImageSequence, item, 0).good());
    EXPECT_FALSE(ds.findAndGetSequenceItem(DCM_SourceImageSequence, item, 1).good()) << "one source image each";
    ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_SourceImageSequence, item, 0).good());
    const std::string sop = text(*item, DCM_ReferencedSOPInstanceUID);
    ASSERT_EQ(sources.count(sop), 1u) << sop;
    referenced.insert(sop);
    Float64 ti = 0;
    ASSERT_TRUE(ds.findAndGetFloat64(DCM_InversionTime, ti).good());
    EXPECT_DOUBLE_EQ(ti, sources[sop].first) << "the source image's inversion time";
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
    const auto& original = sources[sop].second;
    ASSERT_EQ(count, original.size());
    int largest = 0;
    for (size_t v = 0; v < count; ++v) largest = std::max(largest, std::abs(static_cast<int>(pixels[v]) - original[v]));
    if (ti == longest) {
      ++keyImages;
      EXPECT_LE(largest, 1) << "the key image stays where it is";
    } else {
      moved += largest > 50;
    }
  }
  EXPECT_EQ(mocoImages, 8u);
  EXPECT_EQ(series.size(), 1u);
  EXPECT_EQ(referenced.size(), 8u) << "every source image once";
  EXPECT_EQ(keyImages, 1u);
  EXPECT_GE(moved, 6u) << "the other images were moved";

  // A still study: nothing registered, no MOCO series.
  const Outcome still = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "still").string() +
                                   " --device cpu --config " + (dir_ / "moco.yaml").string());
  ASSERT_EQ(still.status, 0) << still.output;
  for (const auto& file : dicomFiles(dir_ / "still")) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    EXPECT_EQ(text(*format.getDataset(), DCM_ImageType).find("MOCO"), std::string::npos) << file;
  }
}

TEST_F(FitCommandTest, AStillStudyKeepsItsImagesAndSaysWhy) {
  const Outcome fit = runTorcht1("fit " + (dir_ / "in").string() + " --out " + (dir_ / "out").string() + " --device cpu");
  ASSERT_EQ(fit.status, 0) << fit.output;
  // Stopped after the first round (nothing moved by half a pixel) or refused by the residual
  // rule: either way the reason is said.
  EXPECT_TRUE(fit.output.find("MOCO not applied: no motion found: at most") != std::string::npos ||
              fit.output.find("MOCO not applied: the registration lowered the tissue residual by") != std::string::npos)
      << fit.output;
  EXPECT_NE(fit.output.find("no MOCO applied (largest displacement found"), std::string::npos) << fit.output;
}

}  // namespace
}  // namespace torcht1

namespace torcht1 {
namespace {

/// A native and a post-contrast series of one study (seed 21, Hct 0.418, ECV 25% with a 45%
/// lateral scar), the post-contrast one from another breath-hold: shifted (4, 5) mm and
/// rotated -3 degrees.
class EcvFitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torcht1-ecv-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    const std::string common = " --size 192 --slices 2 --snr 120 --seed 21 --hematocrit 0.418";
    const Outcome native = runTorcht1("simulate --out " + (dir_ / "native").string() + common);
    ASSERT_EQ(native.status, 0) << native.output;
    const Outcome post =
        runTorcht1("simulate --post --out " + (dir_ / "post").string() + common + " --shift-x 4 --shift-y 5 --rotate -3");
    ASSERT_EQ(post.status, 0) << post.output;
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// The ECV map files among `dir`'s output.
  std::vector<fs::path> ecvFiles(const fs::path& dir) const {
    std::vector<fs::path> out;
    for (const auto& file : dicomFiles(dir)) {
      DcmFileFormat f;
      if (f.loadFile(file.c_str()).good() && text(*f.getDataset(), DCM_ImageType).find("ECV") != std::string::npos) {
        out.push_back(file);
      }
    }
    return out;
  }
  /// The share (%) of slice `slice`'s interior myocardium (away from its edges, see
  /// EcvCalculatorTest) whose ECV (`percent` per voxel) is within 1 percentage point of the
  /// truth of the phantom in `truthDir`; also prints it.
  double shareWithinOnePoint(const fs::path& truthDir, int slice, const std::function<double(size_t)>& percent,
                             const char* label) const {
    const size_t voxels = 192 * 192;
    std::vector<float> truth(2 * voxels);
    std::vector<uint8_t> labels(truth.size());
    std::ifstream(truthDir / "truth" / "ecv.f32", std::ios::binary).read(reinterpret_cast<char*>(truth.data()), truth.size() * 4);
    std::ifstream(truthDir / "truth" / "labels.u8", std::ios::binary).read(reinterpret_cast<char*>(labels.data()), labels.size());
    // With partial volume, only pixels wholly myocardium have one true ECV.
    std::vector<float> purity(truth.size(), 1.0f);
    std::ifstream(truthDir / "truth" / "purity.f32", std::ios::binary).read(reinterpret_cast<char*>(purity.data()), purity.size() * 4);
    int64_t inner = 0, good = 0;
    for (size_t r = 1; r + 1 < 192; ++r) {
      for (size_t c = 1; c + 1 < 192; ++c) {
        const size_t v = r * 192 + c, i = slice * voxels + v;
        if (labels[i] != 2 || labels[i - 1] != 2 || labels[i + 1] != 2 || labels[i - 192] != 2 || labels[i + 192] != 2) continue;
        if (purity[i] < 1) continue;
        ++inner;
        good += std::abs(percent(v) - 100.0 * truth[i]) <= 1.0;
      }
    }
    EXPECT_GT(inner, 100);
    const double share = inner ? 100.0 * static_cast<double>(good) / static_cast<double>(inner) : 0.0;
    std::printf("[ ecv ] %s slice %d: %.1f%% of %lld interior myocardial voxels within 1 pp\n", label, slice + 1, share,
                static_cast<long long>(inner));
    return share;
  }
  fs::path dir_;
};

TEST_F(EcvFitTest, NativeAndPostContrastMakeAnEcvMapThatMatchesTheTruth) {
  const Outcome fit = runTorcht1("fit " + (dir_ / "native").string() + " " + (dir_ / "post").string() + " --out " +
                                 (dir_ / "out").string() + " --device cpu --hematocrit 0.418");
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("slice 1: ECV with native slice 1"), std::string::npos) << fit.output;
  EXPECT_NE(fit.output.find("measured Hct 0.42"), std::string::npos) << fit.output;
  const auto files = ecvFiles(dir_ / "out");
  ASSERT_EQ(files.size(), 2u) << fit.output;

  const size_t voxels = 192 * 192;
  DcmFileFormat nativeImage;
  ASSERT_TRUE(nativeImage.loadFile((dir_ / "native" / "IM_1_1.dcm").c_str()).good());
  for (const auto& file : files) {
    expectValid(file, "MRImage");
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    EXPECT_EQ(text(ds, DCM_ImageType), "DERIVED\\PRIMARY\\OTHER\\ECV");
    EXPECT_EQ(text(ds, DCM_StudyInstanceUID), text(*nativeImage.getDataset(), DCM_StudyInstanceUID));
    EXPECT_EQ(text(ds, DCM_FrameOfReferenceUID), text(*nativeImage.getDataset(), DCM_FrameOfReferenceUID));
    EXPECT_EQ(text(ds, DCM_WindowCenter), "500");
    EXPECT_EQ(text(ds, DCM_WindowWidth), "1000");
    EXPECT_NE(text(ds, DCM_WindowCenterWidthExplanation).find("percent x 10"), std::string::npos);
    EXPECT_NE(text(ds, DCM_SeriesDescription).find("ECV map (measured Hct 0.42)"), std::string::npos);
    const std::string derivation = text(ds, DCM_DerivationDescription);
    EXPECT_NE(derivation.find("blood T1 native"), std::string::npos) << derivation;
    EXPECT_NE(derivation.find("registered"), std::string::npos) << derivation;
    // References to both sources: the native slice's 8 images and the post slice's 9.
    DcmSequenceOfItems* references = nullptr;
    ASSERT_TRUE(ds.findAndGetSequence(DCM_SourceImageSequence, references).good());
    EXPECT_EQ(references->card(), 17u);
    std::set<std::string> referenced;
    for (unsigned long i = 0; i < references->card(); ++i) referenced.insert(text(*references->getItem(i), DCM_ReferencedSOPInstanceUID));
    const int slice = std::stoi(text(ds, DCM_InstanceNumber)) - 1;
    DcmFileFormat nativeFirst, postFirst;
    const std::string image = "IM_" + std::to_string(slice + 1) + "_1.dcm";
    ASSERT_TRUE(nativeFirst.loadFile((dir_ / "native" / image).c_str()).good());
    ASSERT_TRUE(postFirst.loadFile((dir_ / "post" / image).c_str()).good());
    EXPECT_TRUE(referenced.count(text(*nativeFirst.getDataset(), DCM_SOPInstanceUID))) << "the native slice's images";
    EXPECT_TRUE(referenced.count(text(*postFirst.getDataset(), DCM_SOPInstanceUID))) << "the post-contrast slice's images";
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
    ASSERT_EQ(count, voxels);
    const double share = shareWithinOnePoint(dir_ / "native", slice, [&](size_t v) { return pixels[v] / 10.0; }, "MR");
    EXPECT_GE(share, 95.0) << "slice " << slice + 1;
  }

  // Deterministic UIDs: the same pair gives the same ECV series; the ECV map is never input.
  const Outcome again = runTorcht1("fit " + (dir_ / "native").string() + " " + (dir_ / "post").string() + " --out " +
                                   (dir_ / "again").string() + " --device cpu --hematocrit 0.418");
  ASSERT_EQ(again.status, 0) << again.output;
  const auto second = ecvFiles(dir_ / "again");
  ASSERT_EQ(second.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    DcmFileFormat a, b;
    a.loadFile(files[i].c_str());
    b.loadFile(second[i].c_str());
    EXPECT_EQ(text(*a.getDataset(), DCM_SOPInstanceUID), text(*b.getDataset(), DCM_SOPInstanceUID));
  }
}

TEST_F(EcvFitTest, WithoutAMeasuredValueTheSyntheticHematocritIsUsedAndSaid) {
  const Outcome fit = runTorcht1("fit " + (dir_ / "native").string() + " " + (dir_ / "post").string() + " --out " +
                                 (dir_ / "out").string() + " --device cpu");
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("ECV map (synthetic Hct 0.4"), std::string::npos) << fit.output;
  const auto files = ecvFiles(dir_ / "out");
  ASSERT_EQ(files.size(), 2u);
  DcmFileFormat f;
  ASSERT_TRUE(f.loadFile(files.front().c_str()).good());
  EXPECT_NE(text(*f.getDataset(), DCM_DerivationDescription).find("Treibel"), std::string::npos);
  // One hematocrit for the study: both slices say the same.
  DcmFileFormat g;
  ASSERT_TRUE(g.loadFile(files.back().c_str()).good());
  EXPECT_EQ(text(*f.getDataset(), DCM_SeriesDescription), text(*g.getDataset(), DCM_SeriesDescription));
}

TEST_F(EcvFitTest, TheEcvMapAlsoComesAsAFloatParametricMapAndInColour) {
  { std::ofstream(dir_ / "all.yaml") << "ecv:\n  maps: [ECV, ECV_COLOUR, ECV_PARAMETRIC]\n"; }
  const Outcome fit = runTorcht1("fit " + (dir_ / "native").string() + " " + (dir_ / "post").string() + " --out " +
                                 (dir_ / "out").string() + " --device cpu --hematocrit 0.418 --config " +
                                 (dir_ / "all.yaml").string());
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("(ECV_PARAMETRIC, with native series"), std::string::npos) << fit.output;
  std::vector<fs::path> mr, colour, pmap;
  for (const auto& file : dicomFiles(dir_ / "out")) {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(file.c_str()).good());
    if (text(*f.getDataset(), DCM_SeriesDescription).find("ECV map") == std::string::npos) continue;
    const std::string sop = text(*f.getDataset(), DCM_SOPClassUID);
    (sop == UID_ParametricMapStorage ? pmap : sop == UID_SecondaryCaptureImageStorage ? colour : mr).push_back(file);
  }
  ASSERT_EQ(mr.size(), 2u);
  ASSERT_EQ(colour.size(), 2u);
  ASSERT_EQ(pmap.size(), 1u) << "one object, a frame per slice";

  // The Parametric Map: float percent, UCUM "%", both sources referenced, the truth.
  expectValid(pmap[0], "ParametricMap");
  DcmFileFormat format;
  ASSERT_TRUE(format.loadFile(pmap[0].c_str()).good());
  DcmDataset& ds = *format.getDataset();
  EXPECT_EQ(text(ds, DCM_ImageType), "DERIVED\\PRIMARY\\CARDIAC\\DIVISION");
  EXPECT_EQ(text(ds, DCM_ContentLabel), "ECV_MAP");
  EXPECT_NE(text(ds, DCM_SeriesDescription).find("ECV map (measured Hct 0.42) (float)"), std::string::npos);
  expectMappingAndWindow(ds, "%", "ECV", "50", "100");
  const Float32* values = nullptr;
  unsigned long count = 0;
  ASSERT_TRUE(ds.findAndGetFloat32Array(DCM_FloatPixelData, values, &count).good());
  ASSERT_EQ(count, 2ul * 192 * 192);
  for (int s = 0; s < 2; ++s) {
    DcmItem* frame = itemOf(ds, DCM_PerFrameFunctionalGroupsSequence, s);
    ASSERT_NE(frame, nullptr);
    DcmItem* derivation = itemOf(*frame, DCM_DerivationImageSequence);
    ASSERT_NE(derivation, nullptr);
    EXPECT_NE(text(*derivation, DCM_DerivationDescription).find("blood T1 native"), std::string::npos);
    DcmSequenceOfItems* sources = nullptr;
    ASSERT_TRUE(derivation->findAndGetSequence(DCM_SourceImageSequence, sources).good());
    EXPECT_EQ(sources->card(), 17u) << "the native slice's 8 images and the post-contrast slice's 9";
    const double share = shareWithinOnePoint(dir_ / "native", s,
                                             [&](size_t v) { return values[static_cast<size_t>(s) * 192 * 192 + v]; }, "float");
    EXPECT_GE(share, 95.0) << "slice " << s + 1;
  }
  DcmSequenceOfItems* series = nullptr;
  ASSERT_TRUE(ds.findAndGetSequence(DCM_ReferencedSeriesSequence, series).good());
  EXPECT_EQ(series->card(), 2u) << "the native and the post-contrast series";

  // The colour pictures: valid Secondary Capture, ECV 0-100 % in viridis, a colour bar.
  for (const auto& file : colour) {
    expectValid(file, "SCImage");
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(file.c_str()).good());
    EXPECT_EQ(text(*f.getDataset(), DCM_ImageType), "DERIVED\\SECONDARY\\ECV\\COLOUR");
    EXPECT_NE(text(*f.getDataset(), DCM_SeriesDescription).find("colour 0-100 %"), std::string::npos);
    Uint16 columns = 0;
    f.getDataset()->findAndGetUint16(DCM_Columns, columns);
    EXPECT_GT(columns, 192) << "the colour bar beside the map";
  }
  // Three series, three numbers.
  std::set<std::string> numbers;
  for (const auto& file : {mr[0], colour[0], pmap[0]}) {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(file.c_str()).good());
    numbers.insert(text(*f.getDataset(), DCM_SeriesNumber));
  }
  EXPECT_EQ(numbers.size(), 3u);
}

TEST_F(EcvFitTest, AHardPairBrightFatShmolliAndMotionWithinEachBreathHold) {
  // What real pairs have and the default pair does not: fat and blood far brighter than the
  // myocardium, a native ShMOLLI (incomplete recovery between its inversions), and motion
  // within each breath-hold (3 mm drift and a 4 mm gasp) on top of the pose between them.
  // Issue 13's target (95% within 1 pp) is NOT met on this pair yet: measured 87.0% and 81.8%
  // since ShMOLLI is motion-corrected (85.5% / 73.8% before; 80.0% / 59.3% before the MOCO
  // warp stopped ringing beside fat). It is not resampling: with partial volume the pair
  // scores 86.5% / 72.4%. bench/ecv-breakdown takes it apart: the motion within each
  // breath-hold (MOCO's precision at the ~2% in T1 that 1 pp of ECV needs) costs most; the
  // pose between them alone leaves 95.7% / 90.2%. The floors guard what is reached.
  const std::string common = " --size 192 --slices 2 --snr 120 --seed 23 --hematocrit 0.418 --bright-fat";
  const Outcome native = runTorcht1("simulate --out " + (dir_ / "hard-native").string() + common +
                                    " --scheme shmolli --motion 3 --gasp 4");
  ASSERT_EQ(native.status, 0) << native.output;
  const Outcome post = runTorcht1("simulate --post --out " + (dir_ / "hard-post").string() + common +
                                  " --motion 3 --gasp 4 --shift-x -5 --shift-y 3 --rotate 4");
  ASSERT_EQ(post.status, 0) << post.output;
  const Outcome fit = runTorcht1("fit " + (dir_ / "hard-native").string() + " " + (dir_ / "hard-post").string() +
                                 " --out " + (dir_ / "hard").string() + " --device cpu --hematocrit 0.418");
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("ShMOLLI, "), std::string::npos) << fit.output;
  // Both series moved and both are motion-corrected, the ShMOLLI one too.
  EXPECT_EQ(fit.output.find("no MOCO"), std::string::npos) << fit.output;
  EXPECT_EQ(fit.output.find("MOCO not applied"), std::string::npos) << fit.output;
  const auto files = ecvFiles(dir_ / "hard");
  ASSERT_EQ(files.size(), 2u) << fit.output;
  for (const auto& file : files) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
    const int slice = std::stoi(text(ds, DCM_InstanceNumber)) - 1;
    const double share =
        shareWithinOnePoint(dir_ / "hard-native", slice, [&](size_t v) { return pixels[v] / 10.0; }, "hard pair");
    EXPECT_GE(share, slice == 0 ? 84.5 : 80.0) << "slice " << slice + 1 << "\n" << fit.output;
  }
}

TEST_F(EcvFitTest, OutOfRangeHematocritAndNoEcvAreClear) {
  const Outcome percent = runTorcht1("fit " + (dir_ / "native").string() + " --out " + (dir_ / "out").string() +
                                     " --device cpu --hematocrit 42");
  EXPECT_NE(percent.status, 0);
  EXPECT_NE(percent.output.find("not a percentage"), std::string::npos) << percent.output;
  // The post-contrast series alone: its T1 maps, and why there is no ECV map.
  const Outcome alone = runTorcht1("fit " + (dir_ / "post").string() + " --out " + (dir_ / "alone").string() + " --device cpu");
  ASSERT_EQ(alone.status, 0) << alone.output;
  EXPECT_NE(alone.output.find("no ECV: no native T1 series of this study"), std::string::npos) << alone.output;
  EXPECT_TRUE(ecvFiles(dir_ / "alone").empty());
  const Outcome off = runTorcht1("fit " + (dir_ / "native").string() + " " + (dir_ / "post").string() + " --out " +
                                 (dir_ / "off").string() + " --device cpu --no-ecv");
  ASSERT_EQ(off.status, 0) << off.output;
  EXPECT_TRUE(ecvFiles(dir_ / "off").empty());
}

TEST_F(EcvFitTest, APostContrastSliceAtAnotherPositionIsNotPaired) {
  // One post-contrast slice at the middle (0 mm), the native ones at -5 and +5 mm.
  const Outcome post = runTorcht1("simulate --post --out " + (dir_ / "middle").string() +
                                  " --size 192 --slices 1 --seed 21 --hematocrit 0.418");
  ASSERT_EQ(post.status, 0) << post.output;
  const Outcome fit = runTorcht1("fit " + (dir_ / "native").string() + " " + (dir_ / "middle").string() + " --out " +
                                 (dir_ / "out").string() + " --device cpu");
  ASSERT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("no native slice within 2.0 mm (nearest 5.0 mm away)"), std::string::npos) << fit.output;
  EXPECT_TRUE(ecvFiles(dir_ / "out").empty());
}

}  // namespace
}  // namespace torcht1
