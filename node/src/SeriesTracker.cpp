#include "torcht1/node/SeriesTracker.h"

namespace torcht1::node {

std::string toString(SeriesPhase phase) {
  switch (phase) {
    case SeriesPhase::Receiving: return "receiving";
    case SeriesPhase::Queued: return "queued";
    case SeriesPhase::Fitting: return "fitting";
    case SeriesPhase::Fitted: return "fitted";
    case SeriesPhase::NotT1: return "not_t1";
    case SeriesPhase::Failed: return "failed";
  }
  return "unknown";
}

SeriesTracker::SeriesTracker(double idleSeconds, bool useExpectedCount)
    : idleSeconds_(idleSeconds), useExpectedCount_(useExpectedCount) {}

void SeriesTracker::restore(const SeriesRecord& fromSpool, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  SeriesRecord r = fromSpool;
  r.firstArrival = r.lastArrival = now;
  const bool grown = r.instances > r.fittedInstances;
  if (r.version == 0 && r.phase != SeriesPhase::NotT1 && r.phase != SeriesPhase::Failed) {
    r.phase = SeriesPhase::Receiving;
    r.completedBy = "";
  } else if (grown) {
    r.phase = SeriesPhase::Receiving;
  }
  series_[r.key] = r;
}

void SeriesTracker::received(const std::string& key, const std::string& uid, const std::string& description,
                             const std::string& callingAe, int imagesInAcquisition, int acquisitionNumber,
                             bool duplicate, double now, long long nowUnix) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = series_.try_emplace(key);
  SeriesRecord& r = it->second;
  if (inserted) {
    r.key = key;
    r.uid = uid;
    r.description = description;
    r.firstArrival = now;
    r.expected = imagesInAcquisition;
    r.acquisition = acquisitionNumber;
  } else if ((r.expected != imagesInAcquisition || r.acquisition != acquisitionNumber) && !r.expectedConflict) {
    r.expectedConflict = true;  // instances disagree (or some lack it): idle wait only
    r.expected = 0;
  }
  if (!callingAe.empty()) r.callingAe = callingAe;
  r.lastArrival = now;
  r.lastArrivalUnix = nowUnix;
  if (!duplicate) ++r.instances;
  if (r.phase == SeriesPhase::Fitted || r.phase == SeriesPhase::NotT1 || r.phase == SeriesPhase::Failed) {
    r.phase = SeriesPhase::Receiving;  // a late (or resent) instance: decided again when complete
  }
}

std::vector<std::string> SeriesTracker::due(double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> keys;
  for (auto& [key, r] : series_) {
    if (r.phase != SeriesPhase::Receiving) continue;
    const bool expectedReached = useExpectedCount_ && r.version == 0 && r.expected > 0 && !r.expectedConflict &&
                                 r.instances >= static_cast<size_t>(r.expected);
    const bool idle = now - r.lastArrival >= idleSeconds_;
    if (expectedReached || idle) {
      r.phase = SeriesPhase::Queued;
      r.completedAt = now;
      r.completedBy = expectedReached ? "expected count" : "idle";
      keys.push_back(key);
    }
  }
  return keys;
}

void SeriesTracker::fitting(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = series_.find(key); it != series_.end()) it->second.phase = SeriesPhase::Fitting;
}

void SeriesTracker::settle(SeriesRecord& r, SeriesPhase done) {
  // Instances that arrived while the series was queued or fitted make it due again.
  r.phase = r.instances > r.fittedInstances && done == SeriesPhase::Fitted ? SeriesPhase::Receiving : done;
}

void SeriesTracker::fitted(const std::string& key, int version, size_t instances, double fitSeconds,
                           const std::string& device, const std::vector<std::string>& mapSeriesUids,
                           const std::string& previewFile, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = series_.find(key);
  if (it == series_.end()) return;
  SeriesRecord& r = it->second;
  r.version = version;
  r.fittedInstances = instances;
  r.fitSeconds = fitSeconds;
  r.device = device;
  r.mapSeriesUids = mapSeriesUids;
  if (!previewFile.empty()) r.previewFile = previewFile;
  r.fittedAt = now;
  r.message.clear();
  settle(r, SeriesPhase::Fitted);
}

void SeriesTracker::motion(const std::string& key, const std::string& summary, double maxDisplacementMm) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = series_.find(key); it != series_.end()) {
    it->second.motion = summary;
    it->second.maxDisplacementMm = maxDisplacementMm;
  }
}

void SeriesTracker::unchanged(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = series_.find(key); it != series_.end()) {
    it->second.phase = it->second.version > 0 ? SeriesPhase::Fitted : SeriesPhase::NotT1;
  }
}

void SeriesTracker::notT1(const std::string& key, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = series_.find(key); it != series_.end()) {
    it->second.message = reason;
    it->second.fittedInstances = it->second.instances;
    it->second.phase = SeriesPhase::NotT1;
  }
}

void SeriesTracker::failed(const std::string& key, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = series_.find(key); it != series_.end()) {
    it->second.message = reason;
    it->second.phase = SeriesPhase::Failed;
  }
}

void SeriesTracker::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  series_.erase(key);
}

void SeriesTracker::ecv(const std::string& key, const EcvState& state) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = series_.find(key); it != series_.end()) it->second.ecv = state;
}

std::vector<SeriesRecord> SeriesTracker::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SeriesRecord> all;
  for (const auto& [key, r] : series_) all.push_back(r);
  return all;
}

std::optional<SeriesRecord> SeriesTracker::find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = series_.find(key);
  if (it == series_.end()) return std::nullopt;
  return it->second;
}

size_t SeriesTracker::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const auto& [key, r] : series_) n += r.phase == SeriesPhase::Queued || r.phase == SeriesPhase::Fitting;
  return n;
}

}  // namespace torcht1::node
