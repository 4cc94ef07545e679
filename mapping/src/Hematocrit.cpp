#include "torcht1/mapping/Hematocrit.h"

#include <cmath>
#include <cstdio>

namespace torcht1::mapping {

std::string Hematocrit::label() const {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s Hct %.2f", source.c_str(), value);
  return buffer;
}

std::string Hematocrit::refusal(double value) {
  if (std::isfinite(value) && value >= kMin && value <= kMax) return "";
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "hematocrit %g is outside %.1f-%.1f (a fraction, not a percentage)", value, kMin,
                kMax);
  return buffer;
}

std::optional<Hematocrit> Hematocrit::choose(const EcvOptions& options, std::optional<double> measured,
                                             double nativeBloodT1Ms, double fieldStrengthT, std::string& reason) {
  reason.clear();
  if (measured) {
    if (const std::string why = refusal(*measured); !why.empty()) {
      reason = "measured " + why;
      return std::nullopt;
    }
    Hematocrit h;
    h.value = *measured;
    h.source = "measured";
    h.method = "measured hematocrit";
    return h;
  }
  if (options.hematocrit == "required") {
    reason = "waiting for a measured hematocrit (ecv.hematocrit: required; POST /api/hematocrit)";
    return std::nullopt;
  }
  if (!(nativeBloodT1Ms > 0)) {
    reason = "no native blood T1 for a synthetic hematocrit";
    return std::nullopt;
  }
  Hematocrit h;
  h.source = "synthetic";
  char buffer[200];
  if (std::abs(fieldStrengthT - 1.5) <= 0.3) {
    h.value = 866.0 / nativeBloodT1Ms - 0.1232;
    std::snprintf(buffer, sizeof buffer,
                  "synthetic hematocrit 866/T1_blood - 0.1232 at 1.5 T (Treibel et al. 2016), blood T1 %.0f ms", nativeBloodT1Ms);
    h.method = buffer;
  } else if (std::abs(fieldStrengthT - 3.0) <= 0.5) {
    if (options.synthetic3TSlope == 0) {
      reason = "no synthetic hematocrit at 3 T: the site turned the calibration off (ecv.synthetic_3t.slope 0): "
               "waiting for a measured hematocrit";
      return std::nullopt;
    }
    h.value = options.synthetic3TSlope / nativeBloodT1Ms + options.synthetic3TIntercept;
    const bool published = options.synthetic3TSlope == EcvOptions::kReiter3TSlope &&
                           options.synthetic3TIntercept == EcvOptions::kReiter3TIntercept;
    std::snprintf(buffer, sizeof buffer, "synthetic hematocrit %g/T1_blood %+g at 3 T (%s), blood T1 %.0f ms",
                  options.synthetic3TSlope, options.synthetic3TIntercept,
                  published ? "Reiter et al. 2024, MOLLI 5(3)3" : "site calibration", nativeBloodT1Ms);
    h.method = buffer;
  } else {
    std::snprintf(buffer, sizeof buffer,
                  "no synthetic hematocrit at field strength %s: waiting for a measured hematocrit",
                  fieldStrengthT > 0 ? (std::to_string(fieldStrengthT).substr(0, 4) + " T").c_str() : "unknown");
    reason = buffer;
    return std::nullopt;
  }
  if (const std::string why = refusal(h.value); !why.empty()) {
    std::snprintf(buffer, sizeof buffer, "synthetic %s (blood T1 %.0f ms): waiting for a measured hematocrit", why.c_str(),
                  nativeBloodT1Ms);
    reason = buffer;
    return std::nullopt;
  }
  return h;
}

}  // namespace torcht1::mapping
