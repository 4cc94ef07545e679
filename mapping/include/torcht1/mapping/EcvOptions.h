#pragma once

#include <string>

#include "torcht1/mapping/BloodPool.h"
#include "torcht1/mapping/MapRegistration.h"

namespace torcht1::mapping {

/// How ECV maps are made (the `ecv:` section of the configuration).
struct EcvOptions {
  bool enabled = true;
  /// Without a measured hematocrit: "synthetic" (from native blood T1) or "required" (wait
  /// for a measured value).
  std::string hematocrit = "synthetic";
  /// Synthetic hematocrit at 3 T, Hct = slope / T1_blood[ms] + intercept: no published 3 T
  /// calibration is built in (the 1.5 T one over-estimates ECV at 3 T), so 0 = none, and a
  /// 3 T study waits for a measured value unless the site sets its own calibration here.
  double synthetic3TSlope = 0;
  double synthetic3TIntercept = 0;
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

  /// Throws FitError naming the option.
  void validate() const;
};

}  // namespace torcht1::mapping
