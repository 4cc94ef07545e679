#include "torcht1/mapping/AdamSolver.h"

#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/ModelJacobian.h"

namespace torcht1::mapping {

AdamSolver::AdamSolver(AdamOptions options) : options_(options) {
  options_.validate();
}

SolverSolution AdamSolver::solve(const SignalModel& model, const torch::Tensor& y,
                                 const torch::Tensor& t) const {
  torch::AutoGradMode gradMode(true);  // callers may run under NoGradGuard
  const int64_t nParams = model.parameterCount();
  const int64_t voxels = y.size(1);
  const auto typical = model.typicalValues();
  std::vector<bool> isLinear(nParams, false);
  for (int l : model.linearParameters()) isLinear[l] = true;

  torch::Tensor signalScale = y.abs().amax(0).clamp_min(1e-12);
  std::vector<torch::Tensor> scale(nParams);
  for (int64_t p = 0; p < nParams; ++p) {
    scale[p] = isLinear[p] ? signalScale * typical[p] : torch::full({voxels}, typical[p], y.options());
  }
  // Scaled parameters, all starting at 1: the model's typical values.
  torch::Tensor x = torch::ones({nParams, voxels}, y.options()).requires_grad_(true);
  torch::optim::Adam optimizer({x}, torch::optim::AdamOptions(options_.learningRate));

  auto unscaled = [&](const torch::Tensor& scaled) {
    std::vector<torch::Tensor> params(nParams);
    for (int64_t p = 0; p < nParams; ++p) params[p] = scaled[p] * scale[p];
    return params;
  };

  int iteration = 0;
  double windowStartLoss = -1;
  while (iteration < options_.maxIterations) {
    optimizer.zero_grad();
    torch::Tensor loss = (predictImages(model, unscaled(x), t, model.magnitude()) - y).square().mean();
    loss.backward();
    optimizer.step();
    ++iteration;
    if (iteration % options_.window == 0) {
      const double current = loss.item<double>();
      if (windowStartLoss > 0 && (windowStartLoss - current) <= options_.tolerance * windowStartLoss) break;
      windowStartLoss = current;
    }
  }

  torch::NoGradGuard noGrad;
  std::vector<torch::Tensor> params = unscaled(x.detach());
  model.canonicalize(params);
  torch::Tensor rss = (predictImages(model, params, t, model.magnitude()) - y).square().sum(0);
  return {params, rss, iteration};
}

}  // namespace torcht1::mapping
