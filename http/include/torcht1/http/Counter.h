#pragma once

#include <atomic>

namespace torcht1::http {

/// A Prometheus counter: only goes up. Thread-safe; lives as long as its MetricsRegistry.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  /// Adds `amount`; throws std::invalid_argument when it is negative or NaN.
  void inc(double amount = 1.0);
  double value() const;

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace torcht1::http
