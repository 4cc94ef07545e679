#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace torcht1::http {

/// A Prometheus histogram over fixed buckets (upper bounds, inclusive). Thread-safe; lives as
/// long as its MetricsRegistry.
class Histogram {
 public:
  /// `upperBounds` strictly increasing, no NaN; a trailing +Inf may be given and is implied
  /// anyway. Throws std::invalid_argument otherwise.
  explicit Histogram(std::vector<double> upperBounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  /// Counts `value` in the first bucket whose bound is >= value (NaN goes to +Inf only).
  void observe(double value);

  /// One consistent reading: `cumulative[i]` counts observations <= upperBounds[i], and the
  /// last entry (the +Inf bucket) equals `count`.
  struct Snapshot {
    std::vector<double> upperBounds;
    std::vector<uint64_t> cumulative;
    double sum = 0.0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& upperBounds() const { return upperBounds_; }

  /// Prometheus' default buckets, 5 ms to 10 s.
  static std::vector<double> defaultBuckets();

 private:
  std::vector<double> upperBounds_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; one more than upperBounds_
  double sum_ = 0.0;
};

}  // namespace torcht1::http
