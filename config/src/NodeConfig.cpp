#include "torcht1/config/NodeConfig.h"

#include "torcht1/config/EcvConfig.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "torcht1/config/FitConfig.h"
#include "ConfigDocument.h"
#include "YamlSection.h"

extern char** environ;

namespace torcht1::config {

namespace {

/// DICOM AE titles: 1 to 16 characters of the default repertoire, no backslash, not only spaces.
void checkAeTitle(const std::string& value) {
  if (value.empty() || value.size() > 16) throw std::runtime_error("'" + value + "' must be 1 to 16 characters");
  for (unsigned char c : value) {
    if (c < 0x20 || c > 0x7e || c == '\\') throw std::runtime_error("'" + value + "' has a character not allowed in an AE title");
  }
  if (value.find_first_not_of(' ') == std::string::npos) throw std::runtime_error("must not be only spaces");
}

bool isLoopback(const std::string& bind) {
  return bind == "127.0.0.1" || bind == "localhost" || bind == "::1" || bind.rfind("127.", 0) == 0;
}

/// A host name or IP address as `allowed_hosts` takes it: 1 to 253 characters, letters,
/// digits, '.', '-', ':' (IPv6); no patterns.
void checkHost(const std::string& value) {
  if (value.empty() || value.size() > 253) throw std::runtime_error("'" + value + "' must be 1 to 253 characters");
  for (unsigned char c : value) {
    if (!std::isalnum(c) && c != '.' && c != '-' && c != ':') {
      throw std::runtime_error("'" + value + "' is not a host name or IP address");
    }
  }
}

void requireText(const ConfigDocument& document, const YAML::Node& at, const std::string& key, const std::string& value,
                 const std::string& when) {
  if (value.empty()) document.fail(at, key, "is required when " + when);
}

/// A PEM file's path; "" means not set (checked against `enabled` once the section is read).
void readTlsFile(YamlSection& s, const std::string& name, std::string& out) {
  s.text(name, [&out](const std::string& v) { out = v; });
}

void readNodeTls(const YAML::Node& v, const std::string& key, const ConfigDocument& document, NodeTlsSettings& t) {
  YamlSection s(v, key, document);
  s.flag("enabled", t.enabled);
  readTlsFile(s, "certificate", t.certificate);
  readTlsFile(s, "private_key", t.privateKey);
  readTlsFile(s, "ca_certificates", t.caCertificates);
  s.flag("require_peer_certificate", t.requirePeerCertificate);
  s.read();
  if (!t.enabled) return;
  requireText(document, v, key + ".certificate", t.certificate, key + ".enabled is true");
  requireText(document, v, key + ".private_key", t.privateKey, key + ".enabled is true");
  if (t.requirePeerCertificate) {
    requireText(document, v, key + ".ca_certificates", t.caCertificates,
                key + ".require_peer_certificate is true (the CAs that sign the callers' certificates)");
  }
}

void readDestinationTls(const YAML::Node& v, const std::string& key, const ConfigDocument& document,
                        DestinationTlsSettings& t) {
  YamlSection s(v, key, document);
  s.flag("enabled", t.enabled);
  readTlsFile(s, "ca_certificates", t.caCertificates);
  readTlsFile(s, "certificate", t.certificate);
  readTlsFile(s, "private_key", t.privateKey);
  s.read();
  if (!t.enabled) return;
  requireText(document, v, key + ".ca_certificates", t.caCertificates,
              key + ".enabled is true (the CAs that sign the peer's certificate)");
  if (t.certificate.empty() != t.privateKey.empty()) {
    document.fail(v, key + (t.certificate.empty() ? ".certificate" : ".private_key"),
                  "is required with " + key + (t.certificate.empty() ? ".private_key" : ".certificate"));
  }
}

void readNode(YamlSection& s, NodeSettings& n, const ConfigDocument& document) {
  s.text("ae_title", [&](const std::string& v) {
    checkAeTitle(v);
    n.aeTitle = v;
  });
  s.number("port", n.port, 1, 65535);
  s.text("spool_dir", [&](const std::string& v) {
    if (v.empty()) throw std::runtime_error("must not be empty");
    n.spoolDir = v;
  });
  s.number("max_associations", n.maxAssociations, 1, 256);
  s.number("max_pdu_bytes", n.maxPduBytes, 4096, 131072);
  s.number("acse_timeout_seconds", n.acseTimeoutSeconds, 1, 3600);
  s.number("dimse_timeout_seconds", n.dimseTimeoutSeconds, 1, 3600);
  s.number("max_pending_series", n.maxPendingSeries, 1, 100000);
  s.number("retention_hours", n.retentionHours, 0.0, 87600.0);
  s.custom("allowed_calling_aes", [&](const YAML::Node& v, const std::string& key) {
    if (!v.IsSequence()) s.fail(v, key, "expected a list of AE titles, e.g. [SCANNER1, PACS]");
    n.allowedCallingAes.clear();
    for (const auto& item : v) {
      const std::string ae = s.scalar<std::string>(item, key, "an AE title");
      try {
        checkAeTitle(ae);
      } catch (const std::runtime_error& e) {
        s.fail(item, key, e.what());
      }
      n.allowedCallingAes.push_back(ae);
    }
  });
  s.custom("allowed_hosts", [&](const YAML::Node& v, const std::string& key) {
    if (!v.IsSequence()) s.fail(v, key, "expected a list of IP addresses or host names, e.g. [10.0.0.7, mr1.example.org]");
    n.allowedHosts.clear();
    for (const auto& item : v) {
      const std::string host = s.scalar<std::string>(item, key, "an IP address or host name");
      try {
        checkHost(host);
      } catch (const std::runtime_error& e) {
        s.fail(item, key, e.what());
      }
      n.allowedHosts.push_back(host);
    }
  });
  s.custom("tls", [&](const YAML::Node& v, const std::string& key) { readNodeTls(v, key, document, n.tls); });
}

DestinationSettings readDestination(const YAML::Node& v, const std::string& key, const ConfigDocument& document,
                                    const NodeSettings& node) {
  DestinationSettings d;
  YamlSection s(v, key, document);
  s.text("name", [&](const std::string& x) {
    if (x.empty() || x.size() > 32 ||
        !std::all_of(x.begin(), x.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; })) {
      throw std::runtime_error("'" + x + "' must be 1 to 32 letters, digits, '-' or '_' (it names a folder)");
    }
    d.name = x;
  });
  s.text("ae_title", [&](const std::string& x) {
    checkAeTitle(x);
    d.aeTitle = x;
  });
  s.text("calling_ae_title", [&](const std::string& x) {
    checkAeTitle(x);
    d.callingAeTitle = x;
  });
  s.text("host", [&](const std::string& x) {
    if (x.empty()) throw std::runtime_error("must not be empty");
    d.host = x;
  });
  s.number("port", d.port, 1, 65535);
  s.number("timeout_seconds", d.timeoutSeconds, 1, 3600);
  s.number("max_attempts", d.maxAttempts, 1, 100000);
  s.number("retry_initial_seconds", d.retryInitialSeconds, 0.01, 86400.0);
  s.number("retry_max_seconds", d.retryMaxSeconds, 0.01, 86400.0);
  s.custom("tls", [&](const YAML::Node& x, const std::string& k) { readDestinationTls(x, k, document, d.tls); });
  s.read();
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"name", &d.name},
                                     {"ae_title", &d.aeTitle}, {"host", &d.host}}) {
    if (value->empty()) s.fail(v, key + "." + field, "is required");
  }
  if (!v["port"]) s.fail(v, key + ".port", "is required");
  if (d.retryMaxSeconds < d.retryInitialSeconds) s.fail(v, key + ".retry_max_seconds", "must not be below retry_initial_seconds");
  if (d.callingAeTitle.empty()) d.callingAeTitle = node.aeTitle;
  return d;
}

