#pragma once

#include <string>
#include <vector>

#include "torcht1/dicom/ReceivedInstance.h"

namespace torcht1::node {

/// What the node remembers of a series across restarts (series/<key>/state).
struct SeriesState {
  std::string seriesUid;
  std::string description;
  int version = 0;             // last fitted version; 0: never fitted
  size_t fittedInstances = 0;  // instances that fit used
  std::string outcome;         // "", "fitted", "not_t1", "failed"
  std::string reason;          // one line for not_t1 and failed
  /// Of the fitted series, for ECV pairing without reading its images: the study it belongs
  /// to, its accession number, and whether it is post-contrast.
  std::string studyUid;
  std::string accession;
  bool postContrast = false;
};

/// The durable spool on disk:
///   tmp/                      instances being received (removed at start-up: never acknowledged)
///   series/<key>/<sop>.dcm    received instances, fsync'd before the success response
///   series/<key>/state        SeriesState
///   series/<key>/t1maps, ecv  what ECV pairing keeps of a fitted series (EcvStore)
///   hematocrit/               measured hematocrit values per study (HematocritStore)
///   expired/<key>             the state of a fitted series that left after node.retention_hours
///                             (one small file per series, kept: its last version numbers the next)
/// (outbox/, failed/ and staging/ belong to the Outbox.) Keys are the UIDs themselves when
/// they are plain UIDs ([0-9.], at most 64 characters), else "x" and a hash: no received
/// string reaches a path unchecked.
class Spool {
 public:
  /// Creates the folders; throws NodeError naming the folder.
  explicit Spool(std::string root);

  const std::string& root() const { return root_; }
  std::string tempDir() const;
  std::string seriesDir(const std::string& key) const;
  /// Where a fitted series' state is kept once the series has expired.
  std::string expiredState(const std::string& key) const;

  struct Committed {
    std::string key;
    std::string file;
    bool duplicate = false;  // the same SOP Instance UID was already spooled (it is replaced)
  };
  /// Moves a received (fsync'd) instance into its series folder, durably. Throws NodeError.
  Committed commit(const dicom::ReceivedInstance& instance);

  std::vector<std::string> instanceFiles(const std::string& key) const;
  /// Every series folder's key, sorted.
  std::vector<std::string> seriesKeys() const;

  struct SpooledSeries {
    std::string key;
    SeriesState state;
    std::vector<std::string> files;
    long long lastModifiedUnix = 0;
    /// Never fitted: ImagesInAcquisition and AcquisitionNumber as every spooled instance
    /// states them, so a series cut by a restart still completes on its expected count
    /// (0 / -1 when absent; expectedConflict when the instances disagree or one is unreadable).
    int expected = 0;
    int acquisition = -1;
    bool expectedConflict = false;
  };
  /// At start-up: removes partial files in tmp/ and returns every spooled series.
  std::vector<SpooledSeries> recover();

  SeriesState readState(const std::string& key) const;
  void writeState(const std::string& key, const SeriesState& state);
  /// Removes the series' folder; a fitted series' state moves to expiredState(key), so that
  /// a series started again by a late instance continues its version numbers.
  void removeSeries(const std::string& key);

  static std::string safeName(const std::string& uid);

 private:
  std::string root_;
};

}  // namespace torcht1::node
