#pragma once

// Reading what a node wrote, for the tests that run one: a whole file, and its structured
// event lines.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace torcht1::testing {

inline std::string readFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The node's structured lines for `event` (logfmt: "<time> event=<name> key=value ...")
/// that contain every one of `fragments`.
inline std::vector<std::string> events(const std::string& log, const std::string& event,
                                       const std::vector<std::string>& fragments = {}) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    const std::string tag = " event=" + event;
    const size_t at = line.find(tag);
    if (at == std::string::npos) continue;
    const size_t end = at + tag.size();
    if (end != line.size() && line[end] != ' ') continue;  // event=sent, not event=sent_x
    if (std::all_of(fragments.begin(), fragments.end(),
                    [&](const std::string& f) { return line.find(f) != std::string::npos; })) {
      lines.push_back(line);
    }
  }
  return lines;
}

}  // namespace torcht1::testing
