#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace torcht1::mapping {

struct NoiseEstimate {
  bool found = false;
  double sigma = 0;         // Gaussian sigma of each receive channel, signal units
  int64_t voxels = 0;       // background voxels it was measured on
  double rayleighRatio = 0; // mean(x)^2 / mean(x^2) over them: pi/4 = 0.785 for pure Rayleigh noise
};

/// The noise level of a slice of magnitude images, from the data alone.
///
/// From the background: air in a magnitude image is Rayleigh distributed, x = |n1 + i n2|
/// with E[x^2] = 2 sigma^2, the same in every image of the slice. Per voxel r = sqrt(mean over
/// the samples of x^2 / 2) is then close to sigma (relative spread 1/(2 sqrt(N)) for N
/// samples), and the air forms the lowest peak of the histogram of log r; tissue lies far
/// above. The peak is found, refined as the root mean square of r over the voxels below 1.6
/// times it, and accepted only when those voxels look like noise: at least 1% of the slice's
/// non-zero voxels, and mean(x)^2 / mean(x^2) between 0.6 and 0.86 (pi/4 for Rayleigh noise,
/// lower for noise whose level varies over the image, near 1 for tissue), and their mean the
/// same in every image (within 5%, or 4 standard errors: tissue follows its recovery curve
/// from image to image, noise does not). A slice without
/// air (a field of view inside the body, or a background the scanner set to zero) has no such
/// peak: then the noise comes from fit residuals (fromResiduals).
class NoiseEstimator {
 public:
  /// `slice` [samples, voxels] magnitudes, any device.
  static NoiseEstimate fromBackground(const torch::Tensor& slice);

  /// sigma from the residual sums of squares of fitted voxels, each with `dof` degrees of
  /// freedom: sqrt(median(rss) / median of chi^2(dof)), the median taken over the finite
  /// values (robust to the few voxels the model does not describe). 0 when fewer than 16.
  static double fromResiduals(const torch::Tensor& rss, int64_t dof);
};

}  // namespace torcht1::mapping
