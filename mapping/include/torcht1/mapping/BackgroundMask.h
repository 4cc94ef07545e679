#pragma once

#include <torch/torch.h>

#include "torcht1/mapping/FitOptions.h"

namespace torcht1::mapping {

/// The documented background rule (see MaskOptions): a voxel is fitted when its largest
/// sample reaches `noiseMultiple` times its slice's noise sigma. The rule knows nothing of
/// the brightest tissue, so dark myocardium beside bright fat is fitted as long as it stands
/// clear of the noise.
class BackgroundMask {
 public:
  explicit BackgroundMask(MaskOptions options);

  /// `pixels` [slices, samples, voxels], `sigma` [slices] (0 where no estimate exists: then
  /// every voxel with a non-zero sample is fitted) -> bool [slices, voxels], true where fitted.
  torch::Tensor foreground(const torch::Tensor& pixels, const torch::Tensor& sigma) const;

 private:
  MaskOptions options_;
};

}  // namespace torcht1::mapping
