#include "YamlSection.h"

#include <fstream>

namespace torcht1::config {

YAML::Node loadSection(const std::string& text, const std::string& source, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(source, e.mark.line + 1, e.mark.column + 1, "", "not valid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  if (!root.IsMap()) throw ConfigError(source, 1, 1, "", "the file must be a mapping of sections");
  YAML::Node section = root[name];
  if (!section.IsDefined() || section.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  return section;
}

std::string readConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, 0, "", "cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace torcht1::config
