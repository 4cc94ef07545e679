#pragma once

#include <atomic>

namespace torcht1::http {

/// A Prometheus gauge: a value that goes up and down. Thread-safe; lives as long as its
/// MetricsRegistry.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double value);
  void add(double amount);
  void inc(double amount = 1.0) { add(amount); }
  void dec(double amount = 1.0) { add(-amount); }
  double value() const;

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace torcht1::http
