#pragma once

#include <string>

#include "torcht1/config/ConfigError.h"
#include "torcht1/mapping/FitOptions.h"

namespace torcht1::config {

class ConfigDocument;

/// The `fit:` section of a TorchT1 YAML file (config/torcht1.yaml documents every key).
/// Keys left out keep the defaults of mapping::FitOptions; unknown keys, wrong types and
/// out-of-range values throw ConfigError. Other top-level sections are left to their owners.
class FitConfig {
 public:
  /// `source` names the text in error messages (a file name).
  static mapping::FitOptions fromYaml(const std::string& yamlText, const std::string& source);
  static mapping::FitOptions fromFile(const std::string& path);
  /// The section of a whole configuration (file plus environment overrides).
  static mapping::FitOptions fromDocument(const ConfigDocument& document);
};

}  // namespace torcht1::config
