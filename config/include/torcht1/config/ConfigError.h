#pragma once

#include <stdexcept>
#include <string>

namespace torcht1::config {

/// A configuration problem, as one line naming the file, the key, the value and where it is:
/// "config.yaml:7:18: fit.lm.grid_points: 2 is out of range (3..4096)".
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& source, int line, int column, const std::string& key, const std::string& message);
  const std::string& key() const { return key_; }
  int line() const { return line_; }

 private:
  std::string key_;
  int line_;
};

}  // namespace torcht1::config
