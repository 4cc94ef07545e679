#include "torcht1/mapping/BloodPool.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "torcht1/mapping/FitError.h"

namespace torcht1::mapping {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = 0.5 * (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)));
  return m;
}

}  // namespace

BloodPoolFinder::BloodPoolFinder(Options options) : options_(options) {
  if (!(options_.nativeMinMs > 0)) throw FitError("blood pool: native minimum T1 must be > 0 ms");
  if (!(options_.postToNativeMax > 0 && options_.postToNativeMax <= 1)) {
    throw FitError("blood pool: post/native T1 ratio must be 0..1");
  }
  if (!(options_.erosionMm >= 0 && options_.erosionMm <= 20)) throw FitError("blood pool: erosion must be 0..20 mm");
  if (options_.minVoxels < 1) throw FitError("blood pool: minimum voxels must be >= 1");
}

BloodPool BloodPoolFinder::find(const std::vector<float>& native, const std::vector<float>& post, int64_t rows,
                                int64_t cols, double rowSpacingMm, double colSpacingMm) const {
  const size_t voxels = static_cast<size_t>(rows * cols);
  if (native.size() != voxels || (!post.empty() && post.size() != voxels)) {
    throw FitError("blood pool: the maps must be rows x cols");
  }
  BloodPool pool;
  std::vector<uint8_t> candidate(voxels, 0);
  for (size_t v = 0; v < voxels; ++v) {
    const bool longNative = native[v] >= options_.nativeMinMs;
    const bool shortPost = post.empty() || (post[v] > 0 && post[v] <= options_.postToNativeMax * native[v]);
    candidate[v] = longNative && shortPost ? 1 : 0;
  }
  // Connected regions (4-neighbours), scored by size and nearness to the image centre.
  std::vector<int32_t> label(voxels, -1);
  const double sigmaMm = options_.centreSigmaFraction *
                         std::min(static_cast<double>(rows) * rowSpacingMm, static_cast<double>(cols) * colSpacingMm);
  double bestScore = 0;
  std::vector<size_t> best;
  std::vector<size_t> stack, region;
  int32_t next = 0;
  for (size_t start = 0; start < voxels; ++start) {
    if (!candidate[start] || label[start] >= 0) continue;
    region.clear();
    stack.assign(1, start);
    label[start] = next;
    while (!stack.empty()) {
      const size_t v = stack.back();
      stack.pop_back();
      region.push_back(v);
      const int64_t r = static_cast<int64_t>(v) / cols, c = static_cast<int64_t>(v) % cols;
      const int64_t nr[4] = {r - 1, r + 1, r, r}, nc[4] = {c, c, c - 1, c + 1};
      for (int k = 0; k < 4; ++k) {
        if (nr[k] < 0 || nr[k] >= rows || nc[k] < 0 || nc[k] >= cols) continue;
        const size_t n = static_cast<size_t>(nr[k] * cols + nc[k]);
        if (candidate[n] && label[n] < 0) {
          label[n] = next;
          stack.push_back(n);
        }
      }
    }
    ++next;
    double sr = 0, sc = 0;
    for (const size_t v : region) {
      sr += static_cast<double>(v / static_cast<size_t>(cols));
      sc += static_cast<double>(v % static_cast<size_t>(cols));
    }
    const double n = static_cast<double>(region.size());
    const double dy = (sr / n + 0.5 - 0.5 * static_cast<double>(rows)) * rowSpacingMm;
    const double dx = (sc / n + 0.5 - 0.5 * static_cast<double>(cols)) * colSpacingMm;
    const double score = n * std::exp(-0.5 * (dx * dx + dy * dy) / (sigmaMm * sigmaMm));
    if (score > bestScore) {
      bestScore = score;
      best = region;
    }
  }
  if (best.empty()) {
    char buffer[200];
    std::snprintf(buffer, sizeof buffer, "no blood pool: no region with native T1 >= %.0f ms%s", options_.nativeMinMs,
                  post.empty() ? "" : " and a post-contrast T1 below half of it");
    pool.reason = buffer;
    return pool;
  }
  // Erode: k passes of 4-neighbour erosion, k the erosion in pixels.
  std::vector<uint8_t> mask(voxels, 0);
  for (const size_t v : best) mask[v] = 1;
  const int passes = static_cast<int>(std::lround(options_.erosionMm / std::min(rowSpacingMm, colSpacingMm)));
  for (int p = 0; p < passes; ++p) {
    std::vector<uint8_t> eroded(voxels, 0);
    for (int64_t r = 1; r + 1 < rows; ++r) {
      for (int64_t c = 1; c + 1 < cols; ++c) {
        const size_t v = static_cast<size_t>(r * cols + c);
        eroded[v] = mask[v] && mask[v - 1] && mask[v + 1] && mask[v - static_cast<size_t>(cols)] &&
                    mask[v + static_cast<size_t>(cols)];
      }
    }
    mask.swap(eroded);
  }
  std::vector<double> nativeValues, postValues;
  double sr = 0, sc = 0;
  for (size_t v = 0; v < voxels; ++v) {
    if (!mask[v]) continue;
    nativeValues.push_back(native[v]);
    if (!post.empty()) postValues.push_back(post[v]);
    sr += static_cast<double>(v / static_cast<size_t>(cols));
    sc += static_cast<double>(v % static_cast<size_t>(cols));
  }
  pool.voxels = static_cast<int64_t>(nativeValues.size());
  if (pool.voxels < options_.minVoxels) {
    char buffer[200];
    std::snprintf(buffer, sizeof buffer,
                  "no blood pool: the largest blood region near the centre has %zu voxels, %lld after eroding %.1f mm "
                  "(at least %lld needed)",
                  best.size(), static_cast<long long>(pool.voxels), options_.erosionMm,
                  static_cast<long long>(options_.minVoxels));
    pool.reason = buffer;
    return pool;
  }
  pool.found = true;
  pool.mask = std::move(mask);
  pool.nativeT1Ms = median(nativeValues);
  pool.postT1Ms = median(postValues);
  pool.centreRow = sr / static_cast<double>(pool.voxels);
  pool.centreCol = sc / static_cast<double>(pool.voxels);
  return pool;
}

}  // namespace torcht1::mapping
