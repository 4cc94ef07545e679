#pragma once

#include "torcht1/mapping/SignalModel.h"

namespace torcht1::mapping {

/// Mono-exponential decay S(t) = M0 exp(-t / T2), e.g. T2 mapping from T2-prepared images
/// with t the preparation time. Parameters M0, T2 (ms); mapped quantity T2. A second model
/// that shows the solver interface is generic: no derivative is written here either.
class MonoExponentialModel : public SignalModel {
 public:
  std::string name() const override { return "t2"; }
  std::vector<std::string> parameterNames() const override { return {"M0", "T2"}; }
  torch::Tensor signal(const std::vector<torch::Tensor>& params,
                       const torch::Tensor& t) const override;
  std::vector<int> linearParameters() const override { return {0}; }
  int nonlinearParameter() const override { return 1; }
  std::pair<double, double> nonlinearRange() const override { return {2.0, 2000.0}; }
  std::vector<double> typicalValues() const override { return {1.0, 60.0}; }
  std::string mappedName() const override { return "T2"; }
  torch::Tensor mapped(const std::vector<torch::Tensor>& params) const override;
  /// M0 > 0 and T2 > 0.
  torch::Tensor physical(const std::vector<torch::Tensor>& params) const override;
};

}  // namespace torcht1::mapping
