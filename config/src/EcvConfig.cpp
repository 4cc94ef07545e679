#include "torcht1/config/EcvConfig.h"

#include "YamlSection.h"

#include "torcht1/mapping/FitError.h"

namespace torcht1::config {

mapping::EcvOptions EcvConfig::fromYaml(const std::string& yamlText, const std::string& source) {
  return fromDocument(ConfigDocument(yamlText, source));
}

mapping::EcvOptions EcvConfig::fromFile(const std::string& path) { return fromYaml(readConfigFile(path), path); }

mapping::EcvOptions EcvConfig::fromDocument(const ConfigDocument& document) {
  mapping::EcvOptions o;
  const YAML::Node node = document.section("ecv");
  if (!node.IsDefined()) return o;
  YamlSection s(node, "ecv", document);
  s.flag("enabled", o.enabled);
  s.text("hematocrit", [&](const std::string& v) {
    if (v != "synthetic" && v != "required") throw std::runtime_error("must be synthetic or required");
    o.hematocrit = v;
  });
  s.section("synthetic_3t", [&](YamlSection& m) {
    m.number("slope", o.synthetic3TSlope, 0.0, 10000.0);
    m.number("intercept", o.synthetic3TIntercept, -1.0, 1.0);
  });
  s.mapList("maps", mapping::EcvOptions::knownMaps(), o.maps, "[ECV, ECV_PARAMETRIC]");
  s.number("slice_tolerance_mm", o.sliceToleranceMm, 0.01, 20.0);
  s.section("blood_pool", [&](YamlSection& m) {
    m.number("native_min_ms", o.bloodPool.nativeMinMs, 100.0, 5000.0);
    m.number("native_min_3t_ms", o.bloodNativeMin3TMs, 100.0, 5000.0);
    m.number("post_to_native_max", o.bloodPool.postToNativeMax, 0.01, 1.0);
    m.number("erosion_mm", o.bloodPool.erosionMm, 0.0, 20.0);
    m.number("min_voxels", o.bloodPool.minVoxels, int64_t{1}, int64_t{100000});
  });
  s.section("registration", [&](YamlSection& m) {
    m.flag("enabled", o.registration);
    m.number("max_shift_mm", o.registrationOptions.maxShiftMm, 0.1, 100.0);
    m.number("max_rotation_deg", o.registrationOptions.maxRotationDeg, 0.0, 45.0);
    m.number("min_gain", o.registrationOptions.minGain, 0.0, 0.99);
    m.number("weight_sigma_mm", o.registrationOptions.weightSigmaMm, 0.0, 1000.0);
  });
  s.read();
  try {
    o.validate();
  } catch (const mapping::FitError& e) {
    document.fail(node, "ecv", e.what());
  }
  return o;
}

}  // namespace torcht1::config
