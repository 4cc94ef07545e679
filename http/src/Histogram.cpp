#include "torcht1/http/Histogram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace torcht1::http {

Histogram::Histogram(std::vector<double> upperBounds) : upperBounds_(std::move(upperBounds)) {
  if (!upperBounds_.empty() && std::isinf(upperBounds_.back()) && upperBounds_.back() > 0) upperBounds_.pop_back();
  for (size_t i = 0; i < upperBounds_.size(); ++i) {
    if (std::isnan(upperBounds_[i]) || (i > 0 && !(upperBounds_[i] > upperBounds_[i - 1]))) {
      throw std::invalid_argument("histogram buckets must be strictly increasing numbers (bucket " +
                                  std::to_string(i) + ")");
    }
  }
  counts_.assign(upperBounds_.size() + 1, 0);
}

void Histogram::observe(double value) {
  const size_t bucket = std::isnan(value) ? upperBounds_.size()
                                          : static_cast<size_t>(std::lower_bound(upperBounds_.begin(), upperBounds_.end(), value) -
                                                                upperBounds_.begin());
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_[bucket];
  sum_ += value;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upperBounds = upperBounds_;
  std::lock_guard<std::mutex> lock(mutex_);
  s.cumulative.reserve(counts_.size());
  for (const uint64_t n : counts_) {
    s.count += n;
    s.cumulative.push_back(s.count);
  }
  s.sum = sum_;
  return s;
}

std::vector<double> Histogram::defaultBuckets() { return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}; }

}  // namespace torcht1::http
