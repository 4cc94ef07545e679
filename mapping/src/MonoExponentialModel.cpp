#include "torcht1/mapping/MonoExponentialModel.h"

namespace torcht1::mapping {

torch::Tensor MonoExponentialModel::signal(const std::vector<torch::Tensor>& params,
                                           const torch::Tensor& t) const {
  return params.at(0) * torch::exp(-t / params.at(1));
}

torch::Tensor MonoExponentialModel::mapped(const std::vector<torch::Tensor>& params) const {
  return params.at(1);
}

torch::Tensor MonoExponentialModel::physical(const std::vector<torch::Tensor>& params) const {
  return SignalModel::physical(params).logical_and(params.at(0) > 0).logical_and(params.at(1) > 0);
}

}  // namespace torcht1::mapping
