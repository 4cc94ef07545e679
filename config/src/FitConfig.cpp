#include "torcht1/config/FitConfig.h"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/SignalModel.h"

namespace torcht1::config {

namespace {

/// Reads one mapping node: every key must be known; each known key is handed to its reader.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, const std::string& source)
      : node_(node), path_(std::move(path)), source_(source) {
    if (!node_.IsMap()) fail(node_, path_, "must be a mapping of keys");
  }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& message) const {
    const auto mark = at.Mark();
    throw ConfigError(source_, mark.line + 1, mark.column + 1, key, message);
  }

  std::string keyPath(const std::string& key) const { return path_ + "." + key; }

  template <typename T>
  T scalar(const YAML::Node& value, const std::string& key, const char* type) const {
    if (!value.IsScalar()) fail(value, key, "expected " + std::string(type));
    try {
      return value.as<T>();
    } catch (const YAML::Exception&) {
      fail(value, key, "'" + value.Scalar() + "' is not " + type);
    }
  }

  template <typename T>
  void number(const std::string& name, T& out, T min, T max) {
    readers_[name] = [this, &out, min, max, name](const YAML::Node& v) {
      const std::string key = keyPath(name);
      const T value = scalar<T>(v, key, std::is_integral<T>::value ? "an integer" : "a number");
      if (!(value >= min && value <= max)) {
        std::ostringstream range;
        range << v.Scalar() << " is out of range (" << min << ".." << max << ")";
        fail(v, key, range.str());
      }
      out = value;
    };
  }
  void flag(const std::string& name, bool& out) {
    readers_[name] = [this, &out, name](const YAML::Node& v) { out = scalar<bool>(v, keyPath(name), "true or false"); };
  }
  void text(const std::string& name, std::function<void(const std::string&)> set) {
    readers_[name] = [this, set, name](const YAML::Node& v) {
      const std::string value = scalar<std::string>(v, keyPath(name), "a string");
      try {
        set(value);
      } catch (const mapping::FitError& e) {
        fail(v, keyPath(name), e.what());
      }
    };
  }
  void section(const std::string& name, std::function<void(Section&)> fill) {
    readers_[name] = [this, fill, name](const YAML::Node& v) {
      Section inner(v, keyPath(name), source_);
      fill(inner);
      inner.read();
    };
  }
  void custom(const std::string& name, std::function<void(const YAML::Node&, const std::string&)> read) {
    readers_[name] = [read, this, name](const YAML::Node& v) { read(v, keyPath(name)); };
  }

  void read() {
    for (const auto& entry : node_) {
      const std::string name = entry.first.as<std::string>();
      auto it = readers_.find(name);
      if (it == readers_.end()) {
        std::string known;
        for (const auto& [k, _] : readers_) known += (known.empty() ? "" : ", ") + k;
        fail(entry.first, keyPath(name), "unknown key (known: " + known + ")");
      }
      it->second(entry.second);
    }
  }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& source_;
  std::map<std::string, std::function<void(const YAML::Node&)>> readers_;
};

}  // namespace

mapping::FitOptions FitConfig::fromYaml(const std::string& yamlText, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yamlText);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(source, e.mark.line + 1, e.mark.column + 1, "", "not valid YAML: " + e.msg);
  }
  mapping::FitOptions o;
  if (!root.IsDefined() || root.IsNull()) return o;
  if (!root.IsMap()) throw ConfigError(source, 1, 1, "", "the file must be a mapping of sections");
  const YAML::Node fit = root["fit"];
  if (!fit.IsDefined() || fit.IsNull()) return o;

  Section s(fit, "fit", source);
  s.text("device", [&](const std::string& v) { o.device = v; });
  s.text("solver", [&](const std::string& v) { o.solver = mapping::solverFromString(v); });
  s.text("model", [&](const std::string& v) {
    mapping::makeModel(v);
    o.model = v;
  });
  s.flag("double_precision", o.doublePrecision);
  s.number("threads", o.threads, 0, 1024);
  s.number("cpu_block_voxels", o.cpuBlockVoxels, int64_t{64}, int64_t{1} << 30);
  s.custom("valid_range", [&](const YAML::Node& v, const std::string& key) {
    if (!v.IsSequence() || v.size() != 2) s.fail(v, key, "expected [min, max] in ms");
    const double lo = s.scalar<double>(v[0], key, "a number"), hi = s.scalar<double>(v[1], key, "a number");
    if (!(lo < hi)) s.fail(v, key, "min must be below max");
    o.validMin = lo;
    o.validMax = hi;
  });
  s.section("mask", [&](Section& m) {
    m.flag("enabled", o.mask.enabled);
    m.number("threshold", o.mask.threshold, 0.0, 0.999);
    m.number("percentile", o.mask.percentile, 0.001, 1.0);
  });
  s.section("lm", [&](Section& m) {
    m.number("max_iterations", o.lm.maxIterations, 1, 10000);
    m.number("initial_damping", o.lm.initialDamping, 1e-12, 1e6);
    m.number("step_tolerance", o.lm.stepTolerance, 1e-12, 0.1);
    m.number("cost_tolerance", o.lm.costTolerance, 0.0, 0.1);
    m.number("grid_points", o.lm.gridPoints, 3, 4096);
    m.number("polarity_candidates", o.lm.polarityCandidates, 0, 64);
    m.number("second_pattern_factor", o.lm.secondPatternFactor, 0.0, 1e6);
  });
  s.section("adam", [&](Section& m) {
    m.number("learning_rate", o.adam.learningRate, 1e-9, 10.0);
    m.number("max_iterations", o.adam.maxIterations, 1, 10000000);
    m.number("tolerance", o.adam.tolerance, 0.0, 1.0);
    m.number("window", o.adam.window, 1, 1000000);
  });
  s.read();
  try {
    o.validate();
  } catch (const mapping::FitError& e) {
    const auto mark = fit.Mark();
    throw ConfigError(source, mark.line + 1, mark.column + 1, "fit", e.what());
  }
  return o;
}

mapping::FitOptions FitConfig::fromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, 0, "", "cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  return fromYaml(text.str(), path);
}

}  // namespace torcht1::config
