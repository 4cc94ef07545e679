#include "torcht1/mapping/MolliModel.h"

namespace torcht1::mapping {

torch::Tensor MolliModel::signal(const std::vector<torch::Tensor>& params,
                                 const torch::Tensor& t) const {
  const auto& a = params.at(0);
  const auto& b = params.at(1);
  const auto& t1star = params.at(2);
  return a - b * torch::exp(-t / t1star);
}

void MolliModel::canonicalize(std::vector<torch::Tensor>& params) const {
  // |A - B e| = |-A + B e|: keep the representative with A >= 0.
  torch::Tensor flip = params.at(0) < 0;
  params[0] = torch::where(flip, -params[0], params[0]);
  params[1] = torch::where(flip, -params[1], params[1]);
}

torch::Tensor MolliModel::mapped(const std::vector<torch::Tensor>& params) const {
  return params.at(2) * (params.at(1) / params.at(0) - 1);
}

torch::Tensor MolliModel::physical(const std::vector<torch::Tensor>& params) const {
  return SignalModel::physical(params)
      .logical_and(params.at(0) > 0)
      .logical_and(params.at(1) > params.at(0))
      .logical_and(params.at(2) > 0);
}

}  // namespace torcht1::mapping