Settings fromDocument(const ConfigDocument& document) {
  document.checkSections({"node", "http", "series", "fit", "input", "output", "ecv", "destinations"});
  Settings settings;
  settings.fit = FitConfig::fromDocument(document);
  settings.input = InputConfig::fromDocument(document);
  settings.ecv = EcvConfig::fromDocument(document);
  settings.output = OutputConfig::fromDocument(document);
  if (const YAML::Node node = document.section("node"); node.IsDefined()) {
    YamlSection s(node, "node", document);
    readNode(s, settings.node, document);
    s.read();
  }
  if (const YAML::Node http = document.section("http"); http.IsDefined()) {
    YamlSection s(http, "http", document);
    s.text("bind", [&](const std::string& v) {
      if (v.empty()) throw std::runtime_error("must not be empty");
      settings.http.bind = v;
    });
    s.number("port", settings.http.port, 0, 65535);
    s.text("token", [&](const std::string& v) { settings.http.token = v; });
    s.read();
    if (!isLoopback(settings.http.bind) && settings.http.token.empty()) {
      document.fail(http, "http.bind",
                    "'" + settings.http.bind + "' is reachable from other hosts: set http.token (a bearer token)");
    }
  }
  if (const YAML::Node series = document.section("series"); series.IsDefined()) {
    YamlSection s(series, "series", document);
    s.number("idle_seconds", settings.series.idleSeconds, 0.1, 86400.0);
    s.flag("use_expected_count", settings.series.useExpectedCount);
    s.read();
  }
  if (const YAML::Node list = document.section("destinations"); list.IsDefined()) {
    if (!list.IsSequence()) document.fail(list, "destinations", "expected a list of {name, ae_title, host, port}");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string key = "destinations." + std::to_string(i);
      const DestinationSettings d = readDestination(list[i], key, document, settings.node);
      for (const auto& other : settings.destinations) {
        if (other.name == d.name) document.fail(list[i], key + ".name", "'" + d.name + "' twice");
      }
      settings.destinations.push_back(d);
    }
  }
  return settings;
}

}  // namespace

