#include "torcht1/mapping/LevenbergMarquardtSolver.h"

#include <algorithm>

#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/ModelJacobian.h"
#include "LmStepKernel.h"
#include "NormalEquationsKernel.h"

namespace torcht1::mapping {

namespace {

constexpr double kMinDamping = 1e-12;
constexpr double kMaxDamping = 1e10;  // a voxel whose damping grows past this cannot improve

torch::Tensor residualSumOfSquares(const SignalModel& model, const std::vector<torch::Tensor>& params,
                                   const torch::Tensor& y, const torch::Tensor& t, bool magnitude) {
  return (predictImages(model, params, t, magnitude) - y).square().sum(0);
}

}  // namespace

LevenbergMarquardtSolver::LevenbergMarquardtSolver(LevenbergMarquardtOptions options)
    : options_(options) {
  options_.validate();
}

SolverSolution LevenbergMarquardtSolver::solve(const SignalModel& model, const torch::Tensor& y,
                                               const torch::Tensor& t,
                                               std::vector<torch::Tensor> start,
                                               bool magnitude) const {
  torch::NoGradGuard noGrad;
  const int64_t nParams = static_cast<int64_t>(start.size());
  const int64_t voxels = y.size(1);
  const bool perVoxelTimes = t.size(1) == voxels && voxels != 1;

  // Final values, written back as voxels converge.
  std::vector<torch::Tensor> params;
  for (auto& p : start) params.push_back(p.detach().clone());
  torch::Tensor rss = residualSumOfSquares(model, params, y, t, magnitude);

  // The working set: voxels still iterating, compacted as others converge.
  torch::Tensor active = torch::arange(voxels, y.options().dtype(torch::kLong));
  std::vector<torch::Tensor> theta;  // updated in place: its own storage
  for (const auto& p : params) theta.push_back(p.clone());
  torch::Tensor ya = y, ta = t, cost = rss.clone();
  torch::Tensor damping = torch::full({voxels}, options_.initialDamping, y.options());
  // Scale against which steps of linear parameters are judged: the voxel's signal level.
  torch::Tensor signalScale = y.abs().amax(0);
  std::vector<bool> isLinear(nParams, false);
  for (int l : model.linearParameters()) isLinear[l] = true;

  // Voxels that have converged but are still in the working set stay frozen (their steps
  // are masked) until enough have gathered to make compacting the set worth its cost.
  torch::Tensor frozen = torch::zeros_like(cost);
  constexpr double kHuge = 1e30;
  LmStepKernel::Tolerances tolerances;
  tolerances.step = options_.stepTolerance;
  tolerances.cost = options_.costTolerance;
  tolerances.minDamping = kMinDamping;
  tolerances.maxDamping = kMaxDamping;
  int iteration = 0;
  while (iteration < options_.maxIterations && active.numel() > 0) {
    ++iteration;
    ModelEvaluation ev = predictImagesWithJacobian(model, theta, ta, magnitude);
    // Marquardt: the damping scales the diagonal, so that units do not matter. The step is
    // finite, and 0 where the damped system is not positive definite.
    torch::Tensor step = NormalEquationsKernel::solve(ev.jacobian, ev.value - ya, torch::Tensor(), damping).x;

    std::vector<torch::Tensor> trial(nParams);
    for (int64_t a = 0; a < nParams; ++a) trial[a] = theta[a] + step[a];
    torch::Tensor trialCost = LmStepKernel::residualSumOfSquares(predictImages(model, trial, ta, magnitude), ya, kHuge);
    // Accept or reject, update, and freeze the voxels that converged: a step at the precision
    // of the arithmetic (whether or not rounding let it lower the cost), a cost that an
    // accepted step lowered by a negligible fraction, or a damping so large that no step helps.
    const int64_t frozenCount =
        LmStepKernel::update(theta, step, cost, trialCost, damping, frozen, signalScale, isLinear, tolerances);
    const int64_t nActive = active.numel();
    const int64_t nFrozen = iteration == options_.maxIterations ? nActive : frozenCount;
    if (nFrozen == 0 || (nFrozen * 4 < nActive && nActive > 4096 && iteration < options_.maxIterations)) continue;

    torch::Tensor isFrozen = frozen > 0;
    if (iteration == options_.maxIterations) isFrozen = torch::ones_like(isFrozen);
    torch::Tensor finished = isFrozen.nonzero().squeeze(1);
    torch::Tensor target = active.index_select(0, finished);
    for (int64_t a = 0; a < nParams; ++a) {
      params[a].index_copy_(0, target, theta[a].index_select(0, finished));
    }
    rss.index_copy_(0, target, cost.index_select(0, finished));
    if (nFrozen == nActive) break;

    torch::Tensor keep = isFrozen.logical_not().nonzero().squeeze(1);
    active = active.index_select(0, keep);
    for (int64_t a = 0; a < nParams; ++a) theta[a] = theta[a].index_select(0, keep);
    ya = ya.index_select(1, keep);
    if (perVoxelTimes) ta = ta.index_select(1, keep);
    cost = cost.index_select(0, keep);
    damping = damping.index_select(0, keep);
    signalScale = signalScale.index_select(0, keep);
    frozen = torch::zeros_like(cost);
  }
  return {params, rss, iteration};
}

}  // namespace torcht1::mapping
