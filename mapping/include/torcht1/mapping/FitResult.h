#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace torcht1::mapping {

/// Per-voxel outcome. Anything but Valid has 0 in the mapped quantity and its SD.
enum class VoxelStatus : uint8_t {
  Valid = 0,
  /// Excluded by the background mask; not fitted.
  Background = 1,
  /// The fit converged to parameters without physical meaning (MOLLI: B <= A, or T1* <= 0).
  NonPhysical = 2,
  /// The mapped quantity is outside the configured valid range.
  OutOfRange = 3,
  /// The fit produced NaN or infinity.
  NonFinite = 4,
  /// Fitted, but the fit does not determine the quantity: its SD or R^2 fails the quality
  /// limits (QualityOptions).
  Unreliable = 5,
};

const char* toString(VoxelStatus status);

struct SliceStats {
  int64_t fittedVoxels = 0;  // not background: the signal stands clear of the noise
  int64_t validVoxels = 0;
  /// The slice's noise sigma (signal units) and where it came from: "background" (Rayleigh
  /// statistics of the air), "residuals" (a sample of the voxels fitted first), "given"
  /// (FitInput::noiseSigma) or "none" (mask disabled, or no estimate possible).
  double noiseSigma = 0;
  std::string noiseSource = "none";

  /// Percentage of the fitted voxels that gave no value (non-physical, out of range,
  /// unreliable, non-finite): a high share marks a bad series.
  double invalidPercent() const {
    return fittedVoxels > 0 ? 100.0 * static_cast<double>(fittedVoxels - validVoxels) / static_cast<double>(fittedVoxels)
                            : 0.0;
  }
};

/// Maps of one fitted batch, each [slice][row][col], never NaN.
///
/// Map names: the model's parameters (MOLLI: "A", "B", "T1star"), its mapped quantity and
/// that quantity's standard deviation (MOLLI: "T1", "T1_SD"), "RSS" (residual sum of
/// squares) and "R2" (coefficient of determination).
struct FitResult {
  int64_t slices = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  std::string modelName;
  std::string primaryName;  // "T1" for MOLLI
  std::vector<std::string> parameterNames;
  std::map<std::string, std::vector<float>> maps;
  std::vector<VoxelStatus> status;
  std::vector<SliceStats> sliceStats;
  std::string device;         // where the fit ran, e.g. "cpu" or "cuda:0"
  std::string solver;
  double fitSeconds = 0.0;    // the fit itself, without input conversion
  int iterations = 0;         // largest iteration count of any voxel
  /// With FitOptions::profileStages: seconds per stage ("prepare", "start", "solve", "maps").
  std::map<std::string, double> stageSeconds;

  /// Throws FitError when no map of that name exists.
  const std::vector<float>& map(const std::string& name) const;
  const std::vector<float>& primary() const { return map(primaryName); }
  const std::vector<float>& primarySd() const { return map(primaryName + "_SD"); }
};

}  // namespace torcht1::mapping
