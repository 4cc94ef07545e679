// White-box test of a private kernel of the mapping library (mapping/src): the fused CPU
// loop and the tensor version it stands in for must give the same answers.
#include <gtest/gtest.h>

#include <limits>

#include "LmStepKernel.h"

namespace torcht1 {
namespace {

using mapping::LmStepKernel;

struct State {
  std::vector<torch::Tensor> theta;
  torch::Tensor step, cost, trialCost, damping, frozen, signalScale;

  State clone() const {
    State s;
    for (const auto& t : theta) s.theta.push_back(t.clone());
    s.step = step.clone();
    s.cost = cost.clone();
    s.trialCost = trialCost.clone();
    s.damping = damping.clone();
    s.frozen = frozen.clone();
    s.signalScale = signalScale.clone();
    return s;
  }
};

// Every branch: accepted and rejected steps, frozen voxels, steps at and far from the
// tolerance, damping at both clamps, cost decreases around the cost tolerance.
State randomState(int64_t voxels, torch::Dtype dtype) {
  torch::manual_seed(7);
  auto o = torch::TensorOptions().dtype(dtype);
  State s;
  s.theta = {torch::randn({voxels}, o) * 500, torch::randn({voxels}, o) * 900, torch::rand({voxels}, o) * 2000 + 10};
  torch::Tensor tiny = torch::rand({voxels}, o) < 0.3;
  s.step = torch::randn({3, voxels}, o) * torch::where(tiny, torch::full({voxels}, 1e-3, o), torch::full({voxels}, 20.0, o));
  s.cost = torch::rand({voxels}, o) * 1e4 + 1;
  torch::Tensor lower = torch::rand({voxels}, o) < 0.6;
  torch::Tensor nearly = torch::rand({voxels}, o) < 0.2;
  s.trialCost = torch::where(lower, s.cost * torch::where(nearly, torch::full({voxels}, 1 - 1e-7, o), torch::rand({voxels}, o)),
                             s.cost * (1 + torch::rand({voxels}, o)));
  s.damping = torch::pow(10.0, torch::randint(-13, 12, {voxels}, o));
  s.frozen = (torch::rand({voxels}, o) < 0.1).to(dtype);
  s.signalScale = torch::rand({voxels}, o) * 1000;
  return s;
}

void expectSameUpdate(torch::Dtype dtype) {
  const State start = randomState(20000, dtype);
  State fused = start.clone(), tensors = start.clone();
  const std::vector<bool> isLinear{true, true, false};
  LmStepKernel::Tolerances tol;
  ASSERT_TRUE(LmStepKernel::fused(fused.cost));
  const int64_t fusedFrozen = LmStepKernel::update(fused.theta, fused.step, fused.cost, fused.trialCost, fused.damping,
                                                   fused.frozen, fused.signalScale, isLinear, tol);
  const int64_t tensorFrozen =
      LmStepKernel::updateWithTensors(tensors.theta, tensors.step, tensors.cost, tensors.trialCost, tensors.damping,
                                      tensors.frozen, tensors.signalScale, isLinear, tol);
  EXPECT_EQ(fusedFrozen, tensorFrozen);
  EXPECT_EQ(fusedFrozen, fused.frozen.sum().item<int64_t>());
  // Some voxels of every kind, so that the comparison means something.
  EXPECT_GT(fusedFrozen, start.frozen.sum().item<int64_t>());
  EXPECT_LT(fusedFrozen, 20000);
  EXPECT_TRUE(torch::equal(fused.frozen, tensors.frozen));
  for (size_t a = 0; a < 3; ++a) EXPECT_TRUE(torch::allclose(fused.theta[a], tensors.theta[a], 1e-6, 1e-6)) << a;
  EXPECT_TRUE(torch::allclose(fused.cost, tensors.cost, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(fused.damping, tensors.damping, 1e-6, 0));
  // The fused loop updates in place: the parameters moved where a step was accepted.
  EXPECT_FALSE(torch::equal(fused.theta[0], start.theta[0]));
}

TEST(LmStepKernel, FusedUpdateAgreesWithTensorVersionFloat) { expectSameUpdate(torch::kFloat32); }
TEST(LmStepKernel, FusedUpdateAgreesWithTensorVersionDouble) { expectSameUpdate(torch::kFloat64); }

TEST(LmStepKernel, ResidualSumOfSquaresReplacesNonFinite) {
  torch::manual_seed(3);
  torch::Tensor prediction = torch::randn({8, 1000});
  torch::Tensor y = torch::randn({8, 1000});
  prediction[2][10] = std::numeric_limits<float>::quiet_NaN();
  prediction[5][20] = std::numeric_limits<float>::infinity();
  prediction[0][30] = 3e19f;  // its square overflows float
  torch::Tensor rss = LmStepKernel::residualSumOfSquares(prediction, y, 1e30);
  torch::Tensor expected = torch::nan_to_num((prediction - y).square().sum(0), 1e30, 1e30, 1e30);
  EXPECT_TRUE(torch::allclose(rss, expected, 1e-5, 1e-5));
  EXPECT_EQ(rss[10].item<float>(), 1e30f);
  EXPECT_EQ(rss[20].item<float>(), 1e30f);
  EXPECT_EQ(rss[30].item<float>(), 1e30f);
}

}  // namespace
}  // namespace torcht1
