#pragma once

#include <vector>

#include <torch/torch.h>

#include "torcht1/mapping/FitOptions.h"
#include "torcht1/mapping/SignalModel.h"
#include "torcht1/mapping/SolverSolution.h"

namespace torcht1::mapping {

/// Batched Levenberg-Marquardt: every voxel is its own least-squares problem with its own
/// damping, solved in lock-step as tensors. The Jacobian comes from autograd
/// (predictImagesWithJacobian); the damped normal equations use Marquardt's diagonal
/// scaling, so the solver does not depend on parameter units. Voxels leave the batch as soon
/// as they converge, so late iterations cost little.
class LevenbergMarquardtSolver {
 public:
  explicit LevenbergMarquardtSolver(LevenbergMarquardtOptions options);

  /// `y` [samples, voxels], `t` [samples, voxels] or [samples, 1], `start` one [voxels]
  /// tensor per parameter. `magnitude`: fit |signal| (y are magnitudes); otherwise the signal
  /// itself, as for sign-restored data, which keeps the problem smooth.
  SolverSolution solve(const SignalModel& model, const torch::Tensor& y, const torch::Tensor& t,
                       std::vector<torch::Tensor> start, bool magnitude) const;

 private:
  LevenbergMarquardtOptions options_;
};

}  // namespace torcht1::mapping
