#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "torcht1/http/Counter.h"
#include "torcht1/http/Gauge.h"
#include "torcht1/http/Histogram.h"

namespace torcht1::http {

/// Metrics for Prometheus, rendered in the text exposition format 0.0.4.
///
/// counter(), gauge() and histogram() create a series on first use and return the same object
/// for the same name and labels afterwards; the references stay valid as long as the registry.
/// All methods are thread-safe. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
/// [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__", and not "le" on a histogram); a name used
/// with another type, or a histogram with other buckets, throws std::invalid_argument.
/// The help text of a family is the one given first.
class MetricsRegistry {
 public:
  using Labels = std::map<std::string, std::string>;

  /// The Content-Type of render()'s output.
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& buckets,
                       const Labels& labels = {});

  /// Every family sorted by name, each with "# HELP" and "# TYPE" once, its series sorted by
  /// labels; label values escape backslash, double quote and newline.
  std::string render() const;

 private:
  enum class Type { counter, gauge, histogram };
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> buckets;  // histograms only, as normalised by Histogram
    std::map<Labels, Series> series;
  };

  static const char* typeName(Type type);
  Series& series(const std::string& name, const std::string& help, Type type, const Labels& labels,
                 const std::vector<double>* buckets);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace torcht1::http
