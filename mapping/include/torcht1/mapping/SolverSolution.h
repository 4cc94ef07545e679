#pragma once

#include <vector>

#include <torch/torch.h>

namespace torcht1::mapping {

/// What a solver returns for a batch of voxels.
struct SolverSolution {
  std::vector<torch::Tensor> params;  // one [voxels] tensor per model parameter
  torch::Tensor rss;                  // [voxels] residual sum of squares
  int iterations = 0;                 // iterations of the slowest voxel
};

}  // namespace torcht1::mapping
