#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "torcht1/config/NodeConfig.h"
#include "torcht1/node/Outbox.h"

namespace torcht1::node {

/// What a send did, for logs and metrics.
struct DispatchEvent {
  std::string destination;
  std::string peer;  // "AE@host:port"
  std::string jobId;
  enum Kind { Sent, Retry, GaveUp } kind = Sent;
  size_t instances = 0;  // sent in this attempt
  size_t remaining = 0;
  int attempts = 0;
  double nextAttemptInSeconds = 0;
  std::string error;
};

/// Sends each destination's outbox by C-STORE on its own thread, so a destination that is
/// down holds up no other. Every instance's response status is checked; what the peer took
/// leaves the outbox, the rest is retried with exponential backoff (retry_initial_seconds,
/// doubling, at most retry_max_seconds) until max_attempts, then moves to failed/.
class Dispatcher {
 public:
  using Listener = std::function<void(const DispatchEvent&)>;
  Dispatcher(const Outbox& outbox, std::vector<config::DestinationSettings> destinations, Listener listener);
  ~Dispatcher();

  void start();
  /// Finishes the send in progress (bounded by the peer timeout) and returns.
  void stop();
  /// New work was published (or requeued): look now rather than at the next poll.
  void wake();
  /// The backoff before attempt `attempts` + 1.
  static double backoffSeconds(const config::DestinationSettings& d, int attempts);

 private:
  void run(const config::DestinationSettings& destination);
  const Outbox& outbox_;
  std::vector<config::DestinationSettings> destinations_;
  Listener listener_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t generation_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace torcht1::node
