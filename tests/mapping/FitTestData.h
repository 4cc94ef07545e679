#pragma once

// Small helpers shared by the mapping tests: synthetic MOLLI voxels and fitting them.

#include <cmath>
#include <random>
#include <vector>

#include "torcht1/mapping/FitInput.h"
#include "torcht1/mapping/FitOptions.h"
#include "torcht1/mapping/MapFitter.h"

namespace torcht1::testdata {

/// Standard 5(3)3 inversion times at 60 bpm (ms).
inline std::vector<float> standardTimes() { return {100, 180, 1100, 1180, 2100, 2180, 3100, 4100}; }

struct MolliVoxel {
  double a, b, t1star;
  double t1() const { return t1star * (b / a - 1); }
};

/// One slice of `voxels.size()` x 1 voxels with magnitude MOLLI signals, optional Rician noise.
inline mapping::FitInput molliInput(const std::vector<MolliVoxel>& voxels, const std::vector<float>& times,
                                    double sigma = 0, uint64_t seed = 7) {
  mapping::FitInput in;
  in.slices = 1;
  in.samples = static_cast<int64_t>(times.size());
  in.rows = static_cast<int64_t>(voxels.size());
  in.cols = 1;
  in.times = times;
  in.pixels.resize(in.samples * in.rows);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0, 1);
  for (int64_t i = 0; i < in.samples; ++i) {
    for (int64_t v = 0; v < in.rows; ++v) {
      const auto& vx = voxels[v];
      const double s = vx.a - vx.b * std::exp(-times[i] / vx.t1star);
      in.pixels[i * in.rows + v] =
          static_cast<float>(sigma > 0 ? std::hypot(s + sigma * gauss(rng), sigma * gauss(rng)) : std::abs(s));
    }
  }
  return in;
}

/// Fit options for tests: CPU, no background mask (every voxel is tissue).
inline mapping::FitOptions testOptions() {
  mapping::FitOptions o;
  o.device = "cpu";
  o.mask.enabled = false;
  return o;
}

}  // namespace torcht1::testdata
