#pragma once

#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace torcht1::node {

/// Structured log: one line per event, logfmt style, UTC time first:
///   2026-11-24T10:15:02.481Z event=fitted series=1.2.826... version=1 fit_ms=41.2 device=cpu
/// Values with spaces or quotes are quoted; newlines never split a line.
class EventLog {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;
  explicit EventLog(std::ostream& out);
  void write(const std::string& event, const Fields& fields = {});

 private:
  std::ostream& out_;
  std::mutex mutex_;
};

}  // namespace torcht1::node
