// The background rule on the contrast real 3 T slices have: dark myocardium beside bright fat
// and blood. The old rule (largest sample >= 10% of the slice's 99th percentile) blanked
// myocardium there; the noise rule must fit all of it and still call the air background.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "torcht1/mapping/MapFitter.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "torcht1/phantom/Tissue.h"

namespace torcht1 {
namespace {

using phantom::TissueLabel;

double quantile(std::vector<float> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

struct Counts {
  int64_t myocardium = 0, myocardiumNotValid = 0, air = 0, airBackground = 0, oldRuleMyocardiumBlanked = 0;
};

Counts countOn(const phantom::Phantom& ph, const mapping::FitResult& r) {
  Counts c;
  const int64_t voxels = ph.voxelsPerSlice();
  for (int64_t s = 0; s < ph.slices; ++s) {
    std::vector<float> peak(static_cast<size_t>(voxels), 0.0f);
    for (int64_t i = 0; i < ph.samples; ++i) {
      for (int64_t v = 0; v < voxels; ++v) peak[v] = std::max(peak[v], ph.pixels[(s * ph.samples + i) * voxels + v]);
    }
    const double oldCut = 0.1 * quantile(peak, 0.99);
    for (int64_t v = 0; v < voxels; ++v) {
      const auto label = static_cast<TissueLabel>(ph.labels[s * voxels + v]);
      const auto status = r.status[s * voxels + v];
      if (label == TissueLabel::Myocardium) {
        ++c.myocardium;
        c.myocardiumNotValid += status != mapping::VoxelStatus::Valid;
        c.oldRuleMyocardiumBlanked += peak[v] < oldCut;
      } else if (label == TissueLabel::Background) {
        ++c.air;
        c.airBackground += status == mapping::VoxelStatus::Background;
      }
    }
  }
  return c;
}

phantom::Phantom brightFat(double snr, uint64_t seed) {
  phantom::PhantomOptions o;
  o.size = 128;
  o.slices = 2;
  o.snr = snr;
  o.brightFat = true;
  o.seed = seed;
  return phantom::PhantomGenerator(o).generate();
}

TEST(BackgroundRule, ThePhantomHasDarkMyocardiumBesideBrightFat) {
  const auto ph = brightFat(30, 1);
  const int64_t voxels = ph.voxelsPerSlice();
  std::vector<float> myo, fat;
  for (int64_t v = 0; v < voxels; ++v) {
    float peak = 0;
    for (int64_t i = 0; i < ph.samples; ++i) peak = std::max(peak, ph.pixels[i * voxels + v]);
    const auto label = static_cast<TissueLabel>(ph.labels[v]);
    if (label == TissueLabel::Myocardium) myo.push_back(peak);
    if (label == TissueLabel::Fat) fat.push_back(peak);
  }
  const double ratio = quantile(myo, 0.5) / quantile(fat, 0.99);
  std::printf("[ info ] myocardium's largest sample (median) is %.1f%% of the fat's (99th percentile)\n", 100 * ratio);
  EXPECT_GE(ratio, 0.06);
  EXPECT_LE(ratio, 0.10);
}

TEST(BackgroundRule, NoMyocardiumBlankedAndAirStaysBackgroundAtSnr15To60) {
  for (const double snr : {15.0, 30.0, 60.0}) {
    const auto ph = brightFat(snr, 2);
    mapping::FitOptions options;
    options.device = "cpu";
    const auto r = mapping::MapFitter(options).fit({ph.slices, ph.samples, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}});
    const Counts c = countOn(ph, r);
    std::printf("[ info ] SNR %.0f: myocardium %lld voxels, %lld not valid (the old rule blanks %lld); air %lld voxels, "
                "%.3f%% background; noise sigma %.3f (truth %.3f, %s)\n",
                snr, static_cast<long long>(c.myocardium), static_cast<long long>(c.myocardiumNotValid),
                static_cast<long long>(c.oldRuleMyocardiumBlanked), static_cast<long long>(c.air),
                100.0 * static_cast<double>(c.airBackground) / static_cast<double>(c.air), r.sliceStats[0].noiseSigma,
                ph.noiseSigma, r.sliceStats[0].noiseSource.c_str());
    EXPECT_EQ(c.myocardiumNotValid, 0) << "SNR " << snr;
    EXPECT_GE(static_cast<double>(c.airBackground), 0.99 * static_cast<double>(c.air)) << "SNR " << snr;
    EXPECT_GT(c.oldRuleMyocardiumBlanked, 0) << "the phantom must be one the old rule fails on";
    for (const auto& stats : r.sliceStats) {
      EXPECT_EQ(stats.noiseSource, "background");
      EXPECT_NEAR(stats.noiseSigma, ph.noiseSigma, 0.05 * ph.noiseSigma);
    }
  }
}

TEST(BackgroundRule, ASliceWithoutAirTakesTheNoiseFromTheResiduals) {
  // The central 48 x 48 of a 96 x 96 slice: inside the body, no air at all.
  phantom::PhantomOptions o;
  o.size = 96;
  o.slices = 1;
  o.snr = 30;
  o.brightFat = true;
  const auto ph = phantom::PhantomGenerator(o).generate();
  const int64_t n = 48, first = 24;
  mapping::FitInput in{1, ph.samples, n, n, {}, ph.times, {}, {}};
  std::vector<uint8_t> labels;
  for (int64_t i = 0; i < ph.samples; ++i) {
    for (int64_t r = first; r < first + n; ++r) {
      for (int64_t c = first; c < first + n; ++c) in.pixels.push_back(ph.pixels[(i * ph.rows + r) * ph.cols + c]);
    }
  }
  for (int64_t r = first; r < first + n; ++r) {
    for (int64_t c = first; c < first + n; ++c) labels.push_back(ph.labels[r * ph.cols + c]);
  }
  ASSERT_EQ(std::count(labels.begin(), labels.end(), 0), 0) << "the crop must hold no air";
  mapping::FitOptions options;
  options.device = "cpu";
  const auto r = mapping::MapFitter(options).fit(in);
  EXPECT_EQ(r.sliceStats[0].noiseSource, "residuals");
  EXPECT_NEAR(r.sliceStats[0].noiseSigma, ph.noiseSigma, 0.2 * ph.noiseSigma);
  int64_t myocardium = 0, notValid = 0;
  for (size_t v = 0; v < labels.size(); ++v) {
    if (static_cast<TissueLabel>(labels[v]) != TissueLabel::Myocardium) continue;
    ++myocardium;
    notValid += r.status[v] != mapping::VoxelStatus::Valid;
  }
  EXPECT_GT(myocardium, 100);
  EXPECT_EQ(notValid, 0);
}

TEST(BackgroundRule, ThePresentPhantomsKeepEveryTissueButTheLungs) {
  // The benchmark's phantom (SNR 40, native and post-contrast): every voxel of blood,
  // myocardium, liver, muscle and fat is fitted and valid; air stays background.
  for (const bool post : {false, true}) {
    phantom::PhantomOptions o;
    o.size = 96;
    o.slices = 2;
    o.postContrast = post;
    const auto ph = phantom::PhantomGenerator(o).generate();
    mapping::FitOptions options;
    options.device = "cpu";
    const auto r = mapping::MapFitter(options).fit({ph.slices, ph.samples, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}});
    int64_t tissue = 0, notValid = 0, air = 0, airFitted = 0;
    for (size_t v = 0; v < r.status.size(); ++v) {
      const auto label = static_cast<TissueLabel>(ph.labels[v]);
      if (label == TissueLabel::Background) {
        ++air;
        airFitted += r.status[v] != mapping::VoxelStatus::Background;
      } else if (label != TissueLabel::Lung) {
        ++tissue;
        notValid += r.status[v] != mapping::VoxelStatus::Valid;
      }
    }
    EXPECT_EQ(notValid, 0) << (post ? "post-contrast" : "native") << ": of " << tissue;
    EXPECT_LE(static_cast<double>(airFitted), 0.01 * static_cast<double>(air));
  }
}

TEST(BackgroundRule, EachSliceReportsTheShareFittedButInvalid) {
  const auto ph = brightFat(15, 4);
  mapping::FitOptions options;
  options.device = "cpu";
  const auto r = mapping::MapFitter(options).fit({ph.slices, ph.samples, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}});
  for (int64_t s = 0; s < ph.slices; ++s) {
    int64_t fitted = 0, valid = 0;
    for (int64_t v = 0; v < ph.voxelsPerSlice(); ++v) {
      const auto status = r.status[s * ph.voxelsPerSlice() + v];
      fitted += status != mapping::VoxelStatus::Background;
      valid += status == mapping::VoxelStatus::Valid;
    }
    EXPECT_EQ(r.sliceStats[s].fittedVoxels, fitted);
    EXPECT_EQ(r.sliceStats[s].validVoxels, valid);
    EXPECT_NEAR(r.sliceStats[s].invalidPercent(), 100.0 * static_cast<double>(fitted - valid) / static_cast<double>(fitted),
                1e-9);
  }
}

}  // namespace
}  // namespace torcht1
