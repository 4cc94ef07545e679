#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "torcht1/mapping/MapFitter.h"
#include "torcht1/mapping/MonoExponentialModel.h"

namespace torcht1 {
namespace {

mapping::FitInput t2Input(const std::vector<std::pair<double, double>>& m0t2, const std::vector<float>& te,
                          double sigma) {
  mapping::FitInput in;
  in.slices = 1;
  in.samples = static_cast<int64_t>(te.size());
  in.rows = static_cast<int64_t>(m0t2.size());
  in.cols = 1;
  in.times = te;
  in.pixels.resize(in.samples * in.rows);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> gauss(0, 1);
  for (int64_t i = 0; i < in.samples; ++i) {
    for (int64_t v = 0; v < in.rows; ++v) {
      const double s = m0t2[v].first * std::exp(-te[i] / m0t2[v].second);
      in.pixels[i * in.rows + v] = static_cast<float>(sigma > 0 ? std::hypot(s + sigma * gauss(rng), sigma * gauss(rng)) : s);
    }
  }
  return in;
}

mapping::FitOptions t2Options() {
  mapping::FitOptions o;
  o.device = "cpu";
  o.model = "t2";
  o.mask.enabled = false;
  o.validMax = 2000;
  return o;
}


TEST(MonoExponentialModel, NamesItsParametersAndMappedQuantity) {
  mapping::MonoExponentialModel model;
  EXPECT_EQ(model.parameterNames(), (std::vector<std::string>{"M0", "T2"}));
  EXPECT_EQ(model.mappedName(), "T2");
  EXPECT_FALSE(model.magnitude());
}

TEST(MonoExponentialModel, FitsItsOwnNoiseFreeData) {
  std::vector<std::pair<double, double>> truth;
  for (double t2 : {20.0, 35.0, 45.0, 60.0, 90.0, 150.0, 250.0}) truth.push_back({800.0, t2});
  const auto result = mapping::MapFitter(t2Options()).fit(t2Input(truth, {0, 25, 55, 80}, 0));
  EXPECT_EQ(result.primaryName, "T2");
  for (size_t v = 0; v < truth.size(); ++v) {
    EXPECT_EQ(result.status[v], mapping::VoxelStatus::Valid);
    EXPECT_NEAR(result.primary()[v], truth[v].second, 1e-4 * truth[v].second);
    EXPECT_NEAR(result.map("M0")[v], truth[v].first, 1e-4 * truth[v].first);
  }
}

TEST(MonoExponentialModel, FitsNoisyDataWithinItsUncertainty) {
  std::vector<std::pair<double, double>> truth(400, {1000.0, 50.0});
  const auto result = mapping::MapFitter(t2Options()).fit(t2Input(truth, {0, 25, 55, 80}, 10));
  double mean = 0, meanSd = 0;
  for (size_t v = 0; v < truth.size(); ++v) {
    mean += result.primary()[v];
    meanSd += result.primarySd()[v];
  }
  mean /= static_cast<double>(truth.size());
  meanSd /= static_cast<double>(truth.size());
  EXPECT_NEAR(mean, 50.0, 1.0);
  EXPECT_GT(meanSd, 0.2);
  EXPECT_LT(meanSd, 5.0);
}

}  // namespace
}  // namespace torcht1
