#include "torcht1/mapping/BackgroundMask.h"

#include <algorithm>
#include <cmath>

namespace torcht1::mapping {

BackgroundMask::BackgroundMask(MaskOptions options) : options_(options) {}

torch::Tensor BackgroundMask::foreground(const torch::Tensor& pixels) const {
  torch::NoGradGuard noGrad;
  torch::Tensor peak = pixels.amax(1);  // [slices, voxels]
  if (!options_.enabled) return torch::ones_like(peak, torch::kBool);
  const int64_t voxels = peak.size(1);
  const int64_t k = std::clamp<int64_t>(
      static_cast<int64_t>(std::llround(options_.percentile * static_cast<double>(voxels - 1))) + 1,
      1, voxels);
  torch::Tensor reference = std::get<0>(peak.kthvalue(k, 1, /*keepdim=*/true));
  return (peak >= options_.threshold * reference).logical_and(peak > 0);
}

}  // namespace torcht1::mapping
