#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace torcht1::node {

/// One map series (or what is left of it) waiting for one destination.
struct OutboxJob {
  std::string destination;
  std::string id;                  // "<series key>-v<version>"
  std::string dir;
  std::vector<std::string> files;  // .dcm files still to send
  int attempts = 0;
  double nextAttemptUnix = 0;
  std::string lastError;
};

/// Durable per-destination outboxes in the spool:
///   staging/<id>/                maps being written (never sent)
///   outbox/<destination>/<id>/   maps to send, plus a `job` file with attempts and last error
///   failed/<destination>/<id>/   given up after max attempts, with the reason in `job`
/// A job appears in an outbox by one rename, so a crash never leaves half a job there.
class Outbox {
 public:
  Outbox(std::string spoolRoot, std::vector<std::string> destinations);

  /// A fresh staging folder for job `id` (emptied if a crash left one).
  std::string stage(const std::string& id) const;
  /// Publishes the staged job to every destination (hard links; a copy across file
  /// systems), replacing an older copy of the same job. Removes the staging folder.
  void publish(const std::string& id) const;

  std::vector<OutboxJob> pending(const std::string& destination) const;
  std::vector<OutboxJob> failed(const std::string& destination) const;
  /// After a send: `sent` files are removed; if nothing is left the job is done.
  /// Otherwise the attempt is recorded; returns true when the job moved to failed/.
  bool recordAttempt(OutboxJob& job, const std::vector<std::string>& sent, const std::string& error,
                     double nextAttemptUnix, int maxAttempts) const;
  /// Moves failed jobs back to their outboxes with a fresh attempt count; "" = every
  /// destination. Returns how many jobs.
  size_t requeue(const std::string& destination = "") const;

  const std::vector<std::string>& destinations() const { return destinations_; }

 private:
  std::vector<OutboxJob> jobs(const std::string& base, const std::string& destination) const;
  std::string root_;
  std::vector<std::string> destinations_;
  mutable std::mutex mutex_;
};

}  // namespace torcht1::node
