#pragma once

// A program a test runs beside itself (a DICOM or HTTP peer), ended with the test.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace torcht1::testing {

/// Starts `arguments[0]` (a path, or a name looked up in PATH) with the other arguments.
/// Its stdout and stderr go to `outputFile` (created or truncated) when one is given, else
/// to the test's own. It inherits the test's environment, with `environment` ("NAME=VALUE",
/// e.g. TORCHT1_NODE__PORT=11112) added or replacing a variable of that name. The child is sent SIGKILL by the kernel if the thread that started it
/// dies, so a crashed or timed-out test leaves no peer holding a port. Stopped (SIGTERM,
/// then SIGKILL after a grace period) by stop() or the destructor.
class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> arguments, std::string outputFile = {},
                        std::vector<std::string> environment = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The program was found and a process started (it may have exited since).
  bool started() const { return pid_ > 0; }
  /// Started and not exited yet; reaps the child when it has exited.
  bool running();
  /// How it ended, e.g. "exited with status 1" or "killed by signal 9"; "still running",
  /// or why it never started ("storescp: not found in PATH").
  std::string state();
  /// SIGTERM, then up to `grace` for it to exit, then SIGKILL; waits for it in any case.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  /// Sends signal `number` (e.g. SIGKILL) if it is still running; true when sent.
  bool signal(int number);
  /// Waits up to `timeout` for it to exit; true when it has (or never started).
  bool waitForExit(std::chrono::milliseconds timeout);

 private:
  std::vector<std::string> arguments_;
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::string startError_;
};

}  // namespace torcht1::testing
