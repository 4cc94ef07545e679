#include "NormalEquationsKernel.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/Parallel.h>

#include "torcht1/mapping/BatchedSpdSolver.h"
#include "TargetClones.h"

namespace torcht1::mapping {

namespace {

constexpr int64_t kMaxParams = 8;
constexpr int64_t kBlock = 64;  // voxels per inner loop, so that every loop vectorises

// Compiled for AVX2 and for the baseline, chosen at load time: the binary stays portable.
template <typename T>
TORCHT1_TARGET_CLONES void solveBlock(const T* jac, const T* res, const T* rhs,
                                      const T* damping, T* x, bool* ok, int64_t params,
                                      int64_t samples, int64_t voxels, int64_t begin,
                                      int64_t count) {
  T h[kMaxParams][kMaxParams][kBlock];
  T b[kMaxParams][kBlock];
  for (int64_t a = 0; a < params; ++a) {
    for (int64_t c = 0; c <= a; ++c) {
      for (int64_t v = 0; v < count; ++v) h[a][c][v] = 0;
      for (int64_t i = 0; i < samples; ++i) {
        const T* ja = jac + (a * samples + i) * voxels + begin;
        const T* jc = jac + (c * samples + i) * voxels + begin;
        for (int64_t v = 0; v < count; ++v) h[a][c][v] += ja[v] * jc[v];
      }
    }
    if (res) {
      for (int64_t v = 0; v < count; ++v) b[a][v] = 0;
      for (int64_t i = 0; i < samples; ++i) {
        const T* ja = jac + (a * samples + i) * voxels + begin;
        const T* ri = res + i * voxels + begin;
        for (int64_t v = 0; v < count; ++v) b[a][v] -= ja[v] * ri[v];
      }
    } else {
      for (int64_t v = 0; v < count; ++v) b[a][v] = rhs[a * voxels + begin + v];
    }
  }
  if (damping) {
    for (int64_t a = 0; a < params; ++a) {
      for (int64_t v = 0; v < count; ++v) h[a][a][v] = h[a][a][v] * (1 + damping[begin + v]) + T(1e-30);
    }
  }
  // Cholesky (lower triangle in place) and the two substitutions, every voxel of the
  // block in lock-step; a non-positive pivot is replaced by 1 and the voxel marked.
  bool positive[kBlock];
  for (int64_t v = 0; v < count; ++v) positive[v] = true;
  for (int64_t j = 0; j < params; ++j) {
    for (int64_t k = 0; k < j; ++k) {
      for (int64_t v = 0; v < count; ++v) h[j][j][v] -= h[j][k][v] * h[j][k][v];
    }
    for (int64_t v = 0; v < count; ++v) {
      const bool good = h[j][j][v] > 0 && h[j][j][v] < std::numeric_limits<T>::infinity();
      positive[v] = positive[v] && good;
      h[j][j][v] = std::sqrt(good ? h[j][j][v] : T(1));
    }
    for (int64_t i = j + 1; i < params; ++i) {
      for (int64_t k = 0; k < j; ++k) {
        for (int64_t v = 0; v < count; ++v) h[i][j][v] -= h[i][k][v] * h[j][k][v];
      }
      for (int64_t v = 0; v < count; ++v) h[i][j][v] /= h[j][j][v];
    }
  }
  for (int64_t i = 0; i < params; ++i) {
    for (int64_t k = 0; k < i; ++k) {
      for (int64_t v = 0; v < count; ++v) b[i][v] -= h[i][k][v] * b[k][v];
    }
    for (int64_t v = 0; v < count; ++v) b[i][v] /= h[i][i][v];
  }
  for (int64_t i = params - 1; i >= 0; --i) {
    for (int64_t k = i + 1; k < params; ++k) {
      for (int64_t v = 0; v < count; ++v) b[i][v] -= h[k][i][v] * b[k][v];
    }
    for (int64_t v = 0; v < count; ++v) b[i][v] /= h[i][i][v];
  }
  for (int64_t v = 0; v < count; ++v) {
    for (int64_t a = 0; a < params; ++a) positive[v] = positive[v] && std::abs(b[a][v]) < std::numeric_limits<T>::infinity();
    ok[begin + v] = positive[v];
  }
  for (int64_t a = 0; a < params; ++a) {
    for (int64_t v = 0; v < count; ++v) x[a * voxels + begin + v] = positive[v] ? b[a][v] : T(0);
  }
}

template <typename T>
NormalEquationsKernel::Solution solveTyped(const torch::Tensor& jacobian, const torch::Tensor& residual,
                                           const torch::Tensor& rhs, const torch::Tensor& damping) {
  const int64_t params = jacobian.size(0), samples = jacobian.size(1), voxels = jacobian.size(2);
  torch::Tensor j = jacobian.contiguous();
  torch::Tensor r = residual.defined() ? residual.contiguous() : torch::Tensor();
  torch::Tensor b = rhs.defined() ? rhs.contiguous() : torch::Tensor();
  torch::Tensor d = damping.defined() ? damping.contiguous() : torch::Tensor();
  torch::Tensor x = torch::empty({params, voxels}, jacobian.options());
  torch::Tensor ok = torch::empty({voxels}, jacobian.options().dtype(torch::kBool));
  const T* jp = j.data_ptr<T>();
  const T* rp = r.defined() ? r.data_ptr<T>() : nullptr;
  const T* bp = b.defined() ? b.data_ptr<T>() : nullptr;
  const T* dp = d.defined() ? d.data_ptr<T>() : nullptr;
  T* xp = x.data_ptr<T>();
  bool* okp = ok.data_ptr<bool>();
  const int64_t blocks = (voxels + kBlock - 1) / kBlock;
  at::parallel_for(0, blocks, 32, [&](int64_t first, int64_t last) {
    for (int64_t blk = first; blk < last; ++blk) {
      const int64_t begin = blk * kBlock;
      solveBlock<T>(jp, rp, bp, dp, xp, okp, params, samples, voxels, begin, std::min(kBlock, voxels - begin));
    }
  });
  return {x, ok};
}

}  // namespace

bool NormalEquationsKernel::fused(const torch::Tensor& jacobian) {
  return jacobian.device().is_cpu() && jacobian.size(0) <= kMaxParams &&
         (jacobian.scalar_type() == torch::kFloat || jacobian.scalar_type() == torch::kDouble);
}

NormalEquationsKernel::Solution NormalEquationsKernel::solve(const torch::Tensor& jacobian,
                                                             const torch::Tensor& residual, const torch::Tensor& rhs,
                                                             const torch::Tensor& damping) {
  if (fused(jacobian)) {
    if (jacobian.scalar_type() == torch::kDouble) return solveTyped<double>(jacobian, residual, rhs, damping);
    return solveTyped<float>(jacobian, residual, rhs, damping);
  }
  // Tensor version, for other devices.
  const int64_t params = jacobian.size(0), voxels = jacobian.size(2);
  torch::Tensor h = torch::empty({params, params, voxels}, jacobian.options());
  torch::Tensor b = residual.defined() ? torch::empty({params, voxels}, jacobian.options()) : rhs;
  for (int64_t a = 0; a < params; ++a) {
    if (residual.defined()) b[a] = -(jacobian[a] * residual).sum(0);
    for (int64_t c = 0; c <= a; ++c) {
      torch::Tensor v = (jacobian[a] * jacobian[c]).sum(0);
      h[a][c] = v;
      if (a != c) h[c][a] = v;
    }
  }
  if (damping.defined()) {
    for (int64_t a = 0; a < params; ++a) h[a][a] = h[a][a] * (1 + damping) + 1e-30;
  }
  BatchedSpdSolver::Solution s = BatchedSpdSolver::solve(h, b);
  return {s.x * s.ok.to(s.x.dtype()), s.ok};
}

}  // namespace torcht1::mapping
