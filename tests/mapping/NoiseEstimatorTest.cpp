// The noise level from the data alone: Rayleigh background statistics, or fit residuals.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "torcht1/mapping/NoiseEstimator.h"

namespace torcht1 {
namespace {

/// [samples, voxels]: the first `air` voxels Rayleigh noise of `sigma` (times `gain`, which
/// varies the level over the image), the others tissue signals of 20..400 sigma with Rician noise.
torch::Tensor slice(int64_t samples, int64_t voxels, int64_t air, double sigma, uint64_t seed, double gain = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0, 1);
  std::uniform_real_distribution<double> level(20, 400);
  torch::Tensor out = torch::zeros({samples, voxels}, torch::kFloat);
  auto a = out.accessor<float, 2>();
  for (int64_t v = 0; v < voxels; ++v) {
    const double signal = v < air ? 0 : level(rng) * sigma;
    const double s = sigma * (1 + gain * static_cast<double>(v) / static_cast<double>(voxels));
    for (int64_t i = 0; i < samples; ++i) {
      const double value = signal * std::abs(1 - 2 * std::exp(-0.5 * static_cast<double>(i)));
      a[i][v] = static_cast<float>(std::hypot(value + s * n(rng), s * n(rng)));
    }
  }
  return out;
}

TEST(NoiseEstimator, RayleighBackgroundGivesSigma) {
  for (const double fraction : {0.6, 0.2, 0.03}) {
    const int64_t voxels = 16384;
    const auto e = mapping::NoiseEstimator::fromBackground(slice(8, voxels, static_cast<int64_t>(fraction * voxels), 7.0, 3));
    ASSERT_TRUE(e.found) << "air fraction " << fraction;
    EXPECT_NEAR(e.sigma, 7.0, 0.2) << "air fraction " << fraction;
    EXPECT_NEAR(e.rayleighRatio, M_PI / 4, 0.02);
  }
}

TEST(NoiseEstimator, NoiseThatVariesOverTheImageIsStillBackground) {
  // Parallel imaging: the level rises by half across the image.
  const auto e = mapping::NoiseEstimator::fromBackground(slice(7, 16384, 8000, 4.0, 5, 0.5));
  ASSERT_TRUE(e.found);
  EXPECT_GT(e.sigma, 4.0);
  EXPECT_LT(e.sigma, 6.0);
}

TEST(NoiseEstimator, NoAirOrAZeroedBackgroundIsNoEstimate) {
  // Every voxel tissue: the lowest peak is no Rayleigh background.
  EXPECT_FALSE(mapping::NoiseEstimator::fromBackground(slice(8, 16384, 0, 5.0, 7)).found);
  // Air set to exactly zero by the scanner: nothing to measure.
  torch::Tensor zeroed = slice(8, 16384, 6000, 5.0, 9);
  zeroed.narrow(1, 0, 6000).zero_();
  EXPECT_FALSE(mapping::NoiseEstimator::fromBackground(zeroed).found);
  EXPECT_FALSE(mapping::NoiseEstimator::fromBackground(torch::zeros({8, 100})).found);
}

TEST(NoiseEstimator, ResidualsGiveSigma) {
  // RSS of 5 degrees of freedom with sigma 3, and a few voxels the model did not describe.
  std::mt19937_64 rng(11);
  std::chi_squared_distribution<double> chi(5);
  torch::Tensor rss = torch::empty({5000}, torch::kDouble);
  for (int64_t v = 0; v < 5000; ++v) rss[v] = 9 * chi(rng) * (v % 50 == 0 ? 100 : 1);
  EXPECT_NEAR(mapping::NoiseEstimator::fromResiduals(rss, 5), 3.0, 0.1);
  EXPECT_EQ(mapping::NoiseEstimator::fromResiduals(torch::ones({10}), 5), 0.0);
}

}  // namespace
}  // namespace torcht1
