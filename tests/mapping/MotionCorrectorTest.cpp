// Motion correction on moving phantoms (192x192 MOLLI, SNR 60, as in the issue): drift, a
// gasp, a non-rigid warp, the gasp on an image near the blood's null, post-contrast, ShMOLLI,
// several slices, non-square images, and a still series that must come out unharmed. The
// truth is in the position of each slice's key image (its longest inversion time).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "torcht1/mapping/Device.h"
#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/MapFitter.h"
#include "torcht1/mapping/MotionCorrector.h"
#include "torcht1/mapping/SchemeCatalog.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "torcht1/phantom/Tissue.h"

#include <torch/torch.h>

namespace torcht1 {
namespace {

using phantom::TissueLabel;

mapping::FitInput inputOf(const phantom::Phantom& ph) {
  mapping::FitInput in;
  in.slices = ph.slices;
  in.samples = ph.samples;
  in.rows = ph.rows;
  in.cols = ph.cols;
  in.pixels = ph.pixels;
  in.times = ph.times;
  return in;
}

/// The phantom with only its first `cols` columns (non-square images).
phantom::Phantom cropColumns(const phantom::Phantom& ph, int64_t cols) {
  phantom::Phantom out = ph;
  out.cols = cols;
  auto crop = [&](const auto& v, int64_t planes) {
    std::decay_t<decltype(v)> c;
    for (int64_t p = 0; p < planes; ++p) {
      for (int64_t r = 0; r < ph.rows; ++r) {
        const auto* row = &v[static_cast<size_t>((p * ph.rows + r) * ph.cols)];
        c.insert(c.end(), row, row + cols);
      }
    }
    return c;
  };
  out.pixels = crop(ph.pixels, ph.slices * ph.samples);
  out.labels = crop(ph.labels, ph.slices);
  out.t1 = crop(ph.t1, ph.slices);
  out.purity = crop(ph.purity, ph.slices);
  return out;
}

/// Share (%) of myocardial voxels whose T1 is within 5% of the truth (with partial volume,
/// of the pixels wholly myocardium: a mixed pixel has no one T1).
double myocardiumWithin5(const phantom::Phantom& ph, const std::vector<float>& t1) {
  int64_t myo = 0, good = 0;
  for (size_t v = 0; v < ph.labels.size(); ++v) {
    if (ph.labels[v] != static_cast<uint8_t>(TissueLabel::Myocardium) || ph.purity[v] < 1) continue;
    ++myo;
    good += std::abs(t1[v] - ph.t1[v]) <= 0.05 * ph.t1[v];
  }
  return 100.0 * static_cast<double>(good) / static_cast<double>(std::max<int64_t>(1, myo));
}

struct Outcome {
  double without = 0, with = 0;
  mapping::MotionCorrection moco;
};

mapping::FitOptions cpuOptions() {
  mapping::FitOptions fo;
  fo.device = "cpu";
  return fo;
}

/// The scheme the catalogue picks for the phantom (so ShMOLLI is fitted as ShMOLLI).
mapping::SchemeCatalog::Identification schemeOf(const phantom::Phantom& ph, const mapping::SchemeCatalog& catalog) {
  mapping::SchemeEvidence evidence;
  evidence.description = ph.scheme == "5(1)1(1)1" ? "ShMOLLI" : "MOLLI";
  for (int64_t s = 0; s < ph.slices; ++s) {
    evidence.inversionTimes.emplace_back(ph.times.begin() + s * ph.samples, ph.times.begin() + (s + 1) * ph.samples);
  }
  auto identified = catalog.identify(evidence);
  EXPECT_NE(identified.scheme, nullptr) << identified.reason;
  return identified;
}

/// Fits the phantom without and with motion correction, through its scheme, and prints what
/// the correction did.
Outcome run(const phantom::Phantom& ph, const mapping::MotionOptions& mo = {},
            const mapping::FitOptions& fo = cpuOptions()) {
  const mapping::MapFitter fitter(fo);
  const mapping::SchemeCatalog catalog(fo);
  const auto identified = schemeOf(ph, catalog);
  Outcome o;
  const auto in = inputOf(ph);
  o.without = myocardiumWithin5(ph, identified.scheme->fit(fitter, in).primary());
  o.moco = mapping::MotionCorrector(mo).correct(*identified.scheme, fitter, in, ph.pixelSpacingMm, ph.pixelSpacingMm);
  o.with = myocardiumWithin5(ph, o.moco.fit.primary());
  // The corrector's fit is the scheme's fit of its output.
  EXPECT_EQ(o.moco.fit.primary(), identified.scheme->fit(fitter, o.moco.input).primary());
  for (size_t s = 0; s < o.moco.slices.size(); ++s) {
    const auto& m = o.moco.slices[s];
    float truth = 0;
    for (int64_t i = 0; i < ph.samples; ++i) truth = std::max(truth, ph.trueDisplacementMm[s * ph.samples + i]);
    std::printf("  slice %zu: %s%s, displacement %.2f mm (truth %.2f), min Jacobian %.3f, residual %.4g -> %.4g, "
                "inherited %d, rigid only %d\n",
                s, m.corrected ? "corrected" : "not corrected: ", m.reason.c_str(), m.maxDisplacementMm, truth,
                m.minJacobian, m.residualBefore, m.residualAfter, m.inheritedImages, m.rigidOnlyImages);
  }
  std::printf("  myocardium within 5%%: %.1f%% without, %.1f%% with motion correction (%.0f ms)\n", o.without, o.with,
              1e3 * o.moco.seconds);
  return o;
}

phantom::PhantomOptions moving(double motion, double gasp, double warp) {
  phantom::PhantomOptions po;
  po.size = 192;
  po.slices = 1;
  po.snr = 60;
  po.motionMm = motion;
  po.gaspMm = gasp;
  po.warpMm = warp;
  return po;
}

phantom::Phantom make(const phantom::PhantomOptions& po) { return phantom::PhantomGenerator(po).generate(); }

/// Every image's displacement as found against the truth.
void expectDisplacements(const phantom::Phantom& ph, const mapping::MotionCorrection& moco, double toleranceMm) {
  for (int64_t s = 0; s < ph.slices; ++s) {
    for (int64_t i = 0; i < ph.samples; ++i) {
      EXPECT_NEAR(moco.slices[s].imageDisplacementMm[i], ph.trueDisplacementMm[s * ph.samples + i], toleranceMm)
          << "slice " << s << " image " << i << " (TI " << ph.times[s * ph.samples + i] << " ms)";
    }
  }
}

TEST(MotionCorrector, RigidDrift) {
  const auto ph = make(moving(6, 0, 0));
  const auto o = run(ph);
  EXPECT_TRUE(o.moco.slices[0].corrected);
  EXPECT_LE(o.without, 87.0) << "the phantom must show the damage";
  // Measured 91.6% at 192x192 (91.9% before the search and the last round went to full
  // size; 88.3% with plain bicubic before the final warp was clamped): see README.
  EXPECT_GE(o.with, 90.5);
  // The largest in the valid tissue: the smooth non-rigid field adds up to ~2 mm (measured
  // 2.2) somewhere, even to a rigid motion.
  expectDisplacements(ph, o.moco, 2.5);
}

TEST(MotionCorrector, GaspOnOneImage) {
  const auto ph = make(moving(3, 8, 0));
  const auto o = run(ph);
  EXPECT_LE(o.without, 76.0);
  // Measured 92.5% (93.3% with the search stopping at whole pixels of half size and every
  // round at half size; 90.2% with plain bicubic).
  EXPECT_GE(o.with, 92.0);
  expectDisplacements(ph, o.moco, 2.5);
  int64_t gasp = 0;  // the image the gasp hit: the largest true displacement
  for (int64_t i = 0; i < ph.samples; ++i) gasp = ph.trueDisplacementMm[i] > ph.trueDisplacementMm[gasp] ? i : gasp;
  EXPECT_GT(ph.trueDisplacementMm[gasp], 9.0);
  // The largest in the valid tissue, where the affine part's small scale adds to the
  // translation at the tissue's far edge: measured 11.3 mm against 10.0 true.
  EXPECT_NEAR(o.moco.slices[0].imageDisplacementMm[gasp], ph.trueDisplacementMm[gasp], 1.5);
}

TEST(MotionCorrector, GaspOnTheImageNearTheBloodNull) {
  auto po = moving(0, 8, 0);
  po.gaspSample = 2;  // TI ~1065 ms: the blood pool is near its null, dark
  const auto ph = make(po);
  const auto o = run(ph);
  EXPECT_GE(o.with, o.without + 5.0);
  EXPECT_GE(o.with, 90.0);
  expectDisplacements(ph, o.moco, 2.5);
}

TEST(MotionCorrector, NonRigidWarpNeedsTheNonRigidStep) {
  const auto ph = make(moving(4, 6, 3));
  const auto withDemons = run(ph);
  mapping::MotionOptions affineOnly;
  affineOnly.nonRigid = false;
  const auto withoutDemons = run(ph, affineOnly);
  EXPECT_LE(withDemons.without, 70.0);
  EXPECT_GE(withDemons.with, 83.0);
  EXPECT_GE(withDemons.with, withoutDemons.with + 5.0) << "the demons step must add to the affine one";
  EXPECT_GT(withDemons.moco.slices[0].minJacobian, 0.5) << "a smooth warp, no folding";
}

TEST(MotionCorrector, StillSeriesIsLeftAsItIs) {
  const auto ph = make(moving(0, 0, 0));
  // Stopped after the first round: nothing moved by half a pixel (measured 0.7 mm, 1.9 mm
  // pixels), so neither more rounds nor a warp (131 ms against 450 ms).
  const auto o = run(ph);
  EXPECT_FALSE(o.moco.slices[0].corrected);
  EXPECT_NE(o.moco.slices[0].reason.find("no motion found"), std::string::npos) << o.moco.slices[0].reason;
  EXPECT_EQ(o.moco.input.pixels, ph.pixels) << "the unregistered images are fitted";
  EXPECT_NEAR(o.with, o.without, 0.2);
  EXPECT_LT(o.moco.slices[0].maxDisplacementMm, 1.0);
  EXPECT_EQ(o.moco.fits, 2) << "the unregistered fit and one round's";
  // Without that stop, the residual rule refuses the registration.
  mapping::MotionOptions always;
  always.stillPixels = 0;
  const auto full = run(ph, always);
  EXPECT_FALSE(full.moco.slices[0].corrected);
  EXPECT_NE(full.moco.slices[0].reason.find("residual"), std::string::npos) << full.moco.slices[0].reason;
  EXPECT_EQ(full.moco.input.pixels, ph.pixels);
  EXPECT_NEAR(full.with, full.without, 0.2);
}

TEST(MotionCorrector, PostContrast) {
  auto po = moving(5, 6, 0);
  po.postContrast = true;  // 4(1)3(1)2
  const auto ph = make(po);
  EXPECT_EQ(ph.samples, 9);
  const auto o = run(ph);
  EXPECT_TRUE(o.moco.slices[0].corrected);
  EXPECT_GE(o.with, o.without + 5.0);
  EXPECT_GE(o.with, 85.0);
}

TEST(MotionCorrector, ShmolliLaterInversionsAreSynthesisedFromTheirIncompleteRecovery) {
  // ShMOLLI 5(1)1(1)1: its second and third inversions start after a single recovery beat, so
  // for long T1 their images lie off the first inversion's curve. Synthesised from that curve
  // they pulled the registration (measured before the reinversions were modelled: myocardium
  // within 5% fell from 91% to 63%); the scheme's reinversions predict them instead.
  const mapping::FitOptions fo = cpuOptions();
  const mapping::SchemeCatalog catalog(fo);
  mapping::SchemeEvidence evidence;
  evidence.description = "ShMOLLI";
  evidence.inversionTimes = {{100, 180, 260, 1100, 2100, 3100, 4100}};
  const auto identified = catalog.identify(evidence);
  ASSERT_NE(identified.scheme, nullptr) << identified.reason;
  EXPECT_EQ(identified.scheme->name(), "ShMOLLI");
  EXPECT_EQ(identified.scheme->motionRefusal(), "");
  const auto reinversions = identified.scheme->reinversions(evidence.inversionTimes[0]);
  ASSERT_EQ(reinversions.size(), 2u);
  EXPECT_EQ(reinversions[0].sample, 1);
  EXPECT_EQ(reinversions[0].previous, 6);
  EXPECT_DOUBLE_EQ(reinversions[0].recoveryMs, 2 * 1000.0 - 180);  // two beats less its TI
  EXPECT_EQ(reinversions[1].sample, 2);
  EXPECT_EQ(reinversions[1].previous, 1);
  EXPECT_DOUBLE_EQ(reinversions[1].recoveryMs, 2 * 1000.0 - 260);

  auto po = moving(5, 6, 0);
  po.scheme = "shmolli";
  const auto ph = make(po);
  ASSERT_EQ(ph.samples, 7);
  const auto o = run(ph);
  EXPECT_TRUE(o.moco.slices[0].corrected) << o.moco.slices[0].reason;
  EXPECT_LE(o.without, 86.0) << "the phantom must show the damage";
  // Measured 84.7% -> 91.9% (90.2% before the search and the last round went to full size;
  // then seeds 3 and 11 gave 89.9%, 89.3%).
  EXPECT_GE(o.with, 90.5);
  // The fit behind the maps is ShMOLLI's conditional fit, with its SAMPLES map.
  EXPECT_EQ(o.moco.fit.maps.count("SAMPLES"), 1u);
  expectDisplacements(ph, o.moco, 2.5);
}

TEST(MotionCorrector, ShmolliStillSeriesIsLeftAsItIs) {
  auto po = moving(0, 0, 0);
  po.scheme = "shmolli";
  const auto ph = make(po);
  const auto o = run(ph);
  EXPECT_FALSE(o.moco.slices[0].corrected);
  EXPECT_EQ(o.moco.input.pixels, ph.pixels);
  EXPECT_NEAR(o.with, o.without, 0.2);
}

TEST(MotionCorrector, ShmolliPostContrastWithBrightFat) {
  // Short T1: most voxels use 6 or 7 samples (the later inversions on the curve); blood and
  // fat far brighter than the myocardium.
  auto po = moving(4, 5, 0);
  po.scheme = "shmolli";
  po.postContrast = true;
  po.brightFat = true;
  po.snr = 120;
  const auto ph = make(po);
  const auto o = run(ph);
  EXPECT_TRUE(o.moco.slices[0].corrected) << o.moco.slices[0].reason;
  // Measured 81.2% -> 83.5% (84.2% before the search went to full size and the last round
  // to full size, which gained 1.7-3.6 points on the other ShMOLLI cases; 5(3)3's 4(1)3(1)2
  // with the same motion: 66.4% -> 89.8%).
  EXPECT_GE(o.with, o.without + 2.0);
  EXPECT_GE(o.with, 83.0);
}

TEST(MotionCorrector, SeveralNonSquareSlicesAtOnce) {
  auto po = moving(4, 6, 0);
  po.slices = 3;
  const auto ph = cropColumns(make(po), 168);  // 192 rows x 168 columns, the heart inside
  const auto o = run(ph);
  ASSERT_EQ(o.moco.slices.size(), 3u);
  for (const auto& s : o.moco.slices) EXPECT_TRUE(s.corrected) << s.reason;
  EXPECT_GE(o.with, o.without + 8.0);
  EXPECT_GE(o.with, 89.0);  // measured 90.7% (88.0% before the full-size search and last round)
}

TEST(MotionCorrector, AFoldingFieldLosesItsNonRigidPart) {
  const auto ph = make(moving(4, 6, 3));
  mapping::MotionOptions wild;  // big steps, hardly regularised, no noise damping
  wild.demonsStepPixels = 5;
  wild.demonsSigmaMm = 1;
  wild.demonsNoiseGradient = 0;
  wild.demonsIterations = 60;
  wild.minJacobian = 0.6;
  const auto o = run(ph, wild);
  const auto& s = o.moco.slices[0];
  EXPECT_GT(s.rigidOnlyImages, 0) << "some field must have (nearly) folded";
  EXPECT_GE(s.minJacobian, 0.6) << "what is kept never folds";
}

TEST(MotionCorrector, RefusesOtherModelsAndBadSettings) {
  mapping::FitOptions t2 = cpuOptions();
  t2.model = "t2";
  const auto ph = make(moving(0, 0, 0));
  EXPECT_THROW(mapping::MotionCorrector({}).correct(mapping::MapFitter(t2), inputOf(ph), 1, 1), mapping::FitError);
  mapping::MotionOptions bad;
  bad.finestLevel = 3;
  bad.coarsestLevel = 2;
  EXPECT_THROW(mapping::MotionCorrector{bad}, mapping::FitError);
  bad = {};
  bad.maxResidualRatio = 0;
  EXPECT_THROW(mapping::MotionCorrector{bad}, mapping::FitError);
  bad = {};
  bad.stillPixels = -1;
  EXPECT_THROW(mapping::MotionCorrector{bad}, mapping::FitError);
}

TEST(MotionCorrector, CudaMatchesCpu) {
  if (!mapping::cudaAvailable()) GTEST_SKIP() << "no CUDA device here (no GPU lent to this machine)";
  const auto ph = make(moving(3, 8, 0));
  mapping::FitOptions gpu = cpuOptions();
  gpu.device = "cuda";
  const auto cpu = run(ph);
  const auto cuda = run(ph, {}, gpu);
  EXPECT_NEAR(cuda.with, cpu.with, 1.0);
  EXPECT_NEAR(cuda.moco.slices[0].maxDisplacementMm, cpu.moco.slices[0].maxDisplacementMm, 0.3);
}

}  // namespace
}  // namespace torcht1

