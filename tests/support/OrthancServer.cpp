#include "OrthancServer.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "FreePort.h"

namespace fs = std::filesystem;

namespace torcht1::testing {

namespace {

std::string readTail(const fs::path& file, size_t lines) {
  std::ifstream in(file);
  if (!in) return "";
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string text;
  for (const auto& line : last) text += line + "\n";
  return text;
}

bool contains(const fs::path& file, const std::string& text) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

OrthancServer::OrthancServer(OrthancOptions options) : options_(std::move(options)) {
  std::string pattern = (fs::temp_directory_path() / "torcht1-orthanc-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    startError_ = "cannot create a temporary folder " + pattern + ": " + std::strerror(errno);
    return;
  }
  dir_ = pattern;
  // A port taken between freePort() and Orthanc's bind makes Orthanc exit at once: then
  // new ports are tried.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (start()) return;
    if (!contains(dir_ / "orthanc.log", "already in use")) return;
  }
}

OrthancServer::~OrthancServer() {
  if (process_) process_->stop(std::chrono::seconds(10));
  if (!dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

bool OrthancServer::start(bool newPorts) {
  if (newPorts) {
    dicomPort_ = freePort();
    httpPort_ = freePort();
    for (int i = 0; i < 10 && httpPort_ == dicomPort_; ++i) httpPort_ = freePort();
  }
  ready_ = false;
  std::error_code ignored;
  fs::remove(dir_ / "orthanc.log", ignored);
  nlohmann::json config = {
      {"Name", "torcht1-test"},
      {"StorageDirectory", (dir_ / "db").string()},
      {"IndexDirectory", (dir_ / "db").string()},
      {"StorageCompression", false},
      {"DicomServerEnabled", true},
      {"DicomAet", options_.aeTitle},
      {"DicomPort", dicomPort_},
      {"DicomCheckCalledAet", true},
      {"HttpServerEnabled", true},
      {"HttpPort", httpPort_},
      {"RemoteAccessAllowed", false},
      {"AuthenticationEnabled", false},
      {"HttpCompressionEnabled", false},
      {"Plugins", nlohmann::json::array()},
      {"SaveJobs", false},
  };
  if (!options_.luaScript.empty()) {
    std::ofstream(dir_ / "script.lua") << options_.luaScript << "\n";
    config["LuaScripts"] = {(dir_ / "script.lua").string()};
  }
  std::ofstream(dir_ / "orthanc.json") << config.dump(2) << "\n";

  const auto started = std::chrono::steady_clock::now();
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{options_.executable, "--logfile=" + (dir_ / "orthanc.log").string(),
                               (dir_ / "orthanc.json").string()},
      (dir_ / "stdout.log").string());
  if (!process_->started()) {
    startError_ = "Orthanc (package orthanc) cannot be started: " + process_->state();
    return false;
  }
  const auto deadline = started + options_.startTimeout;
  while (process_->running()) {
    const HttpResponse answer = get("/system");
    if (answer.status == 200) {
      ready_ = true;
      startError_.clear();
      startDuration_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      process_->stop(std::chrono::seconds(10));
      startError_ = "Orthanc did not answer GET /system on port " + std::to_string(httpPort_) + " within " +
                    std::to_string(options_.startTimeout.count()) + " ms (last: " +
                    (answer.status != 0 ? "status " + std::to_string(answer.status) : answer.error) + ")";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  startError_ = "Orthanc (" + options_.executable + ", package orthanc) " + process_->state() +
                " before answering GET /system";
  return false;
}

void OrthancServer::stop() {
  if (process_) process_->stop(std::chrono::seconds(10));
  ready_ = false;
}

bool OrthancServer::restart() {
  stop();
  return start(false);
}

bool OrthancServer::running() { return ready_ && process_ && process_->running(); }

std::string OrthancServer::startError() {
  if (running()) return "";
  std::string message = startError_.empty() ? "Orthanc " + (process_ ? process_->state() : std::string("not started"))
                                            : startError_;
  if (fs::exists(dir_ / "orthanc.log") || fs::exists(dir_ / "stdout.log")) message += "\n" + logTail();
  return message;
}

HttpResponse OrthancServer::get(const std::string& path) const {
  return HttpClient("127.0.0.1", httpPort_).get(path);
}

nlohmann::json OrthancServer::json(const std::string& path) const {
  const HttpResponse answer = get(path);
  if (answer.status != 200) {
    throw std::runtime_error("GET " + path + ": " +
                             (answer.status != 0 ? "status " + std::to_string(answer.status) + ": " + answer.body
                                                 : answer.error));
  }
  try {
    return nlohmann::json::parse(answer.body);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("GET " + path + ": not JSON (" + e.what() + "): " + answer.body.substr(0, 200));
  }
}

size_t OrthancServer::instanceCount() const { return json("/statistics").at("CountInstances").get<size_t>(); }

std::vector<std::string> OrthancServer::seriesDescriptions() const {
  std::vector<std::string> descriptions;
  for (const auto& series : json("/series?expand")) {
    descriptions.push_back(series.at("MainDicomTags").value("SeriesDescription", ""));
  }
  std::sort(descriptions.begin(), descriptions.end());
  return descriptions;
}

void OrthancServer::downloadInstance(const std::string& orthancId, const fs::path& destination) const {
  const std::string path = "/instances/" + orthancId + "/file";
  const HttpResponse answer = get(path);
  if (answer.status != 200) {
    throw std::runtime_error("GET " + path + ": " +
                             (answer.status != 0 ? "status " + std::to_string(answer.status) : answer.error));
  }
  std::ofstream out(destination, std::ios::binary);
  out.write(answer.body.data(), static_cast<std::streamsize>(answer.body.size()));
  if (!out) throw std::runtime_error(destination.string() + ": cannot be written");
}

bool OrthancServer::waitForInstances(const std::function<bool(size_t)>& done, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done(instanceCount())) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool OrthancServer::waitForInstances(size_t count, std::chrono::milliseconds timeout) const {
  return waitForInstances([count](size_t n) { return n == count; }, timeout);
}

std::string OrthancServer::logTail(size_t lines) const {
  std::string text = "--- " + (dir_ / "orthanc.log").string() + " (last lines)\n" + readTail(dir_ / "orthanc.log", lines);
  const std::string output = readTail(dir_ / "stdout.log", lines);
  if (!output.empty()) text += "--- Orthanc's stdout and stderr\n" + output;
  return text;
}

}  // namespace torcht1::testing
