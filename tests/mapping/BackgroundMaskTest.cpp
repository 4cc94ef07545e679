#include <gtest/gtest.h>

#include "torcht1/mapping/BackgroundMask.h"

namespace torcht1 {
namespace {

TEST(BackgroundMask, ThresholdAgainstPercentileOfPeak) {
  // 100 voxels, 2 samples: peaks 1..100 in voxel order; one bright outlier of 10000.
  torch::Tensor pixels = torch::zeros({1, 2, 101});
  for (int v = 0; v < 100; ++v) pixels[0][1][v] = v + 1;
  pixels[0][0][100] = 10000;
  mapping::MaskOptions options;
  options.threshold = 0.5;
  options.percentile = 0.9;
  torch::Tensor fg = mapping::BackgroundMask(options).foreground(pixels);
  // The 90th percentile of the peaks is 91, so the cut is 45.5: voxels 46..100 and the outlier.
  EXPECT_EQ(fg.sum().item<int64_t>(), 56);
  EXPECT_FALSE(fg[0][44].item<bool>());
  EXPECT_TRUE(fg[0][45].item<bool>());
  EXPECT_TRUE(fg[0][100].item<bool>());
}

TEST(BackgroundMask, DisabledFitsEverythingAndAllZeroSliceFitsNothing) {
  mapping::MaskOptions off;
  off.enabled = false;
  EXPECT_EQ(mapping::BackgroundMask(off).foreground(torch::zeros({2, 3, 10})).sum().item<int64_t>(), 20);
  EXPECT_EQ(mapping::BackgroundMask({}).foreground(torch::zeros({1, 3, 10})).sum().item<int64_t>(), 0);
}

}  // namespace
}  // namespace torcht1
