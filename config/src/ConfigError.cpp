#include "torcht1/config/ConfigError.h"

namespace torcht1::config {

namespace {

/// The message is one line whatever the file or the environment held: line breaks in a
/// value or a variable name are shown as \n, other control characters as '?'.
std::string oneLine(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

ConfigError::ConfigError(const std::string& source, int line, int column, const std::string& key,
                         const std::string& message)
    : std::runtime_error(oneLine(source + (line > 0 ? ":" + std::to_string(line) + ":" + std::to_string(column) : "") +
                                 ": " + (key.empty() ? "" : key + ": ") + message)),
      key_(key),
      line_(line) {}

}  // namespace torcht1::config
