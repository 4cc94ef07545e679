#include "torcht1/mapping/NoiseEstimator.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace torcht1::mapping {

NoiseEstimate NoiseEstimator::fromBackground(const torch::Tensor& sliceAnyDevice) {
  torch::NoGradGuard noGrad;
  NoiseEstimate estimate;
  const torch::Tensor slice = sliceAnyDevice.to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t samples = slice.size(0), voxels = slice.size(1);
  if (samples < 1 || voxels < 1) return estimate;
  const torch::Tensor r = (slice.square().mean(0) / 2).sqrt().contiguous();
  const double* rv = r.data_ptr<double>();

  std::vector<double> logs;
  logs.reserve(static_cast<size_t>(voxels));
  for (int64_t v = 0; v < voxels; ++v) {
    if (rv[v] > 0 && std::isfinite(rv[v])) logs.push_back(std::log(rv[v]));
  }
  const auto nonZero = static_cast<int64_t>(logs.size());
  const int64_t minVoxels = std::max<int64_t>(32, nonZero / 100);
  if (nonZero < 64) return estimate;
  const auto [lo, hi] = std::minmax_element(logs.begin(), logs.end());
  const double width = std::max(0.05, (*hi - *lo) / 2000.0);
  const auto bins = static_cast<int64_t>((*hi - *lo) / width) + 1;
  std::vector<double> count(static_cast<size_t>(bins), 0.0), smooth(static_cast<size_t>(bins), 0.0);
  for (double l : logs) count[static_cast<size_t>(std::min<int64_t>(bins - 1, static_cast<int64_t>((l - *lo) / width)))] += 1;
  const double kernel[5] = {1, 2, 3, 2, 1};
  for (int64_t b = 0; b < bins; ++b) {
    for (int64_t k = -2; k <= 2; ++k) {
      if (b + k >= 0 && b + k < bins) smooth[static_cast<size_t>(b)] += kernel[k + 2] * count[static_cast<size_t>(b + k)] / 9;
    }
  }
  // The lowest bin that is a local maximum (over +-4 bins, 20% in r) and holds, with its
  // neighbours within +-6 bins, enough voxels to be a background.
  double peak = 0;
  for (int64_t b = 0; b < bins && peak == 0; ++b) {
    const double here = smooth[static_cast<size_t>(b)];
    if (here <= 0) continue;
    bool isMax = true;
    double mass = 0;
    for (int64_t k = -6; k <= 6; ++k) {
      if (b + k < 0 || b + k >= bins) continue;
      if (std::abs(k) <= 4 && (smooth[static_cast<size_t>(b + k)] > here || (k < 0 && smooth[static_cast<size_t>(b + k)] == here))) {
        isMax = false;
      }
      mass += count[static_cast<size_t>(b + k)];
    }
    if (isMax && mass >= static_cast<double>(minVoxels)) peak = std::exp(*lo + (static_cast<double>(b) + 0.5) * width);
  }
  if (peak == 0) return estimate;

  double sigma = peak;
  torch::Tensor inBackground;
  for (int iteration = 0; iteration < 6; ++iteration) {
    inBackground = (r > 0).logical_and(r < 1.6 * sigma);
    const int64_t n = inBackground.sum().item<int64_t>();
    if (n == 0) return estimate;
    sigma = std::sqrt(r.square().masked_select(inBackground).mean().item<double>());
  }
  const torch::Tensor selected = slice.index({torch::indexing::Slice(), inBackground});  // [samples, n]
  estimate.voxels = selected.size(1);
  estimate.sigma = sigma;
  if (estimate.voxels < minVoxels) return estimate;
  const torch::Tensor m1 = selected.mean(1), m2 = selected.square().mean(1);
  estimate.rayleighRatio = (m1.square() / m2.clamp_min(1e-300)).mean().item<double>();
  // Noise is the same in every image; tissue follows its recovery curve from image to image.
  const double spread = samples > 1 ? (m1.std() / m1.mean().clamp_min(1e-300)).item<double>() : 0.0;
  const double noiseSpread = 0.523 / std::sqrt(static_cast<double>(estimate.voxels));  // Rayleigh sd / mean
  estimate.found = estimate.rayleighRatio >= 0.6 && estimate.rayleighRatio <= 0.86 && sigma > 0 &&
                   spread <= std::max(0.05, 4 * noiseSpread);
  return estimate;
}

double NoiseEstimator::fromResiduals(const torch::Tensor& rss, int64_t dof) {
  torch::NoGradGuard noGrad;
  if (dof < 1) return 0;
  const torch::Tensor values = rss.to(torch::kCPU, torch::kFloat64).flatten();
  const torch::Tensor finite = values.masked_select(torch::isfinite(values));
  if (finite.numel() < 16) return 0;
  // Median of chi^2 with k degrees of freedom, Wilson-Hilferty: k (1 - 2 / (9k))^3.
  const double k = static_cast<double>(dof);
  const double chiMedian = k * std::pow(1.0 - 2.0 / (9.0 * k), 3);
  return std::sqrt(finite.median().item<double>() / chiMedian);
}

}  // namespace torcht1::mapping
