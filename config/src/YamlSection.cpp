#include "YamlSection.h"

#include <fstream>

namespace torcht1::config {

std::string readConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, 0, "", "cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace torcht1::config
