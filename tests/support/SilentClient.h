#pragma once

// A caller that opens a TCP connection to a DICOM port and then sends nothing: no
// A-ASSOCIATE-RQ, and on a TLS port no ClientHello either.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace torcht1::testing {

class SilentClient {
 public:
  /// Connects to 127.0.0.1:`port` (connected() tells whether it did).
  explicit SilentClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) close();
  }
  ~SilentClient() { close(); }
  SilentClient(const SilentClient&) = delete;
  SilentClient& operator=(const SilentClient&) = delete;

  bool connected() const { return fd_ >= 0; }

  /// This end's port (0 when not connected).
  int localPort() const {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
    return ntohs(address.sin_port);
  }

  /// The peer closed the connection (end of file or reset) within `timeout`; false when it
  /// is still open then, or was never connected.
  bool closedByPeerWithin(std::chrono::milliseconds timeout) {
    if (fd_ < 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;  // timeout (checked above) or EINTR
      char byte;
      const ssize_t n = ::recv(fd_, &byte, 1, 0);
      if (n <= 0) return true;  // 0: end of file; < 0: reset
      // Anything the peer sends (an A-ABORT, a TLS alert) is read past: only the close counts.
    }
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace torcht1::testing
