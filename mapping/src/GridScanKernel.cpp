#include "GridScanKernel.h"
#include "TargetClones.h"

#include <algorithm>
#include <limits>
#include <vector>

#include <ATen/Parallel.h>

namespace torcht1::mapping {

namespace {

constexpr int64_t kBlock = 64;  // voxels per inner loop: vector lanes times unrolling

template <typename T>
struct Outputs {
  T* score[2];
  T* peak[2];
  int64_t* index[2];
  T* prev[2];
  T* next[2];
  int64_t* pattern[2];
};

// Compiled for AVX2 and for the baseline, chosen at load time: the binary stays portable.
template <typename T>
TORCHT1_TARGET_CLONES void scanBlock(const T* y, int64_t voxels, int64_t samples,
                                     const T* w, int64_t grid, const T* ws,
                                     int64_t nShared, int64_t patterns, int64_t begin,
                                     int64_t count, Outputs<T> out) {
  T m[64][kBlock];    // projections on the varying direction, per grid point
  T ps[4][kBlock];    // projections on the shared directions
  T s[64][kBlock];    // scores of the current pattern
  T peak[kBlock], score[kBlock];
  int32_t idx[kBlock];  // 32-bit: same vector width as float, so the blends vectorise
  T best0[kBlock], best1[kBlock];
  for (int64_t b = 0; b < count; ++b) best0[b] = best1[b] = -std::numeric_limits<T>::infinity();

  // Pattern 0: plain projections.
  for (int64_t g = 0; g < grid; ++g) {
    for (int64_t b = 0; b < count; ++b) m[g][b] = 0;
    for (int64_t i = 0; i < samples; ++i) {
      const T wi = w[g * samples + i];
      const T* yi = y + i * voxels + begin;
      for (int64_t b = 0; b < count; ++b) m[g][b] += wi * yi[b];
    }
  }
  for (int64_t l = 0; l < nShared; ++l) {
    for (int64_t b = 0; b < count; ++b) ps[l][b] = 0;
    for (int64_t i = 0; i < samples; ++i) {
      const T wi = ws[l * samples + i];
      const T* yi = y + i * voxels + begin;
      for (int64_t b = 0; b < count; ++b) ps[l][b] += wi * yi[b];
    }
  }

  for (int64_t k = 0; k < patterns; ++k) {
    if (k > 0) {
      // Negate sample k - 1: every projection moves by -2 w y.
      const T* yk = y + (k - 1) * voxels + begin;
      for (int64_t g = 0; g < grid; ++g) {
        const T wk = 2 * w[g * samples + k - 1];
        for (int64_t b = 0; b < count; ++b) m[g][b] -= wk * yk[b];
      }
      for (int64_t l = 0; l < nShared; ++l) {
        const T wk = 2 * ws[l * samples + k - 1];
        for (int64_t b = 0; b < count; ++b) ps[l][b] -= wk * yk[b];
      }
    }
    T base[kBlock];
    for (int64_t b = 0; b < count; ++b) base[b] = 0;
    for (int64_t l = 0; l < nShared; ++l) {
      for (int64_t b = 0; b < count; ++b) base[b] += ps[l][b] * ps[l][b];
    }
    for (int64_t b = 0; b < count; ++b) {
      peak[b] = -std::numeric_limits<T>::infinity();
      idx[b] = 0;
    }
    for (int64_t g = 0; g < grid; ++g) {
      for (int64_t b = 0; b < count; ++b) {
        const T v = m[g][b] * m[g][b] + base[b];
        s[g][b] = v;
        const bool better = v > peak[b];
        peak[b] = better ? v : peak[b];
        idx[b] = better ? static_cast<int32_t>(g) : idx[b];
      }
    }
    for (int64_t b = 0; b < count; ++b) {
      const int64_t g = idx[b];  // widened once per pattern, not per grid point
      const T prev = s[g > 0 ? g - 1 : 0][b];
      const T next = s[g < grid - 1 ? g + 1 : grid - 1][b];
      const T curvature = 2 * peak[b] - prev - next;
      const bool interior = g > 0 && g < grid - 1 && curvature > 0;
      score[b] = interior ? peak[b] + (next - prev) * (next - prev) / (8 * curvature) : peak[b];
      const int64_t v = begin + b;
      if (score[b] > best0[b]) {
        best1[b] = best0[b];
        out.score[1][v] = out.score[0][v], out.peak[1][v] = out.peak[0][v], out.index[1][v] = out.index[0][v];
        out.prev[1][v] = out.prev[0][v], out.next[1][v] = out.next[0][v], out.pattern[1][v] = out.pattern[0][v];
        best0[b] = score[b];
        out.score[0][v] = score[b], out.peak[0][v] = peak[b], out.index[0][v] = g;
        out.prev[0][v] = prev, out.next[0][v] = next, out.pattern[0][v] = k;
      } else if (score[b] > best1[b]) {
        best1[b] = score[b];
        out.score[1][v] = score[b], out.peak[1][v] = peak[b], out.index[1][v] = g;
        out.prev[1][v] = prev, out.next[1][v] = next, out.pattern[1][v] = k;
      }
    }
  }
}

template <typename T>
GridScanResult scanTyped(const torch::Tensor& y, const torch::Tensor& varying, const torch::Tensor& shared,
                         int64_t patterns) {
  const int64_t samples = y.size(0), voxels = y.size(1), grid = varying.size(0);
  const int64_t nShared = shared.defined() ? shared.size(0) : 0;
  TORCH_CHECK(grid <= 64 && nShared <= 4 && patterns >= 1 && patterns <= samples,
              "grid scan kernel: unsupported sizes");
  GridScanResult r;
  Outputs<T> out{};
  for (int c = 0; c < 2; ++c) {
    // Voxels with a single pattern keep the first as their second: refining it twice is
    // harmless and the caller skips it by its residual estimate.
    r.score[c] = torch::full({voxels}, -std::numeric_limits<T>::infinity(), y.options());
    r.peak[c] = torch::zeros({voxels}, y.options());
    r.prev[c] = torch::zeros({voxels}, y.options());
    r.next[c] = torch::zeros({voxels}, y.options());
    r.index[c] = torch::zeros({voxels}, y.options().dtype(torch::kLong));
    r.pattern[c] = torch::zeros({voxels}, y.options().dtype(torch::kLong));
    out.score[c] = r.score[c].template data_ptr<T>();
    out.peak[c] = r.peak[c].template data_ptr<T>();
    out.prev[c] = r.prev[c].template data_ptr<T>();
    out.next[c] = r.next[c].template data_ptr<T>();
    out.index[c] = r.index[c].template data_ptr<int64_t>();
    out.pattern[c] = r.pattern[c].template data_ptr<int64_t>();
  }
  torch::Tensor yc = y.contiguous(), wc = varying.to(y.dtype()).contiguous();
  torch::Tensor wsc = nShared > 0 ? shared.to(y.dtype()).contiguous() : torch::zeros({1, samples}, y.options());
  const T* yp = yc.template data_ptr<T>();
  const T* wp = wc.template data_ptr<T>();
  const T* wsp = wsc.template data_ptr<T>();
  const int64_t blocks = (voxels + kBlock - 1) / kBlock;
  at::parallel_for(0, blocks, 16, [&](int64_t first, int64_t last) {
    for (int64_t blk = first; blk < last; ++blk) {
      const int64_t begin = blk * kBlock;
      scanBlock<T>(yp, voxels, samples, wp, grid, wsp, nShared, patterns, begin, std::min(kBlock, voxels - begin), out);
    }
  });
  return r;
}

}  // namespace

GridScanResult GridScanKernel::scan(const torch::Tensor& y, const torch::Tensor& varying, const torch::Tensor& shared,
                                    int64_t patterns) {
  TORCH_CHECK(y.device().is_cpu(), "grid scan kernel runs on the CPU");
  if (y.scalar_type() == torch::kDouble) return scanTyped<double>(y, varying, shared, patterns);
  return scanTyped<float>(y.to(torch::kFloat), varying, shared, patterns);
}

}  // namespace torcht1::mapping
