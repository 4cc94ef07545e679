#include "torcht1/config/InputConfig.h"

#include "YamlSection.h"

namespace torcht1::config {

InputConfig::Input InputConfig::fromYaml(const std::string& yamlText, const std::string& source) {
  return fromDocument(ConfigDocument(yamlText, source));
}

InputConfig::Input InputConfig::fromDocument(const ConfigDocument& document) {
  Input in;
  const YAML::Node node = document.section("input");
  if (!node.IsDefined()) return in;
  YamlSection s(node, "input", document);
  s.custom("description_pattern", [&](const YAML::Node& v, const std::string& key) {
    const std::string pattern = s.scalar<std::string>(v, key, "a string");
    // Checked before std::regex sees it (found by fuzz/ConfigFuzzer.cpp: a 19-digit count
    // overflowed inside libstdc++'s regex compiler).
    if (const std::string problem = dicom::descriptionPatternProblem(pattern); !problem.empty()) {
      s.fail(v, key, "'" + pattern + "' " + problem);
    }
    in.selection.descriptionPattern = pattern;
  });
  s.number("min_inversion_times", in.selection.minInversionTimes, 3, 100);
  s.number("slice_tolerance_mm", in.selection.sliceTolerance, 0.001, 50.0);
  s.flag("trigger_time_fallback", in.triggerTimeFallback);
  s.read();
  return in;
}

InputConfig::Input InputConfig::fromFile(const std::string& path) { return fromYaml(readConfigFile(path), path); }

}  // namespace torcht1::config
