#include "torcht1/http/Gauge.h"

namespace torcht1::http {

void Gauge::set(double value) { value_.store(value, std::memory_order_relaxed); }

void Gauge::add(double amount) {
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
  }
}

double Gauge::value() const { return value_.load(std::memory_order_relaxed); }

}  // namespace torcht1::http
