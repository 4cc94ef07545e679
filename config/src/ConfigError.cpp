#include "torcht1/config/ConfigError.h"

namespace torcht1::config {

ConfigError::ConfigError(const std::string& source, int line, int column, const std::string& key,
                         const std::string& message)
    : std::runtime_error(source + (line > 0 ? ":" + std::to_string(line) + ":" + std::to_string(column) : "") +
                         ": " + (key.empty() ? "" : key + ": ") + message),
      key_(key),
      line_(line) {}

}  // namespace torcht1::config
