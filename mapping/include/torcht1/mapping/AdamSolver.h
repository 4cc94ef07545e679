#pragma once

#include <torch/torch.h>

#include "torcht1/mapping/FitOptions.h"
#include "torcht1/mapping/SignalModel.h"
#include "torcht1/mapping/SolverSolution.h"

namespace torcht1::mapping {

/// The TorchT1 paper's solver: all voxels' parameters in one tensor, the mean squared error
/// of the model over all voxels as the loss, torch::optim::Adam. See AdamOptions for the
/// parameter scaling, start values and convergence criterion.
class AdamSolver {
 public:
  explicit AdamSolver(AdamOptions options);

  /// `y` [samples, voxels], `t` [samples, voxels] or [samples, 1].
  SolverSolution solve(const SignalModel& model, const torch::Tensor& y,
                       const torch::Tensor& t) const;

 private:
  AdamOptions options_;
};

}  // namespace torcht1::mapping
