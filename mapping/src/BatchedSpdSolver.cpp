#include "torcht1/mapping/BatchedSpdSolver.h"

#include <vector>

namespace torcht1::mapping {

BatchedSpdSolver::Solution BatchedSpdSolver::solve(const torch::Tensor& H, const torch::Tensor& b) {
  const int64_t n = H.size(0);
  // Cholesky H = L L^T, column by column; L(i, j) is a [voxels] tensor.
  std::vector<std::vector<torch::Tensor>> L(n, std::vector<torch::Tensor>(n));
  torch::Tensor ok = torch::ones_like(b[0], torch::kBool);
  for (int64_t j = 0; j < n; ++j) {
    torch::Tensor d = H[j][j].clone();
    for (int64_t k = 0; k < j; ++k) d -= L[j][k] * L[j][k];
    torch::Tensor positive = d > 0;
    ok = ok.logical_and(positive);
    // A non-positive pivot gets a stand-in (1) so every voxel still yields numbers; the
    // caller discards those voxels through `ok`. (An arithmetic blend: torch::where is slow
    // on the CPU in this LibTorch.)
    torch::Tensor p = positive.to(d.dtype());
    L[j][j] = torch::sqrt(torch::nan_to_num(d, 1.0, 1.0, 1.0) * p + (1 - p));
    for (int64_t i = j + 1; i < n; ++i) {
      torch::Tensor s = H[i][j].clone();
      for (int64_t k = 0; k < j; ++k) s -= L[i][k] * L[j][k];
      L[i][j] = s / L[j][j];
    }
  }
  // Forward substitution L z = b, then back substitution L^T x = z.
  std::vector<torch::Tensor> z(n), x(n);
  for (int64_t i = 0; i < n; ++i) {
    torch::Tensor s = b[i].clone();
    for (int64_t k = 0; k < i; ++k) s -= L[i][k] * z[k];
    z[i] = s / L[i][i];
  }
  for (int64_t i = n - 1; i >= 0; --i) {
    torch::Tensor s = z[i].clone();
    for (int64_t k = i + 1; k < n; ++k) s -= L[k][i] * x[k];
    x[i] = s / L[i][i];
  }
  // Overflow or NaN input must not leak out: callers use x directly.
  return {torch::nan_to_num(torch::stack(x), 0.0, 0.0, 0.0), ok};
}

}  // namespace torcht1::mapping
