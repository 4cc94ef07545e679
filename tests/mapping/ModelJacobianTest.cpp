#include <gtest/gtest.h>

#include "torcht1/mapping/ModelJacobian.h"
#include "torcht1/mapping/MolliModel.h"
#include "torcht1/mapping/MonoExponentialModel.h"

namespace torcht1 {
namespace {

/// The autograd Jacobian against central finite differences, in double precision.
void expectJacobianMatchesFiniteDifferences(const mapping::SignalModel& model, std::vector<torch::Tensor> params,
                                            const torch::Tensor& t) {
  auto ev = mapping::predictImagesWithJacobian(model, params, t, model.magnitude());
  for (size_t p = 0; p < params.size(); ++p) {
    const torch::Tensor h = 1e-6 * params[p].abs().clamp_min(1.0);
    auto plus = params, minus = params;
    plus[p] = params[p] + h;
    minus[p] = params[p] - h;
    torch::Tensor fd = (mapping::predictImages(model, plus, t, model.magnitude()) - mapping::predictImages(model, minus, t, model.magnitude())) / (2 * h);
    EXPECT_TRUE(torch::allclose(ev.jacobian[p], fd, 1e-5, 1e-7))
        << model.name() << " parameter " << model.parameterNames()[p] << "\n"
        << (ev.jacobian[p] - fd).abs().max();
  }
  EXPECT_TRUE(torch::allclose(ev.value, mapping::predictImages(model, params, t, model.magnitude())));
}

TEST(ModelJacobian, MolliMatchesFiniteDifferences) {
  auto opts = torch::kFloat64;
  std::vector<torch::Tensor> params = {torch::tensor({400.0, 300.0, 100.0}, opts),
                                       torch::tensor({920.0, 800.0, 150.0}, opts),
                                       torch::tensor({700.0, 1200.0, 300.0}, opts)};
  torch::Tensor t = torch::tensor({100.0, 180.0, 1100.0, 1180.0, 2100.0, 3100.0}, opts).unsqueeze(1);
  expectJacobianMatchesFiniteDifferences(mapping::MolliModel(), params, t);
}

TEST(ModelJacobian, MonoExponentialMatchesFiniteDifferences) {
  auto opts = torch::kFloat64;
  std::vector<torch::Tensor> params = {torch::tensor({1000.0, 500.0}, opts), torch::tensor({45.0, 120.0}, opts)};
  torch::Tensor t = torch::tensor({0.0, 25.0, 55.0}, opts).unsqueeze(1);
  expectJacobianMatchesFiniteDifferences(mapping::MonoExponentialModel(), params, t);
}

TEST(ModelJacobian, MappedGradientOfMolliT1) {
  auto opts = torch::kFloat64;
  std::vector<torch::Tensor> params = {torch::tensor({400.0}, opts), torch::tensor({920.0}, opts),
                                       torch::tensor({700.0}, opts)};
  torch::Tensor g = mapping::mappedGradient(mapping::MolliModel(), params);
  // T1 = T1* (B/A - 1): dT1/dA = -T1* B / A^2, dT1/dB = T1* / A, dT1/dT1* = B/A - 1.
  EXPECT_NEAR(g[0][0].item<double>(), -700.0 * 920.0 / (400.0 * 400.0), 1e-9);
  EXPECT_NEAR(g[1][0].item<double>(), 700.0 / 400.0, 1e-12);
  EXPECT_NEAR(g[2][0].item<double>(), 920.0 / 400.0 - 1, 1e-12);
}

}  // namespace
}  // namespace torcht1
