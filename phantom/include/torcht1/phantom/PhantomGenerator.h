#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torcht1::phantom {

struct PhantomOptions {
  int size = 256;          // rows = cols
  int slices = 8;
  double snr = 40;         // myocardium's A divided by the noise sigma
  bool postContrast = false;
  std::string scheme;      // empty: 5(3)3 native, 4(1)3(1)2 post-contrast
  bool noise = true;       // false: exact model signal, for noise-free tests
  uint64_t seed = 1;
  double heartRate = 65;   // bpm; each slice (breath-hold) deviates by a few bpm
  double rrJitter = 0.03;  // relative beat-to-beat jitter
  /// How later inversions start: "ideal" (every image on one 3-parameter curve: complete
  /// recovery between inversions), "piecewise" (LookLockerSimulator: recovery with T1
  /// between blocks, so incomplete for long T1), or "auto": piecewise for ShMOLLI, ideal
  /// otherwise.
  std::string recovery = "auto";
  /// Contrast as seen in vivo at 3 T: subcutaneous fat and blood so bright that the
  /// myocardium's largest sample is 6-10% of the brightest tissue's (fat 8x, blood 4x the
  /// default proton density). The SNR still refers to the myocardium.
  bool brightFat = false;
  /// Motion between the images of a breath-hold, in mm (the field of view is `fieldOfViewMm`
  /// across). The ground truth (labels, T1, A, B) is in the position of each slice's key
  /// image, the one with the longest inversion time, which never moves; every other image
  /// shows the anatomy displaced relative to it (the receive coil stays where it is):
  /// - `motionMm`: breathing drift, a translation (mostly along the rows) growing linearly
  ///   with the acquisition time, this many mm between the key image and the image acquired
  ///   furthest from it in time;
  /// - `gaspMm`: one image, the one acquired nearest the middle of the breath-hold (or the
  ///   next, if that is the key image), translated by this many mm more;
  /// - `warpMm`: a smooth non-rigid squeeze and stretch around the heart, a Gaussian-windowed
  ///   radial displacement of at most this many mm, varying with the acquisition time.
  double motionMm = 0;
  double gaspMm = 0;
  double warpMm = 0;
  /// Which image the gasp hits, as a sample index in inversion-time order; -1: the one
  /// acquired nearest the middle of the breath-hold (never the key image).
  int gaspSample = -1;
  double fieldOfViewMm = 360;
  /// An ECV study (one half of a native/post-contrast pair): with `hematocrit` > 0 the
  /// post-contrast T1 of blood and myocardium follow from their native T1 (the same voxel of
  /// a native phantom with the same seed), the blood's change in R1 (from native blood T1
  /// to `bloodPostT1Ms`) and the myocardium's extracellular volume fraction:
  /// dR1_myo = ECV / (1 - Hct) x dR1_blood. The myocardium has `myocardialEcv`, except a
  /// segment of the lateral wall with `scarEcv`. The truth's `ecv` map is written for native
  /// and post phantoms alike. 0: the tissue table's post-contrast values.
  double hematocrit = 0;
  double myocardialEcv = 0.25;
  double scarEcv = 0.45;
  double bloodPostT1Ms = 300;
  /// Where this breath-hold put the anatomy relative to the reference (the truth's) position:
  /// every image shows it rotated by `poseRotationDeg` about the image centre and then
  /// shifted by (`poseShiftXMm` along the rows, `poseShiftYMm` down the columns). A post-contrast
  /// series comes from another breath-hold than the native one: a few mm and degrees apart.
  double poseShiftXMm = 0, poseShiftYMm = 0, poseRotationDeg = 0;
  /// Partial volume: each pixel is the mean of partialVolume x partialVolume point samples
  /// of the (moved) anatomy's signed signal, as a scanner's voxel integrates the complex
  /// signal of its whole volume, before the magnitude and the noise: where tissues meet,
  /// pixels mix them (at the blood's null, signals of opposite sign partly cancel). 1: each
  /// pixel is the signal at its centre (point-sampled: edges are sharper than any scanner's,
  /// and any sub-pixel resampling mixes pure tissues that real data had already mixed).
  int partialVolume = 1;
};

/// A synthetic short-axis MOLLI study with its ground truth.
struct Phantom {
  int64_t slices = 0, samples = 0, rows = 0, cols = 0;
  std::string scheme;
  bool piecewiseRecovery = false;
  double noiseSigma = 0;
  std::vector<float> pixels;    // [slice][sample][row][col], magnitude
  std::vector<float> times;     // [slice][sample], inversion times in ms, ascending
  std::vector<uint8_t> labels;  // [slice][row][col], TissueLabel
  std::vector<float> t1, t1star, a, b;  // truth, [slice][row][col]; 0 in background
  /// Per pixel, the share of its volume (in the truth's position) that has its label: 1
  /// inside a tissue, less on edges that partial volume mixes (all 1 when point-sampled).
  /// The truth of a mixed pixel is its centre's tissue: score pure pixels (purity 1).
  std::vector<float> purity;
  /// Per slice, the sample (in inversion-time order) whose position the truth is in.
  std::vector<int64_t> keySample;
  /// Per slice and sample, the largest displacement of the anatomy relative to the key image
  /// within the body, mm; all 0 for a still phantom.
  std::vector<float> trueDisplacementMm;
  double pixelSpacingMm = 0;
  /// With PhantomOptions::hematocrit: the myocardium's ECV (fraction) in the reference
  /// position, 0 elsewhere, [slice][row][col]; empty otherwise.
  std::vector<float> ecv;
  double hematocrit = 0;

  int64_t voxelsPerSlice() const { return rows * cols; }
};

/// Builds the phantom: a body ellipse with subcutaneous fat, two lungs, liver, and a heart
/// with a left-ventricular blood pool inside a myocardial ring (smaller towards the apex)
/// and a right-ventricular blood pool. T1 varies smoothly by +-2% within each tissue and a
/// coil sensitivity field scales the signal. Each voxel follows the MOLLI model
/// S(t) = A - B exp(-t / T1*), with T1* = ratio * T1 and B = A (1 + T1 / T1*), sampled at the
/// slice's own inversion times (with piecewise recovery, the first inversion's images do and
/// later ones follow LookLockerSimulator), then Rician noise: |S + n1 + i n2|.
class PhantomGenerator {
 public:
  explicit PhantomGenerator(PhantomOptions options);
  Phantom generate() const;

 private:
  PhantomOptions options_;
};

}  // namespace torcht1::phantom
