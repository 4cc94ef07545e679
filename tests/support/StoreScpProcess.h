#pragma once

// DCMTK's storescp as a test's C-STORE peer.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ChildProcess.h"

namespace torcht1::testing {

/// storescp (package dcmtk) listening on a free port of 127.0.0.1 (or on `port` when one is
/// given: a peer that comes up where a destination was down), writing what it receives into
/// `dir` (created if missing). Its output goes to the test's. Stopped by the destructor.
class StoreScpProcess {
 public:
  enum class Mode {
    Accept,             // stores every instance it is sent
    RefuseAssociation,  // --refuse: answers every association request with A-ASSOCIATE-RJ
  };

  /// `options` go to storescp before the port, e.g. {"+tls", KEY, CERT, "+cf", CA}.
  explicit StoreScpProcess(std::filesystem::path dir, std::string aeTitle = "PACS", Mode mode = Mode::Accept,
                           int port = 0, std::vector<std::string> options = {});
  ~StoreScpProcess();
  StoreScpProcess(const StoreScpProcess&) = delete;
  StoreScpProcess& operator=(const StoreScpProcess&) = delete;

  /// Started, accepted a connection on port(), and not exited since.
  bool running();
  /// Why it is not running (storescp missing, exited with status N), for an assertion message.
  std::string state();
  int port() const { return port_; }
  const std::string& aeTitle() const { return aeTitle_; }
  const std::filesystem::path& dir() const { return dir_; }
  /// The files received so far (regular files in dir(), sorted by path).
  std::vector<std::filesystem::path> files() const;

 private:
  std::filesystem::path dir_;
  std::string aeTitle_;
  int port_ = 0;
  bool ready_ = false;  // accepted a connection once
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace torcht1::testing
