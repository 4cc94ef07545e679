#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "mapping/FitTestData.h"
#include "torcht1/phantom/PhantomGenerator.h"

namespace torcht1 {
namespace {

using mapping::VoxelStatus;

bool allFinite(const mapping::FitResult& r) {
  for (const auto& [name, values] : r.maps) {
    if (!std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); })) return false;
  }
  return true;
}

TEST(MapFitter, ReportsEveryMapWithTheModelsNames) {
  const auto r = mapping::MapFitter(testdata::testOptions())
                     .fit(testdata::molliInput({{400, 920, 700}}, testdata::standardTimes()));
  EXPECT_EQ(r.primaryName, "T1");
  EXPECT_EQ(r.solver, "varpro-lm");
  EXPECT_EQ(r.device, "cpu");
  for (const char* name : {"A", "B", "T1star", "T1", "T1_SD", "RSS", "R2"}) {
    EXPECT_EQ(r.map(name).size(), 1u) << name;
  }
  EXPECT_THROW(r.map("T2"), mapping::FitError);
  EXPECT_NEAR(r.map("R2")[0], 1.0, 1e-5);
  EXPECT_NEAR(r.map("A")[0], 400, 0.05);
  EXPECT_NEAR(r.map("B")[0], 920, 0.1);
  EXPECT_NEAR(r.map("T1star")[0], 700, 0.07);
}

TEST(MapFitter, InvalidFitsAreFlaggedAndWrittenAsZeroNeverNaN) {
  auto in = testdata::molliInput({{400, 920, 700}, {400, 920, 700}, {400, 920, 700}, {400, 920, 700}},
                                 testdata::standardTimes());
  // Voxel 1: no inversion at all (a recovery curve that never crosses zero with B < A).
  // Voxel 2: T1 far above the valid range. Voxel 3: all zeros.
  for (int64_t i = 0; i < in.samples; ++i) {
    const double t = in.times[i];
    in.pixels[i * 4 + 1] = static_cast<float>(500 - 200 * std::exp(-t / 800));
    in.pixels[i * 4 + 2] = static_cast<float>(std::abs(100 - 200 * std::exp(-t / 9000)));
    in.pixels[i * 4 + 3] = 0;
  }
  auto options = testdata::testOptions();
  const auto r = mapping::MapFitter(options).fit(in);
  EXPECT_EQ(r.status[0], VoxelStatus::Valid);
  EXPECT_EQ(r.status[1], VoxelStatus::NonPhysical);
  EXPECT_EQ(r.status[2], VoxelStatus::OutOfRange);
  EXPECT_NE(r.status[3], VoxelStatus::Valid);
  for (int v = 1; v < 4; ++v) {
    EXPECT_EQ(r.primary()[v], 0.0f) << "voxel " << v;
    EXPECT_EQ(r.primarySd()[v], 0.0f) << "voxel " << v;
  }
  EXPECT_TRUE(allFinite(r));
  EXPECT_EQ(r.sliceStats[0].fittedVoxels, 4);
  EXPECT_EQ(r.sliceStats[0].validVoxels, 1);
}

TEST(MapFitter, ValidRangeIsConfigurable) {
  auto options = testdata::testOptions();
  options.validMax = 1000;  // the voxel's T1 is 910 ms
  auto r = mapping::MapFitter(options).fit(testdata::molliInput({{400, 920, 700}}, testdata::standardTimes()));
  EXPECT_EQ(r.status[0], VoxelStatus::Valid);
  options.validMax = 900;
  r = mapping::MapFitter(options).fit(testdata::molliInput({{400, 920, 700}}, testdata::standardTimes()));
  EXPECT_EQ(r.status[0], VoxelStatus::OutOfRange);
  EXPECT_EQ(r.primary()[0], 0.0f);
}

