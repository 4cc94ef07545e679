#include "StoreScpProcess.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "FreePort.h"

namespace torcht1::testing {

namespace {

bool accepting(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

StoreScpProcess::StoreScpProcess(std::filesystem::path dir, std::string aeTitle, Mode mode, int port,
                                 std::vector<std::string> options)
    : dir_(std::move(dir)), aeTitle_(std::move(aeTitle)) {
  std::filesystem::create_directories(dir_);
  // The free port may be taken before storescp binds it: then storescp exits and another
  // port is tried (a port given is tried once).
  for (int attempt = 0; attempt < (port > 0 ? 1 : 3); ++attempt) {
    port_ = port > 0 ? port : freePort();
    ready_ = false;
    std::vector<std::string> arguments = {"storescp", "-aet", aeTitle_, "-od", dir_.string()};
    if (mode == Mode::RefuseAssociation) arguments.push_back("--refuse");
    arguments.insert(arguments.end(), options.begin(), options.end());
    arguments.push_back(std::to_string(port_));
    process_ = std::make_unique<ChildProcess>(arguments);
    for (int i = 0; i < 100 && process_->running() && !ready_; ++i) {
      ready_ = accepting(port_);
      if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!process_->started() || running()) return;
  }
}

StoreScpProcess::~StoreScpProcess() = default;

bool StoreScpProcess::running() { return ready_ && process_->running(); }

std::string StoreScpProcess::state() {
  const std::string name = "storescp (package dcmtk) on port " + std::to_string(port_) + ": ";
  if (running()) return name + "accepting";
  if (process_->running()) return name + "not accepting connections after 5 s";
  return name + process_->state();
}

std::vector<std::filesystem::path> StoreScpProcess::files() const {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace torcht1::testing
