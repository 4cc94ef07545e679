// ShMOLLI 5(1)1(1)1 on a simulator with piecewise Look-Locker recovery: the conditional fit
// recovers T1 100-2000 ms at 50-100 bpm within 1%, where the plain 7-sample fit is biased.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "torcht1/mapping/MapFitter.h"
#include "torcht1/mapping/MolliAcquisition.h"
#include "torcht1/mapping/ShmolliAcquisition.h"
#include "torcht1/phantom/LookLockerSimulator.h"
#include "torcht1/phantom/MolliScheme.h"

namespace torcht1 {
namespace {

const std::vector<double> kT1 = {100, 150, 200, 300, 400, 500, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000};
const std::vector<double> kHeartRate = {50, 60, 75, 90, 100};

/// One slice per heart rate; in each, one row of `perCell` voxels per T1 and 4 rows of air.
/// T1* = 0.75 T1, A = 500 (noise sigma = A / snr; snr 0: no noise).
struct Grid {
  mapping::FitInput input;
  int64_t perCell = 0;
  int64_t rowOf(size_t t1Index) const { return static_cast<int64_t>(t1Index); }
};

Grid makeGrid(double snr, int64_t perCell, uint64_t seed) {
  const auto scheme = phantom::MolliScheme::parse("5(1)1(1)1");
  Grid g;
  g.perCell = perCell;
  auto& in = g.input;
  in.slices = static_cast<int64_t>(kHeartRate.size());
  in.samples = 7;
  in.rows = static_cast<int64_t>(kT1.size()) + 4;
  in.cols = perCell;
  const int64_t voxels = in.rows * in.cols;
  in.pixels.assign(static_cast<size_t>(in.slices * in.samples * voxels), 0.0f);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0, 1);
  constexpr double a = 500;
  const double sigma = snr > 0 ? a / snr : 0;
  for (int64_t s = 0; s < in.slices; ++s) {
    std::mt19937_64 beats(s);
    const auto line = scheme.timeline(100, 80, 60000.0 / kHeartRate[static_cast<size_t>(s)], 0.0, beats);
    std::vector<size_t> order(line.images.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t i, size_t j) { return line.images[i].inversionTime < line.images[j].inversionTime; });
    for (size_t i : order) in.times.push_back(static_cast<float>(line.images[i].inversionTime));
    for (int64_t r = 0; r < in.rows; ++r) {
      std::vector<double> m(7, 0.0);
      if (r < static_cast<int64_t>(kT1.size())) {
        const double t1 = kT1[static_cast<size_t>(r)], t1star = 0.75 * t1;
        const auto signal = phantom::LookLockerSimulator::signal(line, t1, t1star, a * t1 / t1star);
        for (size_t k = 0; k < 7; ++k) m[k] = signal[order[k]];
      }
      for (int64_t c = 0; c < in.cols; ++c) {
        for (int64_t k = 0; k < 7; ++k) {
          const double value = sigma > 0 ? std::hypot(m[k] + sigma * n(rng), sigma * n(rng)) : std::abs(m[k]);
          in.pixels[static_cast<size_t>((s * 7 + k) * voxels + r * in.cols + c)] = static_cast<float>(value);
        }
      }
    }
  }
  if (snr <= 0) {  // noise-free: no background to measure; fit every tissue voxel
    in.foreground.assign(static_cast<size_t>(in.slices * voxels), 0);
    for (int64_t s = 0; s < in.slices; ++s) {
      for (int64_t v = 0; v < static_cast<int64_t>(kT1.size()) * in.cols; ++v) in.foreground[s * voxels + v] = 1;
    }
  }
  return g;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

/// Median T1 (valid voxels) of each cell, [heart rate][T1], and the median samples used.
struct CellMedians {
  std::vector<std::vector<double>> t1, samples, validShare;
};

CellMedians cells(const Grid& g, const mapping::FitResult& r) {
  CellMedians out;
  const int64_t voxels = g.input.rows * g.input.cols;
  const auto& t1 = r.map("T1");
  const auto samplesMap = r.maps.count("SAMPLES") ? r.map("SAMPLES") : std::vector<float>(t1.size(), 0.0f);
  for (size_t h = 0; h < kHeartRate.size(); ++h) {
    out.t1.emplace_back();
    out.samples.emplace_back();
    out.validShare.emplace_back();
    for (size_t k = 0; k < kT1.size(); ++k) {
      std::vector<double> values, used;
      for (int64_t c = 0; c < g.input.cols; ++c) {
        const int64_t v = static_cast<int64_t>(h) * voxels + g.rowOf(k) * g.input.cols + c;
        used.push_back(samplesMap[v]);
        if (r.status[v] == mapping::VoxelStatus::Valid) values.push_back(t1[v]);
      }
      out.t1.back().push_back(median(values));
      out.samples.back().push_back(median(used));
      out.validShare.back().push_back(static_cast<double>(values.size()) / static_cast<double>(g.input.cols));
    }
  }
  return out;
}

mapping::FitOptions cpu() {
  mapping::FitOptions o;
  o.device = "cpu";
  return o;
}

TEST(ShmolliAcquisition, NoiseFreeConditionalFitWithinOnePercent) {
  const Grid g = makeGrid(0, 4, 1);
  const mapping::MapFitter fitter(cpu());
  const auto r = mapping::ShmolliAcquisition().fit(fitter, g.input);
  const auto m = cells(g, r);
  for (size_t h = 0; h < kHeartRate.size(); ++h) {
    for (size_t k = 0; k < kT1.size(); ++k) {
      EXPECT_NEAR(m.t1[h][k], kT1[k], 0.01 * kT1[k]) << kHeartRate[h] << " bpm, T1 " << kT1[k];
      EXPECT_EQ(m.validShare[h][k], 1.0) << kHeartRate[h] << " bpm, T1 " << kT1[k];
    }
  }
}

TEST(ShmolliAcquisition, NoisyConditionalFitWithinOnePercentAndThePlainFitIsBiased) {
  // SNR 200 of A (about 60 for the myocardium's signal range at native T1), 400 voxels per cell.
  const Grid g = makeGrid(200, 400, 2);
  const mapping::MapFitter fitter(cpu());
  const auto shmolli = cells(g, mapping::ShmolliAcquisition().fit(fitter, g.input));
  const auto plain = cells(g, mapping::MolliAcquisition(cpu()).fit(fitter, g.input));
  double worstBias = 0;
  for (size_t h = 0; h < kHeartRate.size(); ++h) {
    for (size_t k = 0; k < kT1.size(); ++k) {
      const double errShmolli = shmolli.t1[h][k] / kT1[k] - 1, errPlain = plain.t1[h][k] / kT1[k] - 1;
      std::printf("[ info ] %3.0f bpm T1 %4.0f: ShMOLLI %+6.2f%% (samples %.0f), plain 7-sample fit %+6.2f%%\n",
                  kHeartRate[h], kT1[k], 100 * errShmolli, shmolli.samples[h][k], 100 * errPlain);
      EXPECT_LT(std::abs(errShmolli), 0.01) << kHeartRate[h] << " bpm, T1 " << kT1[k];
      EXPECT_GE(shmolli.validShare[h][k], 0.99) << kHeartRate[h] << " bpm, T1 " << kT1[k];
      if (kT1[k] >= 1200) {
        EXPECT_EQ(shmolli.samples[h][k], 5) << "long T1: the first inversion only";
        worstBias = std::min(worstBias, errPlain);
        EXPECT_LT(errPlain, -0.03) << "the plain fit of all 7 must be biased at " << kHeartRate[h] << " bpm, T1 " << kT1[k];
      }
    }
  }
  std::printf("[ info ] worst plain-fit bias for T1 >= 1200 ms: %.1f%%\n", 100 * worstBias);
}

TEST(ShmolliAcquisition, ShortT1UsesTheLaterInversions) {
  const Grid g = makeGrid(200, 400, 3);
  const auto m = cells(g, mapping::ShmolliAcquisition().fit(mapping::MapFitter(cpu()), g.input));
  // At 50 bpm a T1 of 100-300 ms has recovered before the second and third inversions.
  for (size_t k = 0; kT1[k] <= 300; ++k) EXPECT_GE(m.samples[0][k], 6) << "T1 " << kT1[k];
}

TEST(ShmolliAcquisition, RefusesInputThatIsNotSevenSamples) {
  mapping::FitInput in{1, 8, 1, 1, std::vector<float>(8, 1.0f), {100, 180, 260, 1100, 1180, 2100, 3100, 4100}, {}, {}, {}};
  EXPECT_THROW(mapping::ShmolliAcquisition().fit(mapping::MapFitter(cpu()), in), mapping::FitError);
}

}  // namespace
}  // namespace torcht1
