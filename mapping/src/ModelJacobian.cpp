#include "torcht1/mapping/ModelJacobian.h"

namespace torcht1::mapping {

torch::Tensor predictImages(const SignalModel& model, const std::vector<torch::Tensor>& params,
                            const torch::Tensor& t, bool magnitude) {
  std::vector<torch::Tensor> rows;
  rows.reserve(params.size());
  for (const auto& p : params) rows.push_back(p.unsqueeze(0));
  torch::Tensor s = model.signal(rows, t);
  return magnitude ? s.abs() : s;
}

ModelEvaluation predictImagesWithJacobian(const SignalModel& model,
                                          const std::vector<torch::Tensor>& params,
                                          const torch::Tensor& t, bool magnitude) {
  torch::AutoGradMode gradMode(true);
  const int64_t samples = t.size(0);
  const int64_t voxels = params.at(0).size(0);
  std::vector<torch::Tensor> leaves;
  leaves.reserve(params.size());
  for (const auto& p : params) {
    leaves.push_back(p.detach().unsqueeze(0).expand({samples, voxels}).requires_grad_(true));
  }
  torch::Tensor s = model.signal(leaves, t);
  if (magnitude) s = s.abs();
  // The model is element-wise, so d sum(s) / d leaf_p(i, v) = d s(i, v) / d param_p(v).
  auto grads = torch::autograd::grad({s}, leaves, {torch::ones_like(s)},
                                     /*retain_graph=*/false, /*create_graph=*/false,
                                     /*allow_unused=*/true);
  for (size_t p = 0; p < grads.size(); ++p) {
    if (!grads[p].defined()) grads[p] = torch::zeros_like(leaves[p]);
  }
  return {s.detach(), torch::stack(grads)};
}

torch::Tensor mappedGradient(const SignalModel& model, const std::vector<torch::Tensor>& params) {
  torch::AutoGradMode gradMode(true);
  std::vector<torch::Tensor> leaves;
  leaves.reserve(params.size());
  for (const auto& p : params) leaves.push_back(p.detach().clone().requires_grad_(true));
  torch::Tensor m = model.mapped(leaves);
  auto grads = torch::autograd::grad({m}, leaves, {torch::ones_like(m)}, false, false, true);
  for (size_t p = 0; p < grads.size(); ++p) {
    if (!grads[p].defined()) grads[p] = torch::zeros_like(leaves[p]);
  }
  return torch::stack(grads);
}

}  // namespace torcht1::mapping
