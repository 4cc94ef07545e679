#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "torcht1/phantom/MolliScheme.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "torcht1/phantom/Tissue.h"

namespace torcht1 {
namespace {

TEST(MolliScheme, ImageCountsAndTiming) {
  EXPECT_EQ(phantom::MolliScheme::parse("5(3)3").imageCount(), 8);
  EXPECT_EQ(phantom::MolliScheme::parse("4(1)3(1)2").imageCount(), 9);
  EXPECT_EQ(phantom::MolliScheme::parse("3(3)3(3)5").imageCount(), 11);
  EXPECT_THROW(phantom::MolliScheme::parse("5(3)"), std::invalid_argument);
  std::mt19937_64 rng(1);
  const auto ti = phantom::MolliScheme::parse("5(3)3").inversionTimes(100, 80, 1000, 0, rng);
  EXPECT_EQ(ti, (std::vector<double>{100, 180, 1100, 1180, 2100, 2180, 3100, 4100}));
}

TEST(PhantomGenerator, TruthIsConsistentAndSlicesHaveTheirOwnTimes) {
  phantom::PhantomOptions po;
  po.size = 64;
  po.slices = 3;
  const auto ph = phantom::PhantomGenerator(po).generate();
  EXPECT_EQ(ph.samples, 8);
  EXPECT_EQ(ph.pixels.size(), static_cast<size_t>(3 * 8 * 64 * 64));
  std::set<int> labels(ph.labels.begin(), ph.labels.end());
  EXPECT_EQ(labels.size(), 7u) << "background and six tissues";
  for (size_t i = 0; i < ph.t1.size(); ++i) {
    if (ph.labels[i] == 0) continue;
    EXPECT_NEAR(ph.t1star[i] * (ph.b[i] / ph.a[i] - 1), ph.t1[i], 1e-3 * ph.t1[i]);
  }
  EXPECT_NE(ph.times[8 + 2], ph.times[2]) << "heart rate differs per slice";
  for (int s = 0; s < 3; ++s) EXPECT_TRUE(std::is_sorted(ph.times.begin() + s * 8, ph.times.begin() + (s + 1) * 8));
}

TEST(PhantomGenerator, MyocardiumAndBloodHaveLiteratureT1) {
  for (bool post : {false, true}) {
    phantom::PhantomOptions po;
    po.size = 64;
    po.slices = 1;
    po.postContrast = post;
    const auto ph = phantom::PhantomGenerator(po).generate();
    double myo = 0, blood = 0;
    int nm = 0, nb = 0;
    for (size_t i = 0; i < ph.t1.size(); ++i) {
      if (ph.labels[i] == static_cast<uint8_t>(phantom::TissueLabel::Myocardium)) myo += ph.t1[i], ++nm;
      if (ph.labels[i] == static_cast<uint8_t>(phantom::TissueLabel::Blood)) blood += ph.t1[i], ++nb;
    }
    ASSERT_GT(nm, 10);
    ASSERT_GT(nb, 10);
    EXPECT_NEAR(myo / nm, post ? 450 : 1000, 30);
    EXPECT_NEAR(blood / nb, post ? 300 : 1600, 40);
  }
}

TEST(PhantomGenerator, NoiseLevelMatchesSnr) {
  phantom::PhantomOptions po;
  po.size = 64;
  po.slices = 1;
  po.snr = 20;
  const auto ph = phantom::PhantomGenerator(po).generate();
  // Background is Rayleigh: mean = sigma sqrt(pi/2).
  double sum = 0;
  int n = 0;
  for (size_t v = 0; v < ph.labels.size(); ++v) {
    if (ph.labels[v] == 0) sum += ph.pixels[v], ++n;
  }
  EXPECT_NEAR(sum / n, ph.noiseSigma * std::sqrt(M_PI / 2), 0.05 * ph.noiseSigma);
}

TEST(PhantomGenerator, PartialVolumeMixesTheEdgesAndKeepsPurePixels) {
  phantom::PhantomOptions po;
  po.size = 96;
  po.slices = 1;
  po.noise = false;
  const auto sharp = phantom::PhantomGenerator(po).generate();
  po.partialVolume = 4;
  const auto mixed = phantom::PhantomGenerator(po).generate();
  EXPECT_TRUE(std::all_of(sharp.purity.begin(), sharp.purity.end(), [](float p) { return p == 1.0f; }));
  EXPECT_EQ(sharp.labels, mixed.labels);
  EXPECT_EQ(sharp.t1, mixed.t1);
  const int64_t voxels = sharp.voxelsPerSlice();
  int64_t pure = 0, edges = 0, between = 0;
  for (int64_t v = 0; v < voxels; ++v) {
    if (mixed.purity[v] == 1.0f) {
      // A pixel of one tissue keeps its centre's signal in every image.
      ++pure;
      for (int64_t i = 0; i < sharp.samples; ++i) ASSERT_EQ(mixed.pixels[i * voxels + v], sharp.pixels[i * voxels + v]) << v;
      continue;
    }
    ASSERT_GT(mixed.purity[v], 0.0f);
    ++edges;
    // The key image (all magnetisation positive) of a mixed pixel lies within the range of
    // its neighbourhood's pure signals.
    const int64_t key = sharp.samples - 1, r = v / sharp.cols, c = v % sharp.cols;
    float lo = 1e30f, hi = 0;
    for (int64_t dr = -1; dr <= 1; ++dr) {
      for (int64_t dc = -1; dc <= 1; ++dc) {
        const int64_t rr = std::clamp<int64_t>(r + dr, 0, sharp.rows - 1), cc = std::clamp<int64_t>(c + dc, 0, sharp.cols - 1);
        lo = std::min(lo, sharp.pixels[key * voxels + rr * sharp.cols + cc]);
        hi = std::max(hi, sharp.pixels[key * voxels + rr * sharp.cols + cc]);
      }
    }
    const float value = mixed.pixels[key * voxels + v];
    between += value >= lo - 1e-3f && value <= hi + 1e-3f;
  }
  EXPECT_GT(pure, voxels / 2);
  EXPECT_GT(edges, 200);
  EXPECT_EQ(between, edges);
  po.partialVolume = 9;
  EXPECT_THROW(phantom::PhantomGenerator{po}, std::invalid_argument);
}

}  // namespace
}  // namespace torcht1
