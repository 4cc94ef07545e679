#pragma once

#include <torch/torch.h>

namespace torcht1::mapping {

/// Solves many small symmetric positive definite systems H x = b at once, one per voxel.
///
/// `H` is [P, P, voxels] and `b` is [P, voxels]. The Cholesky factorisation is written out in
/// element-wise tensor operations over the voxel dimension, which for P <= ~6 is far faster
/// than a batched LAPACK call per voxel and runs unchanged on a GPU.
class BatchedSpdSolver {
 public:
  struct Solution {
    torch::Tensor x;   // [P, voxels]; always finite (0 where it overflowed or the input was not)
    torch::Tensor ok;  // [voxels] bool: false where a pivot was not positive
  };

  static Solution solve(const torch::Tensor& H, const torch::Tensor& b);
};

}  // namespace torcht1::mapping
