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
