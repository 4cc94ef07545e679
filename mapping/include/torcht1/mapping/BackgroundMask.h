#pragma once

#include <torch/torch.h>

#include "torcht1/mapping/FitOptions.h"

namespace torcht1::mapping {

/// The documented background rule (see MaskOptions): a voxel is fitted when its largest
/// sample reaches `threshold` times the `percentile` quantile of that per-voxel maximum over
/// its slice. A quantile rather than the maximum keeps one bright artefact from masking out
/// the whole slice.
class BackgroundMask {
 public:
  explicit BackgroundMask(MaskOptions options);

  /// `pixels` [slices, samples, voxels] -> bool [slices, voxels], true where fitted.
  torch::Tensor foreground(const torch::Tensor& pixels) const;

 private:
  MaskOptions options_;
};

}  // namespace torcht1::mapping
