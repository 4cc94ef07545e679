#include "torcht1/http/Counter.h"

#include <stdexcept>
#include <string>

namespace torcht1::http {

void Counter::inc(double amount) {
  if (!(amount >= 0.0)) throw std::invalid_argument("counter increment must be >= 0, got " + std::to_string(amount));
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
  }
}

double Counter::value() const { return value_.load(std::memory_order_relaxed); }

}  // namespace torcht1::http
