#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "torcht1/config/NodeConfig.h"
#include "torcht1/node/EventLog.h"
#include "torcht1/node/Outbox.h"
#include "torcht1/node/SeriesMapper.h"
#include "torcht1/node/SeriesTracker.h"
#include "torcht1/node/Spool.h"

namespace torcht1::node {

template <typename T>
class BoundedQueue;

/// What became of a complete series (for metrics).
struct PipelineOutcome {
  std::string key;
  enum Kind { Fitted, Unchanged, NotT1, Failed } kind = Fitted;
  double fitSeconds = 0;     // on the device
  double totalSeconds = 0;   // from complete to maps published
  size_t mapFiles = 0;
  std::string studyUid;  // of a fitted series (its ECV pairing is looked at next)
};

/// Complete series in, map series out, on three threads so the device is kept busy:
/// decode (read the spool, select and assemble the MOLLI series, load pixels), fit (the one
/// thread that owns the device), write (encode the maps, publish them to the outboxes or the
/// output folder, record the series state). The queues between them hold one series each,
/// so memory stays bounded however many series are waiting.
class SeriesPipeline {
 public:
  using Published = std::function<void(const PipelineOutcome&)>;
  SeriesPipeline(const config::Settings& settings, Spool& spool, SeriesTracker& tracker, const Outbox* outbox,
                 EventLog& log, Published published);
  ~SeriesPipeline();

  void start();
  /// Hands a complete series to the decoder (never blocks).
  void submit(const std::string& key);
  /// Finishes the series in hand and stops; queued ones stay in the spool for the next start.
  void stop();
  /// "cpu" or "cuda:N".
  std::string device() const;
  size_t queued() const;

 private:
  struct Job;
  void decodeLoop();
  void fitLoop();
  void writeLoop();
  void fail(const std::string& key, const std::string& uid, const std::string& reason);

  const config::Settings& settings_;
  Spool& spool_;
  SeriesTracker& tracker_;
  const Outbox* outbox_;
  EventLog& log_;
  Published published_;
  SeriesMapper mapper_;
  std::unique_ptr<BoundedQueue<std::string>> incoming_;
  std::unique_ptr<BoundedQueue<std::shared_ptr<Job>>> toFit_, toWrite_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
};

}  // namespace torcht1::node
