#pragma once

#include <string>
#include <vector>

#include "torcht1/config/ConfigError.h"

namespace torcht1::config {

class ConfigDocument;

/// The `output:` section: which map series are written and how they are numbered.
class OutputConfig {
 public:
  struct Output {
    /// Of T1, T1_SD, R2, T1star, A, B, T1_COLOUR (the T1 map as RGB pictures) and T1_PARAMETRIC
    /// (the T1 map as one float32 DICOM Parametric Map object).
    std::vector<std::string> maps = {"T1", "T1_SD"};
    /// Series number of the first map = source series number + this; further maps follow.
    int seriesNumberOffset = 100;
    /// The node writes maps here when no destination is configured (`torcht1 fit` takes --out).
    std::string dir = "torcht1-data/maps";
  };
  static std::vector<std::string> knownMaps();
  static Output fromYaml(const std::string& yamlText, const std::string& source);
  static Output fromFile(const std::string& path);
  /// The section of a whole configuration (file plus environment overrides).
  static Output fromDocument(const ConfigDocument& document);
};

}  // namespace torcht1::config
