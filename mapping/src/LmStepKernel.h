#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace torcht1::mapping {

/// The per-voxel bookkeeping of one Levenberg-Marquardt iteration, after the step is known:
/// accept or reject the step, update the parameters, cost and damping, and decide which
/// voxels have converged. On the CPU it is one pass over the voxels; as tensor operations it
/// was ~30 small operations per iteration, a quarter of the solver's time on 2 cores. The
/// tensor version serves other devices; a test holds the two to the same answers. The
/// Jacobian is not here: it still comes from autograd.
class LmStepKernel {
 public:
  struct Tolerances {
    double step = 1e-4;     // converged: largest relative parameter step at most this
    double cost = 1e-6;     // converged: an accepted step lowered the cost by at most this fraction
    double minDamping = 1e-12;
    double maxDamping = 1e10;  // converged (cannot improve): damping grew past this
  };

  /// Sum over samples of (prediction - y)^2 per voxel, [voxels]; a non-finite sum reads
  /// `nonFinite`. `prediction`, `y` [samples, voxels].
  static torch::Tensor residualSumOfSquares(const torch::Tensor& prediction, const torch::Tensor& y,
                                            double nonFinite);

  /// One iteration's update, in place. A voxel that is not `frozen` and whose `trialCost` is
  /// at most its `cost` takes `step` [P, voxels] into `theta` (P tensors [voxels]) and the
  /// lower cost, and its damping shrinks tenfold; otherwise its damping grows tenfold. A
  /// voxel freezes (and stays frozen) when its relative step (against |theta|, plus
  /// `signalScale` for linear parameters) is at most the step tolerance, its damping passes
  /// the maximum, or an accepted step lowered the cost by a negligible fraction. `frozen` is
  /// a [voxels] float 0/1 tensor. Returns the number of frozen voxels.
  static int64_t update(std::vector<torch::Tensor>& theta, const torch::Tensor& step, torch::Tensor& cost,
                        const torch::Tensor& trialCost, torch::Tensor& damping, torch::Tensor& frozen,
                        const torch::Tensor& signalScale, const std::vector<bool>& isLinear,
                        const Tolerances& tolerances);

  /// Whether the functions above run the fused CPU loop for tensors like these.
  static bool fused(const torch::Tensor& like);

  /// The tensor version of update(), which update() runs where the fused loop does not apply
  /// (public so that a test can hold the two to the same answers).
  static int64_t updateWithTensors(std::vector<torch::Tensor>& theta, const torch::Tensor& step, torch::Tensor& cost,
                                   const torch::Tensor& trialCost, torch::Tensor& damping, torch::Tensor& frozen,
                                   const torch::Tensor& signalScale, const std::vector<bool>& isLinear,
                                   const Tolerances& tolerances);
};

}  // namespace torcht1::mapping
