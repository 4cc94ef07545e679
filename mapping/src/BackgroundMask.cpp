#include "torcht1/mapping/BackgroundMask.h"

namespace torcht1::mapping {

BackgroundMask::BackgroundMask(MaskOptions options) : options_(options) {}

torch::Tensor BackgroundMask::foreground(const torch::Tensor& pixels, const torch::Tensor& sigma) const {
  torch::NoGradGuard noGrad;
  torch::Tensor peak = pixels.amax(1);  // [slices, voxels]
  if (!options_.enabled) return torch::ones_like(peak, torch::kBool);
  const torch::Tensor level = (options_.noiseMultiple * sigma).to(peak.options()).unsqueeze(1);
  return (peak >= level).logical_and(peak > 0);
}

}  // namespace torcht1::mapping
