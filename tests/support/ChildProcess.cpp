#include "ChildProcess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

extern char** environ;

namespace torcht1::testing {

namespace {

/// `name` itself when it holds a slash, else the first executable of that name in PATH.
std::string findExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::istringstream folders(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string folder; std::getline(folders, folder, ':');) {
    const std::string candidate = (folder.empty() ? "." : folder) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> arguments, std::string outputFile,
                           std::vector<std::string> environment)
    : arguments_(std::move(arguments)) {
  if (arguments_.empty()) {
    startError_ = "no program given";
    return;
  }
  const std::string executable = findExecutable(arguments_[0]);
  if (executable.empty()) {
    startError_ = arguments_[0] + ": not found" + (arguments_[0].find('/') == std::string::npos ? " in PATH" : "");
    return;
  }
  int output = -1;
  if (!outputFile.empty()) {
    output = ::open(outputFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (output < 0) {
      startError_ = outputFile + ": " + std::strerror(errno);
      return;
    }
  }
  // Everything the child needs is prepared here: between fork and exec it only makes
  // async-signal-safe calls (the test process has threads).
  std::vector<char*> argv;
  for (auto& a : arguments_) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The test's environment, less the variables `environment` sets, then those.
  std::vector<std::string> variables;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string variable = *e;
    const std::string name = variable.substr(0, variable.find('=') + 1);
    const bool replaced = std::any_of(environment.begin(), environment.end(),
                                      [&](const std::string& v) { return v.compare(0, name.size(), name) == 0; });
    if (!replaced) variables.push_back(variable);
  }
  variables.insert(variables.end(), environment.begin(), environment.end());
  std::vector<char*> envp;
  for (auto& v : variables) envp.push_back(v.data());
  envp.push_back(nullptr);
  int report[2];  // the child writes errno here when exec fails; closes on exec
  if (::pipe2(report, O_CLOEXEC) != 0) {
    startError_ = std::string("pipe: ") + std::strerror(errno);
    if (output >= 0) ::close(output);
    return;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (output >= 0) {
      ::dup2(output, STDOUT_FILENO);
      ::dup2(output, STDERR_FILENO);
    }
    ::execve(executable.c_str(), argv.data(), envp.data());
    const int error = errno;
    [[maybe_unused]] const ssize_t written = ::write(report[1], &error, sizeof error);
    ::_exit(127);
  }
  ::close(report[1]);
  if (output >= 0) ::close(output);
  if (pid < 0) {
    startError_ = std::string("fork: ") + std::strerror(errno);
    ::close(report[0]);
    return;
  }
  pid_ = pid;
  int error = 0;
  ssize_t got;
  do {
    got = ::read(report[0], &error, sizeof error);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got == static_cast<ssize_t>(sizeof error)) {
    startError_ = executable + ": cannot be run: " + std::strerror(error);
    ::waitpid(pid_, &status_, 0);
    exited_ = true;
  }
}

ChildProcess::~ChildProcess() { stop(); }

bool ChildProcess::running() {
  if (pid_ <= 0 || exited_) return false;
  const pid_t done = ::waitpid(pid_, &status_, WNOHANG);
  if (done == pid_ || (done < 0 && errno == ECHILD)) exited_ = true;
  return !exited_;
}

std::string ChildProcess::state() {
  if (!startError_.empty()) return startError_;
  if (pid_ <= 0) return "not started";
  if (running()) return "still running";
  if (WIFEXITED(status_)) return "exited with status " + std::to_string(WEXITSTATUS(status_));
  if (WIFSIGNALED(status_)) return "killed by signal " + std::to_string(WTERMSIG(status_));
  return "ended";
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (running()) {
    ::kill(pid_, SIGKILL);
    if (::waitpid(pid_, &status_, 0) == pid_) exited_ = true;
  }
}

bool ChildProcess::signal(int number) { return running() && ::kill(pid_, number) == 0; }

bool ChildProcess::waitForExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace torcht1::testing
