#pragma once

#include <cstdint>
#include <string>

#include "torcht1/mapping/MotionOptions.h"

namespace torcht1::mapping {

enum class Solver {
  /// Default: variable-projection grid start with polarity restoration, then batched
  /// Levenberg-Marquardt with per-voxel damping to the least-squares optimum.
  VarProLM,
  /// The TorchT1 paper's method: MSE loss and Adam, kept for fidelity and comparison.
  Adam,
};

std::string toString(Solver solver);
/// "varpro-lm" (alias "lm") or "adam"; throws FitError otherwise.
Solver solverFromString(const std::string& name);

/// Which voxels are fitted: those whose signal stands clear of the noise. The noise sigma of
/// each slice comes from its background (air in magnitude images is Rayleigh distributed; see
/// NoiseEstimator), or, in a slice without such a background, from the fit residuals of a
/// sample of its voxels. A voxel is fitted when its largest sample reaches `noiseMultiple`
/// sigmas; the others are background: not fitted, written as 0. With 8 samples of pure noise
/// the largest exceeds 5 sigmas with probability 8 exp(-12.5) = 3e-5. Whether a fitted voxel
/// gives a value is then the fit's own business (QualityOptions, the valid range).
struct MaskOptions {
  bool enabled = true;
  double noiseMultiple = 5.0;
};

/// Fitted voxels whose fit does not determine the mapped quantity are Unreliable (written 0):
/// its standard deviation above `maxRelativeSd` times its value, or R^2 below `minR2`.
struct QualityOptions {
  double maxRelativeSd = 0.5;
  double minR2 = 0.0;
};

/// MOLLI specifics. `t1Scale` multiplies every MOLLI T1 (and its SD): 1 is the plain
/// Look-Locker correction T1 = T1*(B/A - 1). Siemens' inline MOLLI maps and Gadgetron
/// multiply it by an empirical 1.0365, so their myocardial T1 reads about 3.6% higher; a
/// site that wants to match such maps sets 1.0365. ShMOLLI maps are not scaled.
struct MolliOptions {
  double t1Scale = 1.0;
};

struct LevenbergMarquardtOptions {
  int maxIterations = 40;
  double initialDamping = 1e-3;
  /// A voxel has converged when a step changes no parameter by more than this fraction of
  /// its value (or of the signal scale for linear parameters). The error left after such a
  /// step is far smaller: on the benchmark phantom T1 differs from the float64 reference by
  /// 4e-5 (99.9th percentile) with 1e-4, and by 3e-5 with 1e-5 at 16% more time.
  double stepTolerance = 1e-4;
  /// ... or when an accepted step lowered its residual by less than this fraction: progress
  /// that small moves a parameter by a tiny fraction of its standard error.
  double costTolerance = 1e-6;
  /// Points of the log-spaced grid over the model's nonlinear parameter.
  int gridPoints = 32;
  /// Sign patterns tried for magnitude data: 0 (default) tries all, which makes the fit the
  /// least-squares optimum; n > 0 tries n patterns around the sample of smallest magnitude.
  int polarityCandidates = 0;
  /// The sign pattern ranked second by the grid is refined too where its estimated residual
  /// is within this factor of the refined residual of the first (see VarProInitializer).
  /// Measured on the benchmark phantom (SNR 40): 2 -> 21.6 ms per slice, 21 of 246432
  /// tissue voxels beyond 0.1% of the float64 reference; 4 -> 24.3 ms, 9 voxels; the voxels
  /// in question have two sign patterns fitting almost equally well.
  double secondPatternFactor = 2.0;

  /// Throws FitError naming the first setting out of range.
  void validate() const;
};

/// Adam as in the TorchT1 paper. Every voxel starts from the model's typical values (MOLLI:
/// A = 1, B = 2 times the voxel's largest sample, T1* = 1000 ms) and each parameter is
/// optimised divided by that start value, so all are of order one. Fitting stops when the mean loss fell by less than `tolerance` (relative) over the last `window`
/// iterations, or after `maxIterations`.
struct AdamOptions {
  double learningRate = 3e-4;
  int maxIterations = 20000;
  double tolerance = 1e-7;
  int window = 100;

  /// Throws FitError naming the first setting out of range.
  void validate() const;
};

struct FitOptions {
  /// "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
  std::string device = "auto";
  Solver solver = Solver::VarProLM;
  /// Signal model by name: "molli" (default) or "t2" (mono-exponential decay).
  std::string model = "molli";
  /// Float64 tensors instead of float32 (slower; for validation).
  bool doublePrecision = false;
  /// Valid range of the mapped quantity (T1 for MOLLI), ms. Outside it: OutOfRange, written 0.
  double validMin = 0.0;
  double validMax = 5000.0;
  /// Intra-op threads on the CPU; 0 means one per core.
  int threads = 0;
  /// On the CPU the batch is fitted (and its uncertainty computed) in blocks of this many
  /// voxels: per voxel, one batch of every voxel ran slower (larger than the caches) and
  /// small blocks pay LibTorch's per-operation overhead. Measured on the benchmark phantom:
  /// 32768 -> 23.4 ms per slice, 65536 -> 24.0, 16384 -> 26.4. On a GPU all voxels go in one
  /// batch.
  int64_t cpuBlockVoxels = 32768;
  /// Time each stage of the fit into FitResult::stageSeconds (waits for the device after
  /// each stage, so leave it off in production).
  bool profileStages = false;
  MaskOptions mask;
  QualityOptions quality;
  MolliOptions molli;
  /// Motion correction in front of the fit (MotionCorrector), for MOLLI-model series.
  MotionOptions motion;
  LevenbergMarquardtOptions lm;
  AdamOptions adam;

  /// Throws FitError naming the first option that is out of range.
  void validate() const;
};

}  // namespace torcht1::mapping
