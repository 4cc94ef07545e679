#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "torcht1/node/EcvState.h"

namespace torcht1::node {

enum class SeriesPhase { Receiving, Queued, Fitting, Fitted, NotT1, Failed };
std::string toString(SeriesPhase phase);

/// One series as the node sees it (the status page and /api/series show these).
struct SeriesRecord {
  std::string key;  // spool folder name
  std::string uid;
  std::string description;
  std::string callingAe;
  size_t instances = 0;
  /// ImagesInAcquisition when every instance carries the same value and the same
  /// AcquisitionNumber (several acquisitions in one series: unknown); 0: unknown.
  int expected = 0;
  int acquisition = -1;
  bool expectedConflict = false;
  SeriesPhase phase = SeriesPhase::Receiving;
  std::string completedBy;        // "idle", "expected count", "restart"
  double firstArrival = 0, lastArrival = 0, completedAt = 0, fittedAt = 0;  // node clock, s
  long long lastArrivalUnix = 0;
  int version = 0;                // last fitted version
  size_t fittedInstances = 0;
  double fitSeconds = 0;          // on the device
  std::string device;
  std::string message;            // reason for NotT1 / Failed, or a note
  std::vector<std::string> mapSeriesUids;
  std::string previewFile;        // PNG of the T1 map's middle slice
  /// Motion correction of the last fit: its summary line, and the largest displacement it
  /// found (mm); "" and -1 when it did not run.
  std::string motion;
  double maxDisplacementMm = -1;
  /// Post-contrast series: what became of its ECV maps ("" outcome: no ECV job yet).
  EcvState ecv;
};

/// Groups arrivals by series and decides when a series is complete: no instance for
/// `idleSeconds`, or (before its first fit) as soon as the expected count has arrived.
/// Late instances after a fit bring the series back to Receiving; it is fitted again as a
/// new version. Pure bookkeeping: the caller passes the time, so it is tested without
/// threads; every method is thread-safe.
class SeriesTracker {
 public:
  SeriesTracker(double idleSeconds, bool useExpectedCount);

  /// A series found in the spool at start-up. Unfitted (or grown since its fit) series
  /// wait for completion again from `now`.
  void restore(const SeriesRecord& fromSpool, double now);
  /// An instance was spooled (`duplicate`: its SOP Instance UID was there already).
  void received(const std::string& key, const std::string& uid, const std::string& description,
                const std::string& callingAe, int imagesInAcquisition, int acquisitionNumber, bool duplicate, double now,
                long long nowUnix);
  /// Series that became complete: Receiving -> Queued.
  std::vector<std::string> due(double now);

  void fitting(const std::string& key);
  /// The motion correction of the fit that is about to be reported fitted.
  void motion(const std::string& key, const std::string& summary, double maxDisplacementMm);
  /// Fitted as `version` from `instances` instances. Instances that came meanwhile put the
  /// series back to Receiving.
  void fitted(const std::string& key, int version, size_t instances, double fitSeconds, const std::string& device,
              const std::vector<std::string>& mapSeriesUids, const std::string& previewFile, double now);
  /// Complete but nothing new since the last fit.
  void unchanged(const std::string& key);
  void notT1(const std::string& key, const std::string& reason);
  void failed(const std::string& key, const std::string& reason);
  void forget(const std::string& key);
  /// The ECV outcome of a post-contrast series (a series no longer known is left alone).
  void ecv(const std::string& key, const EcvState& state);

  std::vector<SeriesRecord> snapshot() const;
  std::optional<SeriesRecord> find(const std::string& key) const;
  /// Queued or being fitted.
  size_t pending() const;

 private:
  void settle(SeriesRecord& r, SeriesPhase done);
  double idleSeconds_;
  bool useExpectedCount_;
  mutable std::mutex mutex_;
  std::map<std::string, SeriesRecord> series_;
};

}  // namespace torcht1::node
