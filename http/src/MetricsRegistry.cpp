#include "torcht1/http/MetricsRegistry.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace torcht1::http {

namespace {

bool validName(const std::string& name, bool colons) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

/// Prometheus' number syntax: shortest round-trip decimal, +Inf, -Inf, NaN.
std::string formatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, result.ptr);
}

std::string escape(const std::string& text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

/// {a="x",b="y"} with `extra` (already formatted, e.g. le="0.5") last; empty when no labels.
std::string labelSet(const MetricsRegistry::Labels& labels, const std::string& extra = "") {
  if (labels.empty() && extra.empty()) return "";
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += name + "=\"" + escape(value, true) + '"';
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ',';
    out += extra;
  }
  return out + '}';
}

}  // namespace

const char* MetricsRegistry::typeName(Type type) {
  switch (type) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

MetricsRegistry::Series& MetricsRegistry::series(const std::string& name, const std::string& help, Type type,
                                                 const Labels& labels, const std::vector<double>* buckets) {
  if (!validName(name, true)) throw std::invalid_argument("invalid metric name '" + name + "'");
  for (const auto& [label, value] : labels) {
    if (!validName(label, false) || label.rfind("__", 0) == 0 || (type == Type::histogram && label == "le")) {
      throw std::invalid_argument(name + ": invalid label name '" + label + "'");
    }
  }
  // A histogram's family owns name_bucket, name_sum and name_count as well.
  const auto clashes = [&](const std::string& histogramName, const std::string& other) {
    return other == histogramName + "_bucket" || other == histogramName + "_sum" || other == histogramName + "_count";
  };

  std::lock_guard<std::mutex> lock(mutex_);
  auto found = families_.find(name);
  if (found == families_.end()) {
    for (const auto& [other, family] : families_) {
      if ((type == Type::histogram && clashes(name, other)) || (family.type == Type::histogram && clashes(other, name))) {
        throw std::invalid_argument(name + ": clashes with the series of metric '" + other + "'");
      }
    }
    Family family{type, help, {}, {}};
    if (buckets != nullptr) family.buckets = Histogram(*buckets).upperBounds();
    found = families_.emplace(name, std::move(family)).first;
  }
  Family& family = found->second;
  if (family.type != type) {
    throw std::invalid_argument(name + ": registered as a " + typeName(family.type) +
                                ", requested as a " + typeName(type));
  }
  if (buckets != nullptr && Histogram(*buckets).upperBounds() != family.buckets) {
    throw std::invalid_argument(name + ": registered with other buckets");
  }
  Series& s = family.series[labels];
  if (type == Type::counter && !s.counter) s.counter = std::make_unique<Counter>();
  if (type == Type::gauge && !s.gauge) s.gauge = std::make_unique<Gauge>();
  if (type == Type::histogram && !s.histogram) s.histogram = std::make_unique<Histogram>(family.buckets);
  return s;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  return *series(name, help, Type::counter, labels, nullptr).counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  return *series(name, help, Type::gauge, labels, nullptr).gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& buckets, const Labels& labels) {
  return *series(name, help, Type::histogram, labels, &buckets).histogram;
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + ' ' + escape(family.help, false) + '\n';
    out += "# TYPE " + name + ' ' + typeName(family.type) + '\n';
    for (const auto& [labels, s] : family.series) {
      if (s.counter) out += name + labelSet(labels) + ' ' + formatNumber(s.counter->value()) + '\n';
      if (s.gauge) out += name + labelSet(labels) + ' ' + formatNumber(s.gauge->value()) + '\n';
      if (s.histogram) {
        const Histogram::Snapshot snap = s.histogram->snapshot();
        for (size_t i = 0; i < snap.cumulative.size(); ++i) {
          const double bound = i < snap.upperBounds.size() ? snap.upperBounds[i] : HUGE_VAL;
          out += name + "_bucket" + labelSet(labels, "le=\"" + formatNumber(bound) + '"') + ' ' +
                 std::to_string(snap.cumulative[i]) + '\n';
        }
        out += name + "_sum" + labelSet(labels) + ' ' + formatNumber(snap.sum) + '\n';
        out += name + "_count" + labelSet(labels) + ' ' + std::to_string(snap.count) + '\n';
      }
    }
  }
  return out;
}

}  // namespace torcht1::http
