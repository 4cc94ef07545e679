#include "torcht1/config/OutputConfig.h"

#include <algorithm>

#include "YamlSection.h"

namespace torcht1::config {

std::vector<std::string> OutputConfig::knownMaps() {
  return {"T1", "T1_SD", "R2", "T1star", "A", "B", "T1_COLOUR", "T1_PARAMETRIC", "SAMPLES", "MOCO"};
}

OutputConfig::Output OutputConfig::fromYaml(const std::string& yamlText, const std::string& source) {
  return fromDocument(ConfigDocument(yamlText, source));
}

OutputConfig::Output OutputConfig::fromDocument(const ConfigDocument& document) {
  Output out;
  const YAML::Node node = document.section("output");
  if (!node.IsDefined()) return out;
  YamlSection s(node, "output", document);
  s.mapList("maps", knownMaps(), out.maps, "[T1, T1_SD]");
  s.number("series_number_offset", out.seriesNumberOffset, 1, 10000);
  s.text("dir", [&](const std::string& v) {
    if (v.empty()) throw std::runtime_error("must not be empty");
    out.dir = v;
  });
  s.read();
  return out;
}

OutputConfig::Output OutputConfig::fromFile(const std::string& path) { return fromYaml(readConfigFile(path), path); }

}  // namespace torcht1::config
