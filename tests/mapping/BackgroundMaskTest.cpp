#include <gtest/gtest.h>

#include "torcht1/mapping/BackgroundMask.h"

namespace torcht1 {
namespace {

TEST(BackgroundMask, FittedWhenTheLargestSampleReachesTheNoiseMultiple) {
  // 100 voxels, 2 samples: peaks 1..100 in voxel order; one bright outlier of 10000. The
  // brightest tissue does not matter, only the noise: sigma 2, 5 sigmas = 10.
  torch::Tensor pixels = torch::zeros({1, 2, 101});
  for (int v = 0; v < 100; ++v) pixels[0][1][v] = v + 1;
  pixels[0][0][100] = 10000;
  mapping::MaskOptions options;
  torch::Tensor fg = mapping::BackgroundMask(options).foreground(pixels, torch::tensor({2.0}));
  EXPECT_EQ(fg.sum().item<int64_t>(), 92);  // peaks 10..100 and the outlier
  EXPECT_FALSE(fg[0][8].item<bool>());
  EXPECT_TRUE(fg[0][9].item<bool>());
  EXPECT_TRUE(fg[0][100].item<bool>());
  options.noiseMultiple = 20;
  EXPECT_EQ(mapping::BackgroundMask(options).foreground(pixels, torch::tensor({2.0})).sum().item<int64_t>(), 62);
}

TEST(BackgroundMask, WithoutANoiseEstimateEveryNonZeroVoxelIsFitted) {
  torch::Tensor pixels = torch::zeros({2, 3, 10});
  pixels[0][1][3] = 0.5;
  pixels[1][2][7] = 4;
  const torch::Tensor fg = mapping::BackgroundMask({}).foreground(pixels, torch::tensor({0.0, 0.0}));
  EXPECT_EQ(fg.sum().item<int64_t>(), 2);
  EXPECT_TRUE(fg[0][3].item<bool>());
  EXPECT_TRUE(fg[1][7].item<bool>());
}

TEST(BackgroundMask, DisabledFitsEverythingAndAllZeroSliceFitsNothing) {
  mapping::MaskOptions off;
  off.enabled = false;
  EXPECT_EQ(mapping::BackgroundMask(off).foreground(torch::zeros({2, 3, 10}), torch::ones({2})).sum().item<int64_t>(), 20);
  EXPECT_EQ(mapping::BackgroundMask({}).foreground(torch::zeros({1, 3, 10}), torch::ones({1})).sum().item<int64_t>(), 0);
}

}  // namespace
}  // namespace torcht1