Settings NodeConfig::load(const std::string& path, const std::map<std::string, std::string>& environment) {
  ConfigDocument document = path.empty() ? ConfigDocument("", "defaults") : ConfigDocument::fromFile(path);
  document.applyEnvironment(environment);
  return fromDocument(document);
}

Settings NodeConfig::fromYaml(const std::string& yamlText, const std::string& source,
                              const std::map<std::string, std::string>& environment) {
  ConfigDocument document(yamlText, source);
  document.applyEnvironment(environment);
  return fromDocument(document);
}

std::map<std::string, std::string> NodeConfig::processEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos && entry.rfind("TORCHT1_", 0) == 0) out[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return out;
}

std::string NodeConfig::describe(const Settings& s) {
  std::ostringstream out;
  out << "node: ae_title=" << s.node.aeTitle << " port=" << s.node.port << " spool_dir=" << s.node.spoolDir
      << " max_associations=" << s.node.maxAssociations << " allowed_calling_aes="
      << (s.node.allowedCallingAes.empty() ? "(everyone)" : "");
  for (size_t i = 0; i < s.node.allowedCallingAes.size(); ++i) out << (i ? "," : "") << s.node.allowedCallingAes[i];
  out << " allowed_hosts=" << (s.node.allowedHosts.empty() ? "(everyone)" : "");
  for (size_t i = 0; i < s.node.allowedHosts.size(); ++i) out << (i ? "," : "") << s.node.allowedHosts[i];
  out << " tls=" << (!s.node.tls.enabled                      ? "off"
                     : s.node.tls.requirePeerCertificate ? "on (callers need a certificate)"
                                                         : "on (any caller)");
  out << "\nhttp: bind=" << s.http.bind << " port=" << s.http.port << " token=" << (s.http.token.empty() ? "none" : "set")
      << "\nseries: idle_seconds=" << s.series.idleSeconds << " use_expected_count=" << (s.series.useExpectedCount ? "true" : "false")
      << "\nfit: device=" << s.fit.device << " solver=" << mapping::toString(s.fit.solver) << " model=" << s.fit.model
      << "\noutput: dir=" << s.output.dir << " maps=";
  for (size_t i = 0; i < s.output.maps.size(); ++i) out << (i ? "," : "") << s.output.maps[i];
  out << "\ndestinations:";
  if (s.destinations.empty()) out << " none (maps go to output.dir)";
  for (const auto& d : s.destinations) {
    out << "\n  " << d.name << ": " << d.aeTitle << "@" << d.host << ":" << d.port << " as " << d.callingAeTitle
        << (d.tls.enabled ? " over TLS" : "") << ", up to " << d.maxAttempts << " attempts";
  }
  out << "\n";
  return out.str();
}

}  // namespace torcht1::config
