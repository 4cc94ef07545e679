#pragma once

#include <vector>

#include <torch/torch.h>

#include "torcht1/mapping/SignalModel.h"

namespace torcht1::mapping {

/// Start values for the least-squares fit by variable projection.
///
/// For a fixed value of the nonlinear parameter the model is linear in the others, so the
/// best residual over them is the part of the data outside the span of the model's basis
/// functions. The initializer scores a log-spaced grid of the nonlinear parameter with one
/// orthonormalised basis per grid point (a matrix product for all voxels), refines the best
/// point by a parabola through its neighbours, and solves the linear parameters there.
///
/// Polarity restoration for magnitude models: the sign of the images before the signal null
/// is lost. For each voxel the fit tries sign patterns "the first k samples are negative",
/// with k around the sample of smallest magnitude, and keeps the pattern that fits best.
/// (For any sign pattern s, (|f| - y)^2 <= (f - s y)^2, so the magnitude optimum is the best
/// signed fit over the patterns; a monotonic signal only allows these N + 1.) When the null
/// falls close to a sample, two patterns fit almost equally well and the grid cannot tell
/// which is best, so the initializer returns the best two, each to be refined by a smooth
/// signed fit; the better refined fit wins.
class VarProInitializer {
 public:
  /// A start for every voxel with one sign pattern.
  struct Start {
    std::vector<torch::Tensor> params;  // one [voxels] tensor per model parameter
    torch::Tensor pattern;              // [voxels]: how many leading samples are negated
    torch::Tensor residual;             // [voxels]: the grid's estimate of the best RSS
    torch::Tensor signedY;              // the data with the pattern applied (solved ranks only)
  };

  /// `cpuKernel`: on the CPU, scan the grid with the fused kernel where it applies (the
  /// tensor version gives the same answers, slower; tests compare the two).
  VarProInitializer(int gridPoints, int polarityCandidates, bool cpuKernel = true);

  /// `y` is one slice's voxels [samples, voxels], `t` that slice's times [samples]. Returns
  /// the best start and, for magnitude models, the start with the second-best pattern.
  /// Starts of rank `solvedRanks` and beyond carry only the nonlinear parameter (the caller
  /// may need the others for a few voxels only: see solveLinear).
  std::vector<Start> initialize(const SignalModel& model, const torch::Tensor& y, const torch::Tensor& t,
                                int64_t solvedRanks = 2) const;

  /// Fills the linear parameters of `params` (one [voxels] tensor per model parameter) given
  /// its nonlinear one: least squares on `signedY` [samples, voxels] (sign pattern applied),
  /// `t` [samples] or [samples, voxels].
  static void solveLinear(const SignalModel& model, const torch::Tensor& signedY, const torch::Tensor& t,
                          std::vector<torch::Tensor>& params);

  /// The data with the first `pattern(v)` samples of voxel v negated.
  static torch::Tensor applyPattern(const torch::Tensor& y, const torch::Tensor& pattern);

 private:
  int gridPoints_;
  int polarityCandidates_;
  bool cpuKernel_;
};

}  // namespace torcht1::mapping
