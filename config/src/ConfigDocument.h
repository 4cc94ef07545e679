#pragma once

// One configuration: a YAML file (or none) with environment overrides applied, and for every
// key where it came from, so that errors name the file and line or the variable.

#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace torcht1::config {

class ConfigDocument {
 public:
  /// Parses `text`; `source` names it in errors. ConfigError when it is not YAML or not a mapping.
  ConfigDocument(const std::string& text, std::string source);
  static ConfigDocument fromFile(const std::string& path);

  /// Applies TORCHT1_<SECTION>__<KEY>[__<KEY>...] variables (list items by index:
  /// TORCHT1_DESTINATIONS__0__HOST); a value is read as YAML, so lists and numbers work.
  /// TORCHT1_CONFIG (the file) is skipped; any other TORCHT1_ name is an error.
  void applyEnvironment(const std::map<std::string, std::string>& environment);

  /// The top-level section, or an undefined node when absent or empty.
  YAML::Node section(const std::string& name) const;
  /// Unknown top-level sections are errors.
  void checkSections(const std::vector<std::string>& known) const;

  const std::string& source() const { return source_; }
  /// The name of a mapping key; ConfigError under `parent` when the key is not a scalar.
  std::string keyName(const YAML::Node& key, const std::string& parent) const;
  /// Throws ConfigError for `key`: "file:line:col: key: message", or, for a value set by an
  /// environment variable, "environment variable NAME: key: message".
  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& message) const;

 private:
  YAML::Node root_;
  std::string source_;
  std::map<std::string, std::string> origins_;  // key path -> environment variable
};

}  // namespace torcht1::config
