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
  T peak[kBlock], prev[kBlock], next[kBlock], last[kBlock];
  int32_t idx[kBlock];  // 32-bit: same vector width as float, so the blends vectorise
  // The two best patterns so far (their defaults stand where a voxel has no second).
  struct Rank {
    T score[kBlock], peak[kBlock], prev[kBlock], next[kBlock];
    int32_t index[kBlock], pattern[kBlock];
  } r0, r1;
  for (Rank* r : {&r0, &r1}) {
    for (int64_t b = 0; b < count; ++b) {
      r->score[b] = -std::numeric_limits<T>::infinity();
      r->peak[b] = r->prev[b] = r->next[b] = 0;
      r->index[b] = r->pattern[b] = 0;
    }
  }

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
    // Best grid point with its neighbours' scores (the edge point stands in for a missing
    // neighbour), tracked while streaming over the grid so that every loop vectorises.
    for (int64_t b = 0; b < count; ++b) {
      const T v = m[0][b] * m[0][b] + base[b];
      const bool better = v > -std::numeric_limits<T>::infinity();  // false for NaN
      peak[b] = better ? v : -std::numeric_limits<T>::infinity();
      prev[b] = v;
      next[b] = std::numeric_limits<T>::quiet_NaN();
      idx[b] = 0;
      last[b] = v;
    }
    for (int64_t g = 1; g < grid; ++g) {
      const auto gi = static_cast<int32_t>(g);
      for (int64_t b = 0; b < count; ++b) {
        const T v = m[g][b] * m[g][b] + base[b];
        next[b] = idx[b] == gi - 1 ? v : next[b];
        const bool better = v > peak[b];
        prev[b] = better ? last[b] : prev[b];
        peak[b] = better ? v : peak[b];
        idx[b] = better ? gi : idx[b];
        last[b] = v;
      }
    }
    const auto lastIndex = static_cast<int32_t>(grid - 1);
    const auto pattern = static_cast<int32_t>(k);
    for (int64_t b = 0; b < count; ++b) {
      if (grid == 1 || idx[b] == lastIndex) next[b] = peak[b];
      const T curvature = 2 * peak[b] - prev[b] - next[b];
      const bool interior = idx[b] > 0 && idx[b] < lastIndex && curvature > 0;
      const T score = interior ? peak[b] + (next[b] - prev[b]) * (next[b] - prev[b]) / (8 * curvature) : peak[b];
      // Rank 1 becomes the old rank 0 (a new best) or this pattern (a new second).
      const bool first = score > r0.score[b];
      const bool second = !first && score > r1.score[b];
      r1.score[b] = first ? r0.score[b] : second ? score : r1.score[b];
      r1.peak[b] = first ? r0.peak[b] : second ? peak[b] : r1.peak[b];
      r1.prev[b] = first ? r0.prev[b] : second ? prev[b] : r1.prev[b];
      r1.next[b] = first ? r0.next[b] : second ? next[b] : r1.next[b];
      r1.index[b] = first ? r0.index[b] : second ? idx[b] : r1.index[b];
      r1.pattern[b] = first ? r0.pattern[b] : second ? pattern : r1.pattern[b];
      r0.score[b] = first ? score : r0.score[b];
      r0.peak[b] = first ? peak[b] : r0.peak[b];
      r0.prev[b] = first ? prev[b] : r0.prev[b];
      r0.next[b] = first ? next[b] : r0.next[b];
      r0.index[b] = first ? idx[b] : r0.index[b];
      r0.pattern[b] = first ? pattern : r0.pattern[b];
    }
  }
  for (int rank = 0; rank < 2; ++rank) {
    const Rank& r = rank == 0 ? r0 : r1;
    for (int64_t b = 0; b < count; ++b) {
      const int64_t v = begin + b;
      out.score[rank][v] = r.score[b];
      out.peak[rank][v] = r.peak[b];
      out.prev[rank][v] = r.prev[b];
      out.next[rank][v] = r.next[b];
      out.index[rank][v] = r.index[b];
      out.pattern[rank][v] = r.pattern[b];
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