TEST(MapFitter, BackgroundIsNotFittedAndWrittenAsZero) {
  phantom::PhantomOptions po;
  po.size = 48;
  po.slices = 2;
  const auto ph = phantom::PhantomGenerator(po).generate();
  mapping::FitOptions options;
  options.device = "cpu";
  const auto r = mapping::MapFitter(options).fit({ph.slices, ph.samples, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}});
  int64_t background = 0, outsideBodyFitted = 0;
  for (size_t i = 0; i < r.status.size(); ++i) {
    if (r.status[i] == VoxelStatus::Background) {
      ++background;
      for (const auto& [name, values] : r.maps) EXPECT_EQ(values[i], 0.0f) << name;
    } else if (ph.labels[i] == 0) {
      ++outsideBodyFitted;
    }
  }
  EXPECT_GT(background, static_cast<int64_t>(r.status.size() / 5));
  // Pure Rician noise outside the body stays below the 10% rule but for rare outliers.
  EXPECT_LT(outsideBodyFitted, static_cast<int64_t>(r.status.size() / 100));
  EXPECT_TRUE(allFinite(r));
}

TEST(MapFitter, SlicesUseTheirOwnInversionTimes) {
  // The same voxel sampled at two different sets of times in two slices.
  const testdata::MolliVoxel vx{400, 920, 700};
  const std::vector<float> t0 = testdata::standardTimes();
  const std::vector<float> t1 = {120, 200, 950, 1030, 1800, 1880, 2650, 3500};
  auto a = testdata::molliInput({vx}, t0), b = testdata::molliInput({vx}, t1);
  mapping::FitInput both{2, 8, 1, 1, a.pixels, a.times, {}, {}};
  both.pixels.insert(both.pixels.end(), b.pixels.begin(), b.pixels.end());
  both.times.insert(both.times.end(), b.times.begin(), b.times.end());
  const auto r = mapping::MapFitter(testdata::testOptions()).fit(both);
  EXPECT_NEAR(r.primary()[0], vx.t1(), 1e-4 * vx.t1());
  EXPECT_NEAR(r.primary()[1], vx.t1(), 1e-4 * vx.t1());
}

TEST(MapFitter, StandardDeviationMatchesTheSpreadOverNoiseRealisations) {
  // 2000 noisy copies of one myocardium voxel: the predicted SD must match the observed
  // spread of the fitted T1.
  const testdata::MolliVoxel vx{300, 690, 720};  // T1 = 936 ms
  std::vector<testdata::MolliVoxel> voxels(2000, vx);
  const auto r = mapping::MapFitter(testdata::testOptions()).fit(testdata::molliInput(voxels, testdata::standardTimes(), 8.0));
  std::vector<double> t1(r.primary().begin(), r.primary().end());
  const double mean = std::accumulate(t1.begin(), t1.end(), 0.0) / static_cast<double>(t1.size());
  double var = 0;
  for (double v : t1) var += (v - mean) * (v - mean);
  const double observed = std::sqrt(var / static_cast<double>(t1.size() - 1));
  std::vector<double> sd(r.primarySd().begin(), r.primarySd().end());
  std::nth_element(sd.begin(), sd.begin() + static_cast<long>(sd.size() / 2), sd.end());
  const double predicted = sd[sd.size() / 2];
  EXPECT_NEAR(mean, vx.t1(), 0.01 * vx.t1());
  EXPECT_NEAR(predicted, observed, 0.15 * observed) << "predicted " << predicted << " observed " << observed;
}

TEST(MapFitter, DoublePrecisionAgreesWithSinglePrecision) {
  phantom::PhantomOptions po;
  po.size = 32;
  po.slices = 1;
  const auto ph = phantom::PhantomGenerator(po).generate();
  mapping::FitInput in{ph.slices, ph.samples, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}};
  auto options = testdata::testOptions();
  const auto single = mapping::MapFitter(options).fit(in);
  options.doublePrecision = true;
  const auto dbl = mapping::MapFitter(options).fit(in);
  int64_t agree = 0, tissue = 0;
  for (size_t i = 0; i < ph.labels.size(); ++i) {
    if (ph.labels[i] == 0 || dbl.status[i] != VoxelStatus::Valid) continue;
    ++tissue;
    if (std::abs(single.primary()[i] - dbl.primary()[i]) <= 1e-3 * dbl.primary()[i]) ++agree;
  }
  ASSERT_GT(tissue, 300);
  EXPECT_GE(agree, tissue - 1);
}

}  // namespace
}  // namespace torcht1
