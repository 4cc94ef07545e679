#include "torcht1/node/EventLog.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace torcht1::node {

namespace {

std::string quoted(const std::string& value) {
  const bool plain = !value.empty() && value.find_first_of(" \"=\t\n\r\\") == std::string::npos;
  if (plain) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out + "\"";
}

std::string utcNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buffer;
}

}  // namespace

EventLog::EventLog(std::ostream& out) : out_(out) {}

void EventLog::write(const std::string& event, const Fields& fields) {
  std::string line = utcNow() + " event=" + quoted(event);
  for (const auto& [name, value] : fields) line += " " + name + "=" + quoted(value);
  line += "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  out_ << line << std::flush;
}

}  // namespace torcht1::node