namespace torcht1 {
namespace {
TEST(MotionCorrector, BrightFatPostContrast) {
  // Fat 8x and blood 4x the myocardium's signal, post-contrast 4(1)3(1)2, a 3 mm drift. The
  // final warp must not ring: plain bicubic undershoots beside the fat and darkened the
  // myocardium (measured 79.0% within 5% against 87.8% unregistered; clamped 87.5%, and 88.9% since the weak images register on their own).
  auto po = moving(3, 0, 0);
  po.postContrast = true;
  po.brightFat = true;
  po.snr = 120;
  po.seed = 23;
  const auto ph = make(po);
  const auto o = run(ph);
  // Measured 86.8% against 87.8% unregistered with the demons in the last round only (87.5%
  // with them in every round, 88.4% with the search and every round at half size): beside
  // fat this bright MOCO gains nothing, and must lose little (the field in every round cost
  // the map 0.75 pixel on moving ShMOLLI and kept still ShMOLLI series from stopping).
  EXPECT_GE(o.with, o.without - 1.5);
  EXPECT_GE(o.with, 86.5);
  // No warped value leaves the range of the source image (magnitude data, no overshoot).
  const auto [lo, hi] = std::minmax_element(ph.pixels.begin(), ph.pixels.end());
  for (float v : o.moco.input.pixels) {
    ASSERT_GE(v, *lo);
    ASSERT_LE(v, *hi);
  }
}
/// The originals of a drifting phantom (translation only, along (0.287, 0.958)) moved back by
/// the true motion with grid_sample `mode` (0 bilinear, 1 nearest, 2 bicubic).
std::vector<float> warpedByTheTruth(const phantom::Phantom& ph, int mode) {
  const int64_t n = ph.samples, h = ph.rows, w = ph.cols;
  std::vector<float> pixels = ph.pixels;
  auto images = torch::from_blob(pixels.data(), {n, 1, h, w}, torch::kFloat32);
  auto theta = torch::eye(2, 3).unsqueeze(0).repeat({n, 1, 1});
  const double unitPerMm = 2.0 / (ph.pixelSpacingMm * static_cast<double>(w));
  for (int64_t i = 0; i < n; ++i) {
    // The image shows at x the anatomy of x - d: the reference position is sampled at x + d.
    const double d = ph.trueDisplacementMm[i] * unitPerMm;
    theta[i][0][2] = d * 0.287;
    theta[i][1][2] = d * 0.958;
  }
  const auto grid = torch::nn::functional::affine_grid(theta, {n, 1, h, w}, false);
  const auto out = torch::grid_sampler(images, grid, mode, /*border*/ 1, false).clamp_min(0).contiguous();
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + n * h * w);
}

/// Fits `ph` with the images moved back by the true motion (bicubic and nearest neighbour),
/// without and with MOCO; prints and returns the shares of the myocardium within 5%, and
/// how many pixels mix tissues (partial volume).
struct TruthVsMoco {
  double bicubic = 0, nearest = 0, moco = 0, without = 0;
  int64_t mixed = 0;
};
TruthVsMoco truthVsMoco(const phantom::Phantom& ph) {
  const mapping::FitOptions fo = cpuOptions();
  const mapping::MapFitter fitter(fo);
  const mapping::SchemeCatalog catalog(fo);
  const auto identified = schemeOf(ph, catalog);
  TruthVsMoco r;
  if (!identified.scheme) return r;
  auto truth = inputOf(ph);
  truth.pixels = warpedByTheTruth(ph, 2);
  r.bicubic = myocardiumWithin5(ph, identified.scheme->fit(fitter, truth).primary());
  truth.pixels = warpedByTheTruth(ph, 1);
  r.nearest = myocardiumWithin5(ph, identified.scheme->fit(fitter, truth).primary());
  const auto o = run(ph);
  r.moco = o.with;
  r.without = o.without;
  r.mixed = std::count_if(ph.purity.begin(), ph.purity.end(), [](float p) { return p < 1; });
  std::printf("  %s, %lld mixed pixels: true motion undone, bicubic %.1f%%, nearest %.1f%%; MOCO %.1f%%\n",
              identified.scheme->name().c_str(), static_cast<long long>(r.mixed), r.bicubic, r.nearest, r.moco);
  return r;
}

TEST(MotionCorrector, ResamplingAloneLimitsTheEdgesOfAPointSampledPhantom) {
  // Each pixel of this phantom is one tissue, its edges sharper than any scanner's: any
  // sub-pixel resampling mixes blood into the myocardium's edge pixels. Moved back by the
  // true motion, a 6 mm drift keeps only ~88% of the myocardium within 5%; that, not the
  // registration, bounds MOCO on point-sampled phantoms (measured, MOLLI: bicubic 88.5%,
  // nearest 93.4%, MOCO 91.6%; ShMOLLI: bicubic 88.0%, nearest 95.7%, MOCO 89.8%).
  for (const char* scheme : {"", "shmolli"}) {
    auto po = moving(6, 0, 0);
    po.scheme = scheme;
    const auto r = truthVsMoco(make(po));
    EXPECT_GT(r.bicubic, r.without) << "undoing the true motion helps";
    EXPECT_LT(r.bicubic, 95.0) << "resampling costs the edges";
    EXPECT_GE(r.moco, r.bicubic - 1.5) << "the registration is as good as the true motion, resampled the same way";
  }
}

TEST(MotionCorrector, WithPartialVolumeTheRegistrationIsScoredOnPurePixels) {
  // With partial volume (each pixel the mean of 4 x 4 points of its volume, as a scanner's
  // voxel), the pixels that are wholly myocardium survive resampling: undoing the true
  // motion keeps ~96% of them within 5%, and MOCO reaches it (measured: MOLLI bicubic
  // 95.7%, MOCO 96.5%; ShMOLLI bicubic 96.4%, MOCO 96.0%, 92.4% before the search and the
  // last round went to full size).
  for (const char* scheme : {"", "shmolli"}) {
    auto po = moving(6, 0, 0);
    po.scheme = scheme;
    po.partialVolume = 4;
    const auto r = truthVsMoco(make(po));
    EXPECT_GE(r.bicubic, 94.0) << "pure pixels survive the resampling";
    EXPECT_GE(r.moco, r.bicubic - 1.5) << "the registration is as good as the true motion";
    EXPECT_GT(r.mixed, 1000) << "mixed pixels are there, and not scored";
  }
}
}  // namespace
}  // namespace torcht1
