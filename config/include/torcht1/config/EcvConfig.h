#pragma once

#include <string>

#include "torcht1/config/ConfigError.h"
#include "torcht1/mapping/EcvOptions.h"

namespace torcht1::config {

class ConfigDocument;

/// The `ecv:` section (config/torcht1.yaml documents every key): how native and post-contrast
/// T1 series are paired into ECV maps. Keys left out keep mapping::EcvOptions' defaults.
class EcvConfig {
 public:
  static mapping::EcvOptions fromYaml(const std::string& yamlText, const std::string& source);
  static mapping::EcvOptions fromFile(const std::string& path);
  /// The section of a whole configuration (file plus environment overrides).
  static mapping::EcvOptions fromDocument(const ConfigDocument& document);
};

}  // namespace torcht1::config
