#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "torcht1/config/NodeConfig.h"
#include "torcht1/dicom/StoreServer.h"
#include "torcht1/http/HttpServer.h"
#include "torcht1/http/MetricsRegistry.h"
#include "torcht1/node/Dispatcher.h"
#include "torcht1/node/EcvStage.h"
#include "torcht1/node/HematocritStore.h"
#include "torcht1/node/EventLog.h"
#include "torcht1/node/Outbox.h"
#include "torcht1/node/SeriesPipeline.h"
#include "torcht1/node/SeriesTracker.h"
#include "torcht1/node/Spool.h"

namespace torcht1::node {

/// The DICOM node: receives instances (StoreServer) into the durable spool, decides when a
/// series is complete (SeriesTracker), fits it (SeriesPipeline), and sends the maps to every
/// destination (Outbox, Dispatcher) or writes them to the output folder.
class Node : private dicom::StoreHandler {
 public:
  Node(config::Settings settings, std::ostream& log);
  ~Node();

  /// Recovers the spool, starts every part; throws NodeError / DicomError (one line) when
  /// a part cannot start (port in use, spool not writable, device not there).
  void start();
  /// Stops receiving, finishes the series in hand and the sends in progress.
  void stop();

  std::vector<SeriesRecord> series() const { return tracker_.snapshot(); }
  /// Failed sends back to their outboxes ("" = every destination).
  size_t requeue(const std::string& destination = "");
  bool ready() const { return ready_; }
  /// The HTTP port (the bound one when http.port is 0); 0 before start().
  int httpPort() const { return http_ ? http_->port() : 0; }
  /// Prometheus text: counters, histograms, and gauges read now.
  std::string metrics();
  const config::Settings& settings() const { return settings_; }
  /// No ECV job queued or in hand (true when ECV is off).
  bool ecvIdle() const { return !ecv_ || ecv_->idle(); }
  /// A measured hematocrit for a study (by study UID or accession number, or both): kept
  /// durably, and the study's ECV maps are made again with it. Returns "" or why the value
  /// is refused (one line).
  std::string postHematocrit(const std::string& studyUid, const std::string& accession, double value);
  EventLog& log() { return log_; }

 private:
  uint16_t stored(const dicom::ReceivedInstance& instance) override;
  void waitForCapacity() override;
  void storeFailed(const std::string& callingAe, const std::string& what, const std::string& reason) override;
  void associationRejected(const std::string& callingAe, const std::string& calledAe, const std::string& peer,
                           const std::string& reason) override;
  void startHttp();
  void registerMetrics();
  void count(const PipelineOutcome& outcome);
  void schedule();
  void recover();
  void expire();

  config::Settings settings_;
  EventLog log_;
  Spool spool_;
  SeriesTracker tracker_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Dispatcher> dispatcher_;
  HematocritStore hematocrit_;
  std::unique_ptr<SeriesPipeline> pipeline_;
  std::unique_ptr<EcvStage> ecv_;
  std::unique_ptr<dicom::StoreServer> server_;
  http::MetricsRegistry metrics_;
  std::unique_ptr<http::HttpServer> http_;
  std::thread scheduler_;
  std::mutex mutex_;
  std::condition_variable wake_;
  /// Instances are committed under a shared lock, expiry deletes under an exclusive one: a
  /// series is never deleted while an instance of it is being taken.
  std::shared_mutex spoolLock_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};
  bool started_ = false;
};

}  // namespace torcht1::node
