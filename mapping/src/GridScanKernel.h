#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace torcht1::mapping {

/// The best two sign patterns of every voxel, each with its best grid point: what
/// VarProInitializer ranks, as [voxels] tensors per rank.
struct GridScanResult {
  torch::Tensor score[2];    // vertex of the parabola through peak and neighbours
  torch::Tensor peak[2];     // best grid score
  torch::Tensor index[2];    // best grid point (int64)
  torch::Tensor prev[2];     // score one grid point below (peak where at the edge)
  torch::Tensor next[2];     // score one grid point above
  torch::Tensor pattern[2];  // leading samples negated (int64)
};

/// CPU kernel for the variable-projection grid scan over sign patterns: one pass over the
/// data per block of voxels, every pattern derived from the previous one by a rank-one
/// update (negating one more sample changes each projection by -2 w_k y_k), the top two
/// patterns tracked per voxel. It replaces a matrix product, a reduction with indices and a
/// dozen selections per pattern, which dominated the fit on the CPU. VarProInitializer uses
/// it on the CPU for one grid-dependent direction (every model here) and keeps the tensor
/// version for other devices; a test holds the two to the same answers.
class GridScanKernel {
 public:
  /// `y` [samples, voxels] (float or double, contiguous, CPU); `varying` [grid, samples] the
  /// grid-dependent projection rows; `shared` [directions, samples] rows the same at every
  /// grid point (may be undefined); patterns k = 0 .. `patterns` - 1.
  static GridScanResult scan(const torch::Tensor& y, const torch::Tensor& varying, const torch::Tensor& shared,
                             int64_t patterns);
};

}  // namespace torcht1::mapping
