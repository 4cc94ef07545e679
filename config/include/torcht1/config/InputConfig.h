#pragma once

#include <string>

#include "torcht1/config/ConfigError.h"
#include "torcht1/dicom/SeriesAssembler.h"

namespace torcht1::config {

class ConfigDocument;

/// The `input:` section: which series are T1 inputs and where inversion times come from
/// (config/torcht1.yaml documents the keys). Same strictness as FitConfig.
class InputConfig {
 public:
  struct Input {
    dicom::SeriesSelection selection;
    bool triggerTimeFallback = false;
  };
  static Input fromYaml(const std::string& yamlText, const std::string& source);
  static Input fromFile(const std::string& path);
  /// The section of a whole configuration (file plus environment overrides).
  static Input fromDocument(const ConfigDocument& document);
};

}  // namespace torcht1::config
