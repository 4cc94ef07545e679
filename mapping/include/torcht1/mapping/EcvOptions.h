#pragma once

#include <string>
#include <vector>

#include "torcht1/mapping/BloodPool.h"
#include "torcht1/mapping/MapRegistration.h"

namespace torcht1::mapping {

/// How ECV maps are made (the `ecv:` section of the configuration).
struct EcvOptions {
  bool enabled = true;
  /// Without a measured hematocrit: "synthetic" (from native blood T1) or "required" (wait
  /// for a measured value).
  std::string hematocrit = "synthetic";
  /// Synthetic hematocrit at 3 T, Hct = slope / T1_blood[ms] + intercept. The default is the
  /// published 3 T MOLLI 5(3)3 calibration of Reiter et al. (Eur J Radiol 2024;178:111659,
  /// 250 scans, LV blood pool: Hct = 1355.52/T1 - 0.310); the 1.5 T formula over-estimates
  /// ECV at 3 T. A site may set its own; slope 0 = none (a 3 T study waits for a measured value).
  static constexpr double kReiter3TSlope = 1355.52;
  static constexpr double kReiter3TIntercept = -0.310;
  double synthetic3TSlope = kReiter3TSlope;
  double synthetic3TIntercept = kReiter3TIntercept;
  /// The blood pool's native T1 threshold at 3 T (BloodPoolFinder::Options::nativeMinMs is
  /// the 1.5 T one).
  double bloodNativeMin3TMs = 1550;
  BloodPoolFinder::Options bloodPool;
  /// Register the post-contrast map onto the native one (different breath-holds).
  bool registration = true;
  MapRegistration::Options registrationOptions;
  /// Slices pair when their positions along the normal differ by at most this (mm) and
  /// their orientations agree.
  double sliceToleranceMm = 2;
  /// Which ECV series are written per pairing: ECV (MR, 16-bit, percent x 10), ECV_COLOUR
  /// (RGB pictures in viridis, 0-100 %, with a colour bar), ECV_PARAMETRIC (one DICOM
  /// Parametric Map object, float32 percent). At least one.
  std::vector<std::string> maps = {"ECV"};
  static std::vector<std::string> knownMaps() { return {"ECV", "ECV_COLOUR", "ECV_PARAMETRIC"}; }

  /// Throws FitError naming the option.
  void validate() const;
};

}  // namespace torcht1::mapping
