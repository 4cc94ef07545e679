#pragma once

// Orthanc (package orthanc) as a test's PACS: DICOM in, REST API to look at what it holds.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ChildProcess.h"
#include "HttpClient.h"

namespace torcht1::testing {

struct OrthancOptions {
  std::string aeTitle = "ORTHANC";
  /// Lua installed with "LuaScripts", e.g. a ReceivedInstanceFilter; empty for none.
  std::string luaScript;
  std::string executable = "/usr/sbin/Orthanc";
  std::chrono::milliseconds startTimeout = std::chrono::seconds(30);
};

/// A private Orthanc: its own configuration, storage and index in a fresh temporary folder,
/// DICOM and HTTP on free ports of 127.0.0.1 (no remote access, no authentication, called
/// AE title checked, no plugins, storage uncompressed), its log in that folder. The
/// constructor returns once GET /system answers, or when it gives up: check running() and
/// report startError(). The destructor stops it (SIGTERM, SIGKILL after 10 s) and removes
/// the folder. Getters that parse JSON throw std::runtime_error with the request and the
/// answer when the answer is not 200 or not JSON.
class OrthancServer {
 public:
  explicit OrthancServer(OrthancOptions options = {});
  ~OrthancServer();
  OrthancServer(const OrthancServer&) = delete;
  OrthancServer& operator=(const OrthancServer&) = delete;

  /// Answered GET /system and has not exited since.
  bool running();
  /// Stops it (SIGTERM, then SIGKILL after 10 s), as a PACS going down: its storage, index
  /// and ports are kept for restart().
  void stop();
  /// Starts it again on the same ports with the same storage; true once GET /system answers
  /// (else see startError()).
  bool restart();
  /// Why it is not running, with the tail of its log; empty while it runs.
  std::string startError();
  /// How long the start took until /system answered.
  std::chrono::milliseconds startDuration() const { return startDuration_; }

  int dicomPort() const { return dicomPort_; }
  int httpPort() const { return httpPort_; }
  const std::string& aeTitle() const { return options_.aeTitle; }
  const std::filesystem::path& dir() const { return dir_; }

  /// GET on the REST API, e.g. get("/studies").
  HttpResponse get(const std::string& path) const;
  /// GET, parsed as JSON.
  nlohmann::json json(const std::string& path) const;
  /// CountInstances of /statistics.
  size_t instanceCount() const;
  /// Every series' SeriesDescription, sorted ("" for a series without one).
  std::vector<std::string> seriesDescriptions() const;
  /// GET /instances/{id}/file into `destination`; throws std::runtime_error when it fails.
  void downloadInstance(const std::string& orthancId, const std::filesystem::path& destination) const;
  /// Polls instanceCount() until `done(count)` or `timeout`; true when done.
  bool waitForInstances(const std::function<bool(size_t count)>& done,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  /// Until exactly `count` instances are stored.
  bool waitForInstances(size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  /// The last lines of Orthanc's log (and of its stdout/stderr), for failure messages.
  std::string logTail(size_t lines = 30) const;

 private:
  bool start(bool newPorts = true);

  OrthancOptions options_;
  std::filesystem::path dir_;
  int dicomPort_ = 0;
  int httpPort_ = 0;
  std::unique_ptr<ChildProcess> process_;
  bool ready_ = false;
  std::string startError_;
  std::chrono::milliseconds startDuration_{0};
};

}  // namespace torcht1::testing
