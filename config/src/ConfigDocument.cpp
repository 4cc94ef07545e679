#include "ConfigDocument.h"

#include <algorithm>
#include <cctype>

#include "torcht1/config/ConfigError.h"
#include "YamlSection.h"

namespace torcht1::config {

namespace {

const char kPrefix[] = "TORCHT1_";

YAML::Node parseValue(const std::string& value) {
  try {
    YAML::Node node = YAML::Load(value);
    if (node.IsDefined() && !node.IsNull()) return node;
  } catch (const YAML::Exception&) {
    // not YAML: taken as the plain string it is
  }
  return YAML::Node(value);
}

bool isIndex(const std::string& part) {
  return !part.empty() && part.size() < 6 && std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

ConfigDocument::ConfigDocument(const std::string& text, std::string source) : source_(std::move(source)) {
  try {
    root_ = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(source_, e.mark.line + 1, e.mark.column + 1, "", "not valid YAML: " + e.msg);
  }
  if (!root_.IsDefined() || root_.IsNull()) {
    root_ = YAML::Node(YAML::NodeType::Map);
  } else if (!root_.IsMap()) {
    throw ConfigError(source_, 1, 1, "", "the file must be a mapping of sections");
  }
}

ConfigDocument ConfigDocument::fromFile(const std::string& path) { return ConfigDocument(readConfigFile(path), path); }

void ConfigDocument::applyEnvironment(const std::map<std::string, std::string>& environment) {
  for (const auto& entry : environment) {
    // Not a structured binding: the lambdas below capture the name (C++17 clang refuses).
    const std::string& name = entry.first;
    const std::string& value = entry.second;
    if (name.rfind(kPrefix, 0) != 0 || name == "TORCHT1_CONFIG") continue;
    std::vector<std::string> parts;
    std::string rest = name.substr(sizeof kPrefix - 1);
    for (size_t at; (at = rest.find("__")) != std::string::npos; rest = rest.substr(at + 2)) parts.push_back(rest.substr(0, at));
    parts.push_back(rest);
    bool wellFormed = true;
    for (auto& part : parts) {
      std::transform(part.begin(), part.end(), part.begin(), [](unsigned char c) { return std::tolower(c); });
      if (part.empty()) wellFormed = false;
    }
    if (!wellFormed || (parts.size() == 1 && parts[0] != "destinations")) {
      throw ConfigError("environment variable " + name, 0, 0, "",
                        "not a configuration key: use TORCHT1_<SECTION>__<KEY>, e.g. TORCHT1_NODE__PORT, "
                        "or TORCHT1_DESTINATIONS (a YAML list)");
    }
    std::string path = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) path += "." + parts[i];
    origins_[path] = name;

    // Walk (and make) the path. yaml-cpp's Node::operator= writes through to the node it is
    // bound to, so moving along the path uses reset(), which rebinds.
    auto fits = [&](const YAML::Node& n, bool wantSequence) { return wantSequence ? n.IsSequence() : n.IsMap(); };
    auto misfit = [&]() {
      return ConfigError("environment variable " + name, 0, 0, path, "does not fit the file's structure there");
    };
    YAML::Node node;
    node.reset(root_);
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& part = parts[i];
      const bool last = i + 1 == parts.size();
      if (node.IsSequence() != isIndex(part)) throw misfit();
      if (node.IsSequence()) {
        const size_t index = std::stoul(part);
        while (node.size() <= index) node.push_back(YAML::Node(YAML::NodeType::Map));
      }
      auto slot = [&]() { return node.IsSequence() ? node[std::stoul(part)] : node[part]; };
      if (last) {
        slot() = parseValue(value);
        break;
      }
      const bool wantSequence = isIndex(parts[i + 1]);
      YAML::Node child;
      child.reset(slot());
      if (!child.IsDefined() || child.IsNull()) {
        YAML::Node fresh(wantSequence ? YAML::NodeType::Sequence : YAML::NodeType::Map);
        slot() = fresh;
        child.reset(fresh);
      } else if (!fits(child, wantSequence)) {
        throw misfit();
      }
      node.reset(child);
    }
  }
}

YAML::Node ConfigDocument::section(const std::string& name) const {
  const YAML::Node& root = root_;  // const access: no key is created
  YAML::Node node = root[name];
  if (!node.IsDefined() || node.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  return node;
}

void ConfigDocument::checkSections(const std::vector<std::string>& known) const {
  for (const auto& entry : root_) {
    const std::string name = keyName(entry.first, "");
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(entry.first, name, "unknown section (known: " + list + ")");
    }
  }
}

std::string ConfigDocument::keyName(const YAML::Node& key, const std::string& parent) const {
  // A list or mapping as a key ("{[a]: 1}") is valid YAML; yaml-cpp throws its own
  // exception when it is read as a string.
  if (!key.IsScalar()) fail(key, parent.empty() ? "(section)" : parent, "a key must be a name, not a list or mapping");
  return key.Scalar();
}

void ConfigDocument::fail(const YAML::Node& at, const std::string& key, const std::string& message) const {
  // The longest overridden prefix of the key says where the value came from.
  const std::string* variable = nullptr;
  size_t longest = 0;
  for (const auto& [path, name] : origins_) {
    if ((key == path || key.rfind(path + ".", 0) == 0) && path.size() >= longest) {
      variable = &name;
      longest = path.size();
    }
  }
  // A section or list item that only a variable made (its key is a prefix of the variable's).
  if (variable == nullptr && at.Mark().is_null()) {
    for (const auto& [path, name] : origins_) {
      if (path.rfind(key + ".", 0) == 0) variable = &name;
    }
  }
  if (variable != nullptr) throw ConfigError("environment variable " + *variable, 0, 0, key, message);
  const auto mark = at.Mark();
  throw ConfigError(source_, mark.line + 1, mark.column + 1, key, message);
}

}  // namespace torcht1::config
