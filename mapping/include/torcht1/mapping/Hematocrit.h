#pragma once

#include <optional>
#include <string>

#include "torcht1/mapping/EcvOptions.h"

namespace torcht1::mapping {

/// The hematocrit an ECV map uses, with where it came from.
struct Hematocrit {
  double value = 0;
  std::string source;  // "measured" or "synthetic"
  /// For the series description and the log: "measured Hct 0.40", "synthetic Hct 0.42".
  std::string label() const;
  /// The rule in words (DerivationDescription): the citation of the synthetic formula.
  std::string method;

  /// Physiological range accepted for a measured value.
  static constexpr double kMin = 0.1, kMax = 0.7;
  /// "" when `value` is a hematocrit a patient can have, else why not (one line).
  static std::string refusal(double value);

  /// The hematocrit for a study: the measured one when given, else the synthetic one from
  /// native blood T1 at `fieldStrengthT` (Treibel et al., JACC Cardiovasc Imaging 2016;9:54-63
  /// at 1.5 T: Hct = 866 / T1_blood[ms] - 0.1232; at 3 T only a site calibration), else none
  /// with `reason` set (required by the options, field strength unknown or without a
  /// calibration, or outside physiology).
  static std::optional<Hematocrit> choose(const EcvOptions& options, std::optional<double> measured,
                                          double nativeBloodT1Ms, double fieldStrengthT, std::string& reason);
};

}  // namespace torcht1::mapping
