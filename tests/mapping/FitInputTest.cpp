#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "mapping/FitTestData.h"
#include "torcht1/mapping/FitError.h"

namespace torcht1 {
namespace {

mapping::FitInput goodInput() {
  return testdata::molliInput({{400, 920, 700}, {300, 700, 900}}, testdata::standardTimes());
}

void expectError(const mapping::FitInput& in, const std::string& fragment) {
  try {
    mapping::MapFitter(testdata::testOptions()).fit(in);
    FAIL() << "expected an error containing '" << fragment << "'";
  } catch (const mapping::FitError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "not one line: " << e.what();
  }
}

TEST(FitInput, TooFewSamples) {
  auto in = testdata::molliInput({{400, 920, 700}}, {100, 1100});
  expectError(in, "2 samples per voxel; at least 3 are needed");
}

TEST(FitInput, NonFiniteSampleTime) {
  auto in = goodInput();
  in.times[3] = std::numeric_limits<float>::quiet_NaN();
  expectError(in, "sample time 3 is not finite");
}

TEST(FitInput, DuplicateSampleTimes) {
  auto in = goodInput();
  in.times[2] = in.times[5];
  expectError(in, "occurs more than once");
}

TEST(FitInput, PixelCountMismatch) {
  auto in = goodInput();
  in.pixels.pop_back();
  expectError(in, "pixel values");
}

TEST(FitInput, TimesCountMismatch) {
  auto in = goodInput();
  in.times.push_back(5000);
  expectError(in, "sample times");
}

TEST(FitInput, NoVoxels) {
  mapping::FitInput in;
  expectError(in, "has no voxels");
}

TEST(FitInput, NonFinitePixel) {
  auto in = goodInput();
  in.pixels[5] = std::numeric_limits<float>::infinity();
  expectError(in, "is not finite");
}

TEST(FitOptions, RejectsUnknownNamesAndRanges) {
  EXPECT_THROW(mapping::solverFromString("newton"), mapping::FitError);
  auto o = testdata::testOptions();
  o.model = "sasha9";
  EXPECT_THROW(mapping::MapFitter{o}, mapping::FitError);
  o = testdata::testOptions();
  o.validMin = 10, o.validMax = 5;
  EXPECT_THROW(mapping::MapFitter{o}, mapping::FitError);
  o = testdata::testOptions();
  o.device = "tpu";
  EXPECT_THROW(mapping::MapFitter{o}, mapping::FitError);
  o = testdata::testOptions();
  o.lm.gridPoints = 2;
  EXPECT_THROW(mapping::MapFitter{o}, mapping::FitError);
}

}  // namespace
}  // namespace torcht1
