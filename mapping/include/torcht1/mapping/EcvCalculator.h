#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "torcht1/mapping/BloodPool.h"
#include "torcht1/mapping/EcvOptions.h"
#include "torcht1/mapping/Hematocrit.h"
#include "torcht1/mapping/MapRegistration.h"

namespace torcht1::mapping {

/// One slice pair: the native and the post-contrast T1 map of the same slice (ms, 0 where the
/// fit gave no value), [rows][cols] each, the post one as acquired (another breath-hold).
struct EcvSliceInput {
  int64_t rows = 0, cols = 0;
  double rowSpacingMm = 1, colSpacingMm = 1;
  std::vector<float> nativeT1, postT1;
  double fieldStrengthT = 0;  // MagneticFieldStrength; 0 = unknown
  std::optional<double> measuredHematocrit;
};

/// The ECV map of one slice pair, or why there is none.
struct EcvSlice {
  bool made = false;
  std::string reason;  // one line, when not made
  /// ECV in percent, [rows][cols], in the native map's position; 0 where either map has no
  /// value or the post-contrast T1 is not shorter than the native one.
  std::vector<float> ecvPercent;
  int64_t validVoxels = 0;
  /// The post-contrast T1 map in the native map's position (the registration applied).
  std::vector<float> postT1Registered;
  MapRegistrationResult registration;
  bool registrationRun = false;
  BloodPool blood;
  Hematocrit hematocrit;
  /// The blood's R1 change, 1/s.
  double bloodDeltaR1PerS = 0;
  /// "ECV from native and post-contrast MOLLI T1: blood T1 1598/301 ms (LV pool, 212 voxels,
  /// median), synthetic Hct 0.42 (...), post registered 5.2 mm": for DerivationDescription.
  std::string description() const;
};

/// Extracellular volume maps (SCMR consensus, Messroghli et al., JCMR 2017;19:75; Kellman et
/// al., JCMR 2012;14:63): ECV = (1 - Hct) (1/T1_post - 1/T1_native)_myo / (1/T1_post -
/// 1/T1_native)_blood, voxel by voxel, after registering the post-contrast map onto the
/// native one and finding the blood pool. The next derived-map scheme (a fit across two
/// series rather than one), as plain data in and out: no DICOM here.
class EcvCalculator {
 public:
  /// Throws FitError for invalid options.
  explicit EcvCalculator(EcvOptions options, std::string device = "cpu");

  /// Throws FitError for mismatched sizes.
  EcvSlice compute(const EcvSliceInput& input) const;

  /// Re-expresses a made map with another hematocrit (ECV is proportional to 1 - Hct): one
  /// value for the whole study, e.g. the synthetic one from all slices' blood.
  static void applyHematocrit(EcvSlice& slice, const Hematocrit& hematocrit);

  const EcvOptions& options() const { return options_; }

 private:
  EcvOptions options_;
  MapRegistration registration_;
};

}  // namespace torcht1::mapping
