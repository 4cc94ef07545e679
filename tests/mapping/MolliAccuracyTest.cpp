// The default solver against exact answers: noise-free data must give T1 back within 0.01%
// for every reachable position of the signal null; noisy data must agree with the
// double-precision reference fit within 0.1% for at least 99.9% of tissue voxels.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "ReferenceFit.h"
#include "mapping/FitTestData.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "torcht1/phantom/Tissue.h"

namespace torcht1 {
namespace {

using testdata::MolliVoxel;

/// T1* such that the signal null t0 = T1* ln(B/A) = T1* ln(1 + T1/T1*) falls at `null`
/// (possible for 0 < null < T1); bisection on the increasing function of T1*.
double t1StarForNull(double t1, double null) {
  double lo = 1e-3, hi = 1e7;
  for (int i = 0; i < 200; ++i) {
    const double mid = std::sqrt(lo * hi);
    (mid * std::log1p(t1 / mid) < null ? lo : hi) = mid;
  }
  return std::sqrt(lo * hi);
}

/// Voxels with T1 from 100 to 3000 ms and the null before the first sample, between every
/// pair of neighbouring samples and after the last one, wherever the physics allows: the
/// null t0 = T1 ln(B/A) / (B/A - 1) comes before T1, and MOLLI's B/A lies between about 1.5
/// (poor inversion, strong readout) and 4; we take 1.2 to 6.
std::vector<MolliVoxel> nullSweep(const std::vector<float>& times, std::vector<int>* nullSlot) {
  std::vector<MolliVoxel> voxels;
  std::vector<double> nulls = {0.5 * times.front()};
  for (size_t i = 0; i + 1 < times.size(); ++i) nulls.push_back(0.5 * (times[i] + times[i + 1]));
  nulls.push_back(times.back() + 300.0);
  for (double t1 : {100.0, 200.0, 350.0, 500.0, 750.0, 1000.0, 1300.0, 1600.0, 2000.0, 2500.0, 3000.0}) {
    for (size_t slot = 0; slot < nulls.size(); ++slot) {
      if (nulls[slot] >= 0.95 * t1) continue;
      const double t1star = t1StarForNull(t1, nulls[slot]);
      const double ratio = 1 + t1 / t1star;
      if (ratio < 1.2 || ratio > 6) continue;
      voxels.push_back({500.0, 500.0 * ratio, t1star});
      nullSlot->push_back(static_cast<int>(slot));
    }
  }
  return voxels;
}

void expectNoiseFreeRecovery(const std::vector<float>& times) {
  std::vector<int> slots;
  const auto voxels = nullSweep(times, &slots);
  // Every slot the physics allows for T1 <= 3000 ms must be covered.
  std::vector<bool> slotSeen(times.size() + 1, false);
  for (int s : slots) slotSeen[s] = true;
  for (size_t s = 0; s < slotSeen.size(); ++s) {
    const double slotStart = s == 0 ? 0.0 : times[s - 1];
    if (slotStart < 0.5 * 3000) {
      EXPECT_TRUE(slotSeen[s]) << "no voxel has its null in slot " << s;
    }
  }

  const auto result = mapping::MapFitter(testdata::testOptions()).fit(testdata::molliInput(voxels, times));
  const auto& t1 = result.primary();
  for (size_t v = 0; v < voxels.size(); ++v) {
    EXPECT_EQ(result.status[v], mapping::VoxelStatus::Valid) << "voxel " << v;
    EXPECT_NEAR(t1[v], voxels[v].t1(), 1e-4 * voxels[v].t1())
        << "T1 " << voxels[v].t1() << " ms, T1* " << voxels[v].t1star << " ms, null in slot " << slots[v];
  }
}

TEST(MolliAccuracy, NoiseFreeRecoversT1AtEveryNullPositionStandardTimes) {
  expectNoiseFreeRecovery(testdata::standardTimes());
}

TEST(MolliAccuracy, NoiseFreeRecoversT1AtEveryNullPositionShortTimes) {
  // A fast heart rate (150 bpm) and an irregular set: the null can fall after the last sample.
  const std::vector<float> times = {95, 170, 490, 575, 890, 985, 1290, 1680};
  std::vector<int> slots;
  nullSweep(times, &slots);
  EXPECT_NE(std::find(slots.begin(), slots.end(), static_cast<int>(times.size())), slots.end())
      << "no voxel has its null after the last sample";
  expectNoiseFreeRecovery(times);
}

TEST(MolliAccuracy, NoisyPhantomAgreesWithDoublePrecisionReference) {
  for (bool post : {false, true}) {
    phantom::PhantomOptions po;
    po.size = 96;
    po.slices = 3;
    po.snr = 30;
    po.postContrast = post;
    po.seed = 11;
    const auto ph = phantom::PhantomGenerator(po).generate();
    auto options = testdata::testOptions();
    options.mask.enabled = true;
    const auto result = mapping::MapFitter(options).fit({ph.slices, ph.samples, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}});
    const auto& a = result.map("A");
    const auto& b = result.map("B");
    const auto& t1star = result.map("T1star");

    int64_t tissue = 0, agree = 0, fitted = 0;
    const int64_t voxels = ph.voxelsPerSlice();
    for (int64_t s = 0; s < ph.slices; ++s) {
      // The reference fits every voxel of the slice, sample-major, with that slice's times.
      std::vector<float> y(ph.pixels.begin() + s * ph.samples * voxels, ph.pixels.begin() + (s + 1) * ph.samples * voxels);
      std::vector<float> t(ph.times.begin() + s * ph.samples, ph.times.begin() + (s + 1) * ph.samples);
      const auto reference = testing::referenceMolliFitBatch(t.data(), y.data(), static_cast<int>(ph.samples),
                                                             static_cast<int>(voxels), 2);
      for (int64_t v = 0; v < voxels; ++v) {
        const int64_t i = s * voxels + v;
        if (ph.labels[i] == 0) continue;
        ++tissue;
        if (result.status[i] == mapping::VoxelStatus::Background) continue;
        ++fitted;
        // Raw T1 from the fitted parameters: invalid-flagged voxels are compared too.
        const double ours = t1star[i] * (b[i] / a[i] - 1);
        if (std::abs(ours - reference[v].t1) <= 1e-3 * std::abs(reference[v].t1)) ++agree;
      }
    }
    ASSERT_GT(tissue, 1000);
    EXPECT_EQ(fitted, tissue) << "the background mask removed tissue voxels";
    const double share = static_cast<double>(agree) / static_cast<double>(tissue);
    std::printf("[ info ] %s: %lld of %lld tissue voxels (%.3f%%) within 0.1%% of the reference\n",
                post ? "post-contrast" : "native", static_cast<long long>(agree), static_cast<long long>(tissue),
                100 * share);
    EXPECT_GE(share, 0.999);
  }
}

}  // namespace
}  // namespace torcht1
