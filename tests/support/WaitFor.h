#pragma once

// Waiting in a test for something another process or thread does.

#include <chrono>
#include <functional>
#include <thread>

namespace torcht1::testing {

/// Polls `done` every 50 ms until it holds (true) or `timeout` passes (false).
inline bool waitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace torcht1::testing
