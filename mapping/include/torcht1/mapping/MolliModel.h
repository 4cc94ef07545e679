#pragma once

#include "torcht1/mapping/SignalModel.h"

namespace torcht1::mapping {

/// The MOLLI three-parameter model S(t) = |A - B exp(-t / T1*)|, with the Look-Locker
/// correction T1 = T1* (B / A - 1). Parameters A, B, T1star (ms); mapped quantity T1 (ms).
class MolliModel : public SignalModel {
 public:
  std::string name() const override { return "molli"; }
  std::vector<std::string> parameterNames() const override { return {"A", "B", "T1star"}; }
  torch::Tensor signal(const std::vector<torch::Tensor>& params,
                       const torch::Tensor& t) const override;
  bool magnitude() const override { return true; }
  std::vector<int> linearParameters() const override { return {0, 1}; }
  int nonlinearParameter() const override { return 2; }
  std::pair<double, double> nonlinearRange() const override { return {10.0, 8000.0}; }
  void canonicalize(std::vector<torch::Tensor>& params) const override;
  std::vector<double> typicalValues() const override { return {1.0, 2.0, 1000.0}; }
  std::string mappedName() const override { return "T1"; }
  torch::Tensor mapped(const std::vector<torch::Tensor>& params) const override;
  /// A > 0, B > A (an inversion happened) and T1* > 0.
  torch::Tensor physical(const std::vector<torch::Tensor>& params) const override;
};

}  // namespace torcht1::mapping
