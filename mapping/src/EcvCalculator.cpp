#include "torcht1/mapping/EcvCalculator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "torcht1/mapping/FitError.h"

namespace torcht1::mapping {

void EcvOptions::validate() const {
  if (hematocrit != "synthetic" && hematocrit != "required") {
    throw FitError("ecv.hematocrit must be synthetic or required, got '" + hematocrit + "'");
  }
  if (!std::isfinite(synthetic3TSlope) || synthetic3TSlope < 0) throw FitError("ecv.synthetic_3t.slope must be >= 0");
  if (!std::isfinite(synthetic3TIntercept) || std::abs(synthetic3TIntercept) > 1) {
    throw FitError("ecv.synthetic_3t.intercept must be -1..1");
  }
  if (!(bloodNativeMin3TMs > 0)) throw FitError("ecv.blood_pool.native_min_3t_ms must be > 0");
  if (!(sliceToleranceMm > 0 && sliceToleranceMm <= 20)) throw FitError("ecv.slice_tolerance_mm must be 0..20");
  const auto known = knownMaps();
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  if (maps.empty()) throw FitError("ecv.maps must name at least one of " + list + " (or ecv.enabled: false)");
  for (const auto& m : maps) {
    if (std::find(known.begin(), known.end(), m) == known.end()) {
      throw FitError("ecv.maps: unknown map '" + m + "' (known: " + list + ")");
    }
    if (std::count(maps.begin(), maps.end(), m) > 1) throw FitError("ecv.maps: '" + m + "' named twice");
  }
  (void)BloodPoolFinder(bloodPool);
  (void)MapRegistration(registrationOptions);
}

std::string EcvSlice::description() const {
  char buffer[400];
  std::snprintf(buffer, sizeof buffer, "ECV = (1 - Hct) dR1_myo / dR1_blood; blood T1 native %.0f ms, post %.0f ms "
                "(median of the eroded LV pool, %lld voxels); %s (%s); post-contrast map %s",
                blood.nativeT1Ms, blood.postT1Ms, static_cast<long long>(blood.voxels), hematocrit.label().c_str(),
                hematocrit.method.c_str(),
                !registrationRun     ? "not registered"
                : registration.kept ? ("registered, " + std::to_string(registration.maxDisplacementMm).substr(0, 4) + " mm").c_str()
                                    : "not registered (did not help)");
  return buffer;
}

EcvCalculator::EcvCalculator(EcvOptions options, std::string device)
    : options_(std::move(options)), registration_(options_.registrationOptions, std::move(device)) {
  options_.validate();
}

void EcvCalculator::applyHematocrit(EcvSlice& slice, const Hematocrit& hematocrit) {
  if (!slice.made) return;
  const double factor = (1.0 - hematocrit.value) / (1.0 - slice.hematocrit.value);
  slice.validVoxels = 0;
  for (auto& v : slice.ecvPercent) {
    if (v <= 0) continue;
    v = static_cast<float>(v * factor);
    if (v > 100) {
      v = 0;
    } else {
      ++slice.validVoxels;
    }
  }
  slice.hematocrit = hematocrit;
}

EcvSlice EcvCalculator::compute(const EcvSliceInput& in) const {
  const size_t voxels = static_cast<size_t>(in.rows * in.cols);
  if (in.rows < 8 || in.cols < 8 || in.nativeT1.size() != voxels || in.postT1.size() != voxels) {
    throw FitError("ECV: the native and post-contrast maps must both be rows x cols");
  }
  EcvSlice out;
  BloodPoolFinder::Options poolOptions = options_.bloodPool;
  if (std::abs(in.fieldStrengthT - 3.0) <= 0.5) poolOptions.nativeMinMs = options_.bloodNativeMin3TMs;
  const BloodPoolFinder finder(poolOptions);

  // The heart's position from the native map alone centres the registration's weighting.
  out.postT1Registered = in.postT1;
  if (options_.registration) {
    const BloodPool nativeOnly = finder.find(in.nativeT1, {}, in.rows, in.cols, in.rowSpacingMm, in.colSpacingMm);
    out.registration = registration_.align(in.nativeT1, in.postT1, in.rows, in.cols, in.rowSpacingMm, in.colSpacingMm,
                                           nativeOnly.centreRow, nativeOnly.centreCol);
    out.registrationRun = true;
    if (out.registration.kept) {
      // R1 is what the contrast agent changes linearly: resample R1, not T1.
      std::vector<float> r1(voxels, 0.0f);
      for (size_t v = 0; v < voxels; ++v) r1[v] = in.postT1[v] > 0 ? 1000.0f / in.postT1[v] : 0.0f;
      const auto warped = registration_.warp(r1, out.registration.transform, in.rows, in.cols, in.rowSpacingMm, in.colSpacingMm);
      for (size_t v = 0; v < voxels; ++v) out.postT1Registered[v] = warped[v] > 0 ? 1000.0f / warped[v] : 0.0f;
    }
  }

  out.blood = finder.find(in.nativeT1, out.postT1Registered, in.rows, in.cols, in.rowSpacingMm, in.colSpacingMm);
  if (!out.blood.found) {
    out.reason = out.blood.reason;
    return out;
  }
  std::string why;
  const auto hct = Hematocrit::choose(options_, in.measuredHematocrit, out.blood.nativeT1Ms, in.fieldStrengthT, why);
  if (!hct) {
    out.reason = why;
    return out;
  }
  out.hematocrit = *hct;
  const double bloodDelta = 1.0 / out.blood.postT1Ms - 1.0 / out.blood.nativeT1Ms;  // per ms
  out.bloodDeltaR1PerS = 1000.0 * bloodDelta;
  if (!(bloodDelta > 0)) {
    char buffer[160];
    std::snprintf(buffer, sizeof buffer, "the blood pool's post-contrast T1 (%.0f ms) is not shorter than its native T1 (%.0f ms)",
                  out.blood.postT1Ms, out.blood.nativeT1Ms);
    out.reason = buffer;
    return out;
  }
  out.ecvPercent.assign(voxels, 0.0f);
  const double factor = 100.0 * (1.0 - out.hematocrit.value) / bloodDelta;
  for (size_t v = 0; v < voxels; ++v) {
    const float native = in.nativeT1[v], post = out.postT1Registered[v];
    if (!(native > 0 && post > 0 && post < native)) continue;
    const double ecv = factor * (1.0 / post - 1.0 / native);
    if (!(ecv > 0 && ecv <= 100)) continue;
    out.ecvPercent[v] = static_cast<float>(ecv);
    ++out.validVoxels;
  }
  out.made = true;
  return out;
}

}  // namespace torcht1::mapping
