#pragma once

// Strict reading of one YAML mapping: every key must be known, values are type- and
// range-checked, and every error is a ConfigError with file, line, column and key.

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "torcht1/config/ConfigError.h"
#include "ConfigDocument.h"

namespace torcht1::config {

/// The whole file; ConfigError "<path>: cannot read the file" otherwise.
std::string readConfigFile(const std::string& path);

/// Reads one mapping node: every key must be known; each known key is handed to its reader.
class YamlSection {
 public:
  YamlSection(const YAML::Node& node, std::string path, const ConfigDocument& document)
      : node_(node), path_(std::move(path)), document_(document) {
    if (!node_.IsMap()) fail(node_, path_, "must be a mapping of keys");
  }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& message) const {
    document_.fail(at, key, message);
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
      } catch (const std::runtime_error& e) {  // a setter's own rejection, e.g. an unknown name
        fail(v, keyPath(name), e.what());
      }
    };
  }
  void section(const std::string& name, std::function<void(YamlSection&)> fill) {
    readers_[name] = [this, fill, name](const YAML::Node& v) {
      YamlSection inner(v, keyPath(name), document_);
      fill(inner);
      inner.read();
    };
  }
  /// A non-empty list of distinct map names, each one of `known`.
  void mapList(const std::string& name, const std::vector<std::string>& known, std::vector<std::string>& out,
             const std::string& example) {
    readers_[name] = [this, &out, known, name, example](const YAML::Node& v) {
      const std::string key = keyPath(name);
      if (!v.IsSequence() || v.size() == 0) fail(v, key, "expected a list of maps, e.g. " + example);
      out.clear();
      for (const auto& item : v) {
        const std::string value = scalar<std::string>(item, key, "a name");
        if (std::find(known.begin(), known.end(), value) == known.end()) {
          std::string list;
          for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
          fail(item, key, "unknown map '" + value + "' (known: " + list + ")");
        }
        if (std::find(out.begin(), out.end(), value) != out.end()) fail(item, key, "'" + value + "' twice");
        out.push_back(value);
      }
    };
  }
  void custom(const std::string& name, std::function<void(const YAML::Node&, const std::string&)> read) {
    readers_[name] = [read, this, name](const YAML::Node& v) { read(v, keyPath(name)); };
  }

  void read() {
    for (const auto& entry : node_) {
      const std::string name = document_.keyName(entry.first, path_);
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
  const ConfigDocument& document_;
  std::map<std::string, std::function<void(const YAML::Node&)>> readers_;
};

}  // namespace torcht1::config
