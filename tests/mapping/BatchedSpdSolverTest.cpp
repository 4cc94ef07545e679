#include <gtest/gtest.h>

#include "torcht1/mapping/BatchedSpdSolver.h"

namespace torcht1 {
namespace {

TEST(BatchedSpdSolver, MatchesLapackOnRandomSystems) {
  torch::manual_seed(0);
  for (int64_t n : {1, 2, 3, 5}) {
    const int64_t batch = 200;
    torch::Tensor m = torch::randn({batch, n, n}, torch::kFloat64);
    torch::Tensor spd = torch::matmul(m, m.transpose(1, 2)) + 0.1 * torch::eye(n, torch::kFloat64);
    torch::Tensor b = torch::randn({batch, n}, torch::kFloat64);
    torch::Tensor expected = torch::linalg_solve(spd, b.unsqueeze(-1)).squeeze(-1);  // [batch, n]
    auto solution = mapping::BatchedSpdSolver::solve(spd.permute({1, 2, 0}).contiguous(), b.t().contiguous());
    EXPECT_TRUE(solution.ok.all().item<bool>());
    EXPECT_TRUE(torch::allclose(solution.x.t(), expected, 1e-8, 1e-8)) << "n = " << n;
  }
}

TEST(BatchedSpdSolver, FlagsIndefiniteSystemsAndStaysFinite) {
  torch::Tensor h = torch::zeros({2, 2, 3}, torch::kFloat64);
  h[0][0] = torch::tensor({1.0, 0.0, -1.0}, torch::kFloat64);
  h[1][1] = torch::tensor({1.0, 1.0, 1.0}, torch::kFloat64);
  auto solution = mapping::BatchedSpdSolver::solve(h, torch::ones({2, 3}, torch::kFloat64));
  EXPECT_TRUE(solution.ok[0].item<bool>());
  EXPECT_FALSE(solution.ok[1].item<bool>());
  EXPECT_FALSE(solution.ok[2].item<bool>());
  EXPECT_TRUE(torch::isfinite(solution.x).all().item<bool>());
}

}  // namespace
}  // namespace torcht1
