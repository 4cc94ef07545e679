// Every map kind `torcht1 fit` writes passes dciodvfy without an error whatever the source
// omits or gets wrong: sources stripped or corrupted with DCMTK's dcmodify, as
// anonymisation and scanners leave them. We do not inherit errors.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "Dciodvfy.h"
#include "RunToEnd.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

using testing::kExitedOk;
using testing::Ran;
using testing::runToEnd;

struct SourceDefect {
  std::string name;
  std::vector<std::string> dcmodify;  ///< what is done to every source image
  std::string simulate = "--scheme shmolli";
  /// Warnings that the source's omissions make unavoidable (empty means: none at all).
  std::vector<std::string> allowedWarnings;
  /// A fragment the fit's "not inherited by the maps" line must hold ("" : no such line).
  std::string notInherited;
};

// What dciodvfy may still warn about when the source has lost the value for good.
const std::string kLateralityUnknown = "is only permitted to be empty when actually unknown";
const std::string kDicomdir = "Missing attribute or value that would be needed to build DICOMDIR";

std::ostream& operator<<(std::ostream& os, const SourceDefect& d) { return os << d.name; }

const std::vector<SourceDefect>& defects() {
  static const std::vector<SourceDefect> all = {
      {"Clean", {}, "--scheme shmolli", {}, ""},
      {"CleanMolli", {}, "", {}, ""},
      {"NoBodyPartNoLaterality", {"-ea", "(0018,0015)"}, "--scheme shmolli",
       {kLateralityUnknown}, ""},
      {"EnhancedMrNoBodyPart", {"-ea", "(0018,0015)"}, "--enhanced", {kLateralityUnknown}, ""},
      {"LateralityOnAnUnpairedPart", {"-i", "(0020,0060)=L"}, "--scheme shmolli", {}, ""},
      {"LowercaseSynonymBodyPart", {"-i", "(0018,0015)=thorax"}, "--scheme shmolli", {}, ""},
      {"PairedBodyPartWithoutLaterality", {"-i", "(0018,0015)=KIDNEY"}, "--scheme shmolli", {kLateralityUnknown}, ""},
      {"NoPatientPosition", {"-ea", "(0018,5100)"}, "--scheme shmolli", {}, "PatientPosition absent, written empty"},
      {"NoFrameOfReference", {"-ea", "(0020,0052)", "-ea", "(0020,1040)"}, "--scheme shmolli", {},
       "PositionReferenceIndicator absent"},
      {"NoPatientOrStudyAttributes",
       {"-ea", "(0010,0010)", "-ea", "(0010,0020)", "-ea", "(0010,0030)", "-ea", "(0010,0040)", "-ea", "(0008,0020)",
        "-ea", "(0008,0030)", "-ea", "(0020,0010)", "-ea", "(0008,0050)", "-ea", "(0008,0090)"},
       "--scheme shmolli",
       {kDicomdir},
       "PatientName absent, written empty"},
      {"NoAcquisitionAttributes",
       {"-ea", "(0018,0020)", "-ea", "(0018,0021)", "-ea", "(0018,0022)", "-ea", "(0018,0023)", "-ea", "(0018,0080)",
        "-ea", "(0018,0081)", "-ea", "(0018,0091)", "-ea", "(0018,0050)", "-ea", "(0018,0087)"},
       "--scheme shmolli",
       {},
       "ScanningSequence absent, written as RM"},
      {"InvalidValues",
       {"-i", "(0010,0040)=X", "-i", "(0008,0020)=2026-12-06", "-i", "(0008,0030)=06:49:47", "-i",
        "(0018,5100)=supine", "-i", "(0020,0010)=12345678901234567890", "-i", "(0018,0023)=3d", "-i",
        "(0018,0020)=GR\\IR\\XX", "-i", "(0010,0010)=" + std::string(70, 'A'), "-i",
        "(0008,103e)=MOLLI\\with a backslash and a description far longer than sixty-four characters"},
       "--scheme shmolli",
       {kDicomdir},  // the StudyID of 20 characters is not inherited
       "PatientSex 'X' not valid, written empty"},
  };
  return all;
}

class DerivedObjectValidity : public ::testing::TestWithParam<SourceDefect> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torcht1-validity-" + std::to_string(::getpid()) + "-" + GetParam().name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  Ran torcht1(std::vector<std::string> arguments, const std::string& log) const {
    arguments.insert(arguments.begin(), TORCHT1_BINARY);
    return runToEnd(arguments, dir_ / log, {}, std::chrono::seconds(120));
  }
  fs::path dir_;
};

TEST_P(DerivedObjectValidity, EveryMapKindPassesDciodvfy) {
  const SourceDefect& defect = GetParam();
  std::vector<std::string> simulate = {"simulate", "--out", (dir_ / "in").string(), "--size", "32", "--slices", "1",
                                       "--seed", "5"};
  std::istringstream extra(defect.simulate);
  for (std::string word; extra >> word;) simulate.push_back(word);
  const Ran sim = torcht1(simulate, "simulate.log");
  ASSERT_EQ(sim.state, kExitedOk) << sim.output;

  size_t sources = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "in")) {
    if (e.path().extension() != ".dcm" || defect.dcmodify.empty()) continue;
    std::vector<std::string> modify = {"dcmodify", "-nb"};
    modify.insert(modify.end(), defect.dcmodify.begin(), defect.dcmodify.end());
    modify.push_back(e.path().string());
    const Ran m = runToEnd(modify, dir_ / "dcmodify.log");
    ASSERT_EQ(m.state, kExitedOk) << m.output;
    ++sources;
  }
  if (!defect.dcmodify.empty()) {
    ASSERT_GT(sources, 0u);
  }

  const bool shmolli = defect.simulate.find("shmolli") != std::string::npos;
  std::ofstream(dir_ / "maps.yaml") << "output:\n  maps: [T1, T1_SD, R2, T1star, A, B, T1_COLOUR, T1_PARAMETRIC"
                                    << (shmolli ? ", SAMPLES" : "") << "]\n";
  const Ran fit = torcht1({"fit", (dir_ / "in").string(), "--out", (dir_ / "out").string(), "--device", "cpu",
                           "--config", (dir_ / "maps.yaml").string()},
                          "fit.log");
  ASSERT_EQ(fit.state, kExitedOk) << fit.output;
  if (defect.notInherited.empty()) {
    EXPECT_EQ(fit.output.find("not inherited"), std::string::npos) << "a clean source needs no repair\n" << fit.output;
  } else {
    EXPECT_NE(fit.output.find("not inherited by the maps: "), std::string::npos) << fit.output;
    EXPECT_NE(fit.output.find(defect.notInherited), std::string::npos) << fit.output;
  }

  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "out")) {
    if (!e.is_regular_file()) continue;
    ++files;
    const std::string out = testing::dciodvfy(e.path().string());
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_EQ(line.find("Error"), std::string::npos) << e.path() << "\n" << out;
      if (line.find("Warning") == std::string::npos) continue;
      bool allowed = false;
      for (const auto& w : defect.allowedWarnings) allowed = allowed || line.find(w) != std::string::npos;
      EXPECT_TRUE(allowed) << e.path() << ": " << line;
    }
  }
  // T1, T1 SD, R2, T1*, A, B, colour, parametric map (and samples used for ShMOLLI).
  EXPECT_EQ(files, shmolli ? 9u : 8u);
}

INSTANTIATE_TEST_SUITE_P(Sources, DerivedObjectValidity, ::testing::ValuesIn(defects()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace torcht1
