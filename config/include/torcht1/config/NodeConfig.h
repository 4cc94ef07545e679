#pragma once

#include <map>
#include <string>
#include <vector>

#include "torcht1/config/ConfigError.h"
#include "torcht1/config/InputConfig.h"
#include "torcht1/config/OutputConfig.h"
#include "torcht1/mapping/EcvOptions.h"
#include "torcht1/mapping/FitOptions.h"

namespace torcht1::config {

/// `node.tls:` DICOM TLS for receiving (PEM files).
struct NodeTlsSettings {
  bool enabled = false;
  std::string certificate;     // the node's certificate
  std::string privateKey;      // its private key (unencrypted PEM)
  std::string caCertificates;  // PEM file of the CAs whose certificates callers may present
  /// Callers must present a certificate signed by one of ca_certificates; false: any caller
  /// may connect (the channel is encrypted, the caller not authenticated).
  bool requirePeerCertificate = true;
};

/// A destination's `tls:` DICOM TLS for sending (PEM files).
struct DestinationTlsSettings {
  bool enabled = false;
  std::string caCertificates;  // PEM file of the CAs the peer's certificate must chain to (required)
  std::string certificate;     // the node's client certificate, when the peer asks for one
  std::string privateKey;
};

/// `node:` the DICOM receiver and its spool.
struct NodeSettings {
  std::string aeTitle = "TORCHT1";
  int port = 11112;
  std::string spoolDir = "torcht1-data/spool";
  int maxAssociations = 8;
  int maxPduBytes = 65536;
  int acseTimeoutSeconds = 30;
  int dimseTimeoutSeconds = 60;
  /// Complete series waiting for the fit; beyond this, C-STORE responses wait (backpressure).
  int maxPendingSeries = 16;
  /// Hours a series' instances stay in the spool after it was fitted (for late instances) or
  /// found not to be a T1 input; then they are deleted.
  double retentionHours = 24;
  /// Calling AE titles allowed to associate; empty: everyone.
  std::vector<std::string> allowedCallingAes;
  /// Hosts (IP addresses or names, resolved at start) allowed to associate; empty: everyone.
  std::vector<std::string> allowedHosts;
  NodeTlsSettings tls;
};

/// `http:` status page, health, metrics and API.
struct HttpSettings {
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (logged)
  /// Bearer token for everything but /healthz; required when `bind` is not a loopback address.
  std::string token;
};

/// `series:` when a series is complete.
struct SeriesSettings {
  double idleSeconds = 10;
  /// Complete as soon as the expected count (ImagesInAcquisition, when every instance agrees)
  /// has arrived, without waiting for idle_seconds.
  bool useExpectedCount = true;
};

/// One entry of `destinations:`: a C-STORE peer the maps go to.
struct DestinationSettings {
  std::string name;
  std::string aeTitle;
  std::string host;
  int port = 104;
  std::string callingAeTitle;  // default: node.ae_title
  int timeoutSeconds = 30;
  int maxAttempts = 10;
  double retryInitialSeconds = 2;
  double retryMaxSeconds = 300;
  DestinationTlsSettings tls;
};

/// The whole node configuration.
struct Settings {
  NodeSettings node;
  HttpSettings http;
  SeriesSettings series;
  mapping::FitOptions fit;
  InputConfig::Input input;
  OutputConfig::Output output;
  mapping::EcvOptions ecv;
  std::vector<DestinationSettings> destinations;
};

/// Reads the node's configuration: defaults, then the YAML file (optional), then environment
/// variables TORCHT1_<SECTION>__<KEY> (nested keys and list indices joined by "__", e.g.
/// TORCHT1_NODE__PORT=104, TORCHT1_DESTINATIONS__0__HOST=orthanc; values are YAML, so
/// TORCHT1_OUTPUT__MAPS="[T1, T1_SD, R2]" works). Unknown sections and keys, wrong types and
/// out-of-range values throw ConfigError naming the key, the value and the line or variable.
class NodeConfig {
 public:
  static Settings load(const std::string& path, const std::map<std::string, std::string>& environment);
  static Settings fromYaml(const std::string& yamlText, const std::string& source,
                           const std::map<std::string, std::string>& environment = {});
  /// The process's TORCHT1_* environment variables.
  static std::map<std::string, std::string> processEnvironment();
  /// A readable dump of the effective settings (for `check-config` and the start-up log).
  static std::string describe(const Settings& settings);
};

}  // namespace torcht1::config
