#include <gtest/gtest.h>

#include "torcht1/config/NodeConfig.h"

namespace torcht1 {
namespace {

using Env = std::map<std::string, std::string>;

std::string errorOf(const std::string& yaml, const Env& env = {}) {
  try {
    config::NodeConfig::fromYaml(yaml, "node.yaml", env);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(NodeConfig, StartsWithNoFileAtAll) {
  const auto s = config::NodeConfig::load("", {});
  EXPECT_EQ(s.node.aeTitle, "TORCHT1");
  EXPECT_EQ(s.node.port, 11112);
  EXPECT_EQ(s.http.bind, "127.0.0.1");
  EXPECT_EQ(s.http.port, 8080);
  EXPECT_EQ(s.series.idleSeconds, 10);
  EXPECT_TRUE(s.destinations.empty());
  EXPECT_EQ(s.output.maps, (std::vector<std::string>{"T1", "T1_SD"}));
}

TEST(NodeConfig, DocumentedExampleIsValidAndHoldsTheDefaults) {
  const auto s = config::NodeConfig::load(TORCHT1_SOURCE_DIR "/config/torcht1.yaml", {});
  const config::Settings d;
  EXPECT_EQ(s.node.aeTitle, d.node.aeTitle);
  EXPECT_EQ(s.node.port, d.node.port);
  EXPECT_EQ(s.node.spoolDir, d.node.spoolDir);
  EXPECT_EQ(s.node.maxAssociations, d.node.maxAssociations);
  EXPECT_EQ(s.node.maxPendingSeries, d.node.maxPendingSeries);
  EXPECT_EQ(s.node.retentionHours, d.node.retentionHours);
  EXPECT_EQ(s.node.allowedHosts, d.node.allowedHosts);
  EXPECT_EQ(s.node.tls.enabled, d.node.tls.enabled);
  EXPECT_EQ(s.node.tls.requirePeerCertificate, d.node.tls.requirePeerCertificate);
  EXPECT_EQ(s.http.port, d.http.port);
  EXPECT_EQ(s.series.idleSeconds, d.series.idleSeconds);
  EXPECT_EQ(s.output.dir, d.output.dir);
  EXPECT_TRUE(s.destinations.empty()) << "the example's destinations are commented out";
  // The ecv: section documents the defaults.
  const mapping::EcvOptions e;
  EXPECT_EQ(s.ecv.hematocrit, e.hematocrit);
  EXPECT_EQ(s.ecv.sliceToleranceMm, e.sliceToleranceMm);
  EXPECT_EQ(s.ecv.bloodPool.nativeMinMs, e.bloodPool.nativeMinMs);
  EXPECT_EQ(s.ecv.bloodPool.erosionMm, e.bloodPool.erosionMm);
  EXPECT_EQ(s.ecv.registrationOptions.maxShiftMm, e.registrationOptions.maxShiftMm);
  EXPECT_EQ(s.ecv.registrationOptions.weightSigmaMm, e.registrationOptions.weightSigmaMm);
  EXPECT_EQ(s.ecv.synthetic3TSlope, e.synthetic3TSlope);
  EXPECT_EQ(s.ecv.synthetic3TIntercept, e.synthetic3TIntercept);
}

TEST(NodeConfig, EcvSectionFromFileAndEnvironmentStrictlyChecked) {
  const auto s = config::NodeConfig::fromYaml("ecv:\n  hematocrit: required\n  blood_pool:\n    erosion_mm: 2\n", "node.yaml",
                                              {{"TORCHT1_ECV__SYNTHETIC_3T__SLOPE", "900"}, {"TORCHT1_ECV__REGISTRATION__ENABLED", "false"}});
  EXPECT_EQ(s.ecv.hematocrit, "required");
  EXPECT_EQ(s.ecv.bloodPool.erosionMm, 2.0);
  EXPECT_EQ(s.ecv.synthetic3TSlope, 900.0);
  EXPECT_FALSE(s.ecv.registration);
  EXPECT_NE(errorOf("ecv:\n  hematocrit: sometimes\n").find("synthetic or required"), std::string::npos);
  EXPECT_EQ(s.ecv.maps, std::vector<std::string>{"ECV"});
  EXPECT_EQ(config::NodeConfig::fromYaml("ecv:\n  maps: [ECV_PARAMETRIC, ECV_COLOUR]\n", "node.yaml", {}).ecv.maps,
            (std::vector<std::string>{"ECV_PARAMETRIC", "ECV_COLOUR"}));
  EXPECT_NE(errorOf("ecv:\n  maps: [ECV, T1]\n").find("unknown map 'T1' (known: ECV, ECV_COLOUR, ECV_PARAMETRIC)"),
            std::string::npos);
  EXPECT_NE(errorOf("ecv:\n  maps: []\n").find("expected a list of maps"), std::string::npos);
  EXPECT_NE(errorOf("ecv:\n  slice_tolerance_mm: 50\n").find("out of range"), std::string::npos);
  EXPECT_NE(errorOf("ecv:\n  colour: true\n").find("colour"), std::string::npos);
}

TEST(NodeConfig, ReadsEverySection) {
  const auto s = config::NodeConfig::fromYaml(
      "node: {ae_title: MAPS, port: 104, spool_dir: /var/spool/t1, max_associations: 4, allowed_calling_aes: [MR1, MR2]}\n"
      "http: {bind: 127.0.0.1, port: 0}\n"
      "series: {idle_seconds: 2.5}\n"
      "fit: {device: cpu}\n"
      "output: {dir: /srv/maps}\n"
      "destinations:\n"
      "  - {name: pacs, ae_title: ORTHANC, host: 10.0.0.5, port: 4242}\n"
      "  - {name: archive, ae_title: ARCH, host: arch, port: 11112, max_attempts: 3, calling_ae_title: T1OUT}\n",
      "x");
  EXPECT_EQ(s.node.aeTitle, "MAPS");
  EXPECT_EQ(s.node.port, 104);
  EXPECT_EQ(s.node.spoolDir, "/var/spool/t1");
  EXPECT_EQ(s.node.allowedCallingAes, (std::vector<std::string>{"MR1", "MR2"}));
  EXPECT_EQ(s.http.port, 0);
  EXPECT_EQ(s.series.idleSeconds, 2.5);
  EXPECT_EQ(s.fit.device, "cpu");
  EXPECT_EQ(s.output.dir, "/srv/maps");
  ASSERT_EQ(s.destinations.size(), 2u);
  EXPECT_EQ(s.destinations[0].callingAeTitle, "MAPS") << "defaults to node.ae_title";
  EXPECT_EQ(s.destinations[1].maxAttempts, 3);
  EXPECT_EQ(s.destinations[1].callingAeTitle, "T1OUT");
}

TEST(NodeConfig, EnvironmentOverridesFileValues) {
  const auto s = config::NodeConfig::fromYaml(
      "node: {port: 104}\ndestinations:\n  - {name: pacs, ae_title: ORTHANC, host: 127.0.0.1, port: 4242}\n", "x",
      Env{{"TORCHT1_NODE__PORT", "11113"},
          {"TORCHT1_NODE__AE_TITLE", "FROMENV"},
          {"TORCHT1_FIT__LM__GRID_POINTS", "48"},
          {"TORCHT1_OUTPUT__MAPS", "[T1, R2]"},
          {"TORCHT1_DESTINATIONS__0__HOST", "orthanc"},
          {"TORCHT1_DESTINATIONS__1__NAME", "second"},
          {"TORCHT1_DESTINATIONS__1__AE_TITLE", "SECOND"},
          {"TORCHT1_DESTINATIONS__1__HOST", "h2"},
          {"TORCHT1_DESTINATIONS__1__PORT", "105"},
          {"TORCHT1_CONFIG", "/etc/torcht1.yaml"},
          {"HOME", "/root"}});
  EXPECT_EQ(s.node.port, 11113);
  EXPECT_EQ(s.node.aeTitle, "FROMENV");
  EXPECT_EQ(s.fit.lm.gridPoints, 48);
  EXPECT_EQ(s.output.maps, (std::vector<std::string>{"T1", "R2"}));
  ASSERT_EQ(s.destinations.size(), 2u);
  EXPECT_EQ(s.destinations[0].host, "orthanc");
  EXPECT_EQ(s.destinations[0].port, 4242) << "the rest of the item stays";
  EXPECT_EQ(s.destinations[1].name, "second");
  EXPECT_EQ(s.destinations[1].port, 105);
}

TEST(NodeConfig, WholeDestinationListFromOneVariable) {
  const auto s = config::NodeConfig::fromYaml(
      "", "x", Env{{"TORCHT1_DESTINATIONS", "[{name: pacs, ae_title: ORTHANC, host: orthanc, port: 4242}]"}});
  ASSERT_EQ(s.destinations.size(), 1u);
  EXPECT_EQ(s.destinations[0].aeTitle, "ORTHANC");
}

TEST(NodeConfig, ErrorsNameKeyValueAndLine) {
  EXPECT_NE(errorOf("node:\n  port: 70000\n").find("node.yaml:2:9: node.port: 70000 is out of range (1..65535)"),
            std::string::npos)
      << errorOf("node:\n  port: 70000\n");
  EXPECT_NE(errorOf("node:\n  prot: 104\n").find("node.yaml:2:3: node.prot: unknown key"), std::string::npos);
  EXPECT_NE(errorOf("nodes: {port: 104}\n").find("node.yaml:1:1: nodes: unknown section"), std::string::npos);
  EXPECT_NE(errorOf("series: {idle_seconds: soon}\n").find("series.idle_seconds: 'soon' is not a number"),
            std::string::npos);
  EXPECT_NE(errorOf("node: {ae_title: THIS_TITLE_IS_TOO_LONG}\n").find("node.ae_title: 'THIS_TITLE_IS_TOO_LONG' must be 1 to 16"),
            std::string::npos);
  EXPECT_NE(errorOf("destinations:\n  - {name: pacs, host: h, port: 1}\n").find("destinations.0.ae_title: is required"),
            std::string::npos)
      << errorOf("destinations:\n  - {name: pacs, host: h, port: 1}\n");
  EXPECT_NE(errorOf("destinations:\n  - {name: 'a/b', ae_title: X, host: h, port: 1}\n").find("names a folder"),
            std::string::npos);
  EXPECT_NE(errorOf("destinations:\n  - {name: p, ae_title: X, host: h, port: 1}\n  - {name: p, ae_title: Y, host: h, port: 2}\n")
                .find("destinations.1.name: 'p' twice"),
            std::string::npos);
  EXPECT_NE(errorOf("http: {bind: 0.0.0.0}\n").find("http.bind: '0.0.0.0' is reachable from other hosts: set http.token"),
            std::string::npos);
  EXPECT_EQ(errorOf("http: {bind: 0.0.0.0, token: s3cret}\n"), "no error");
}

TEST(NodeConfig, AllowedHostsAndTls) {
  const config::Settings defaults;
  EXPECT_TRUE(defaults.node.allowedHosts.empty()) << "everyone by default";
  EXPECT_FALSE(defaults.node.tls.enabled);
  EXPECT_TRUE(defaults.node.tls.requirePeerCertificate);
  const auto s = config::NodeConfig::fromYaml(
      "node:\n"
      "  allowed_hosts: [10.0.0.7, mr1.example.org, '::1']\n"
      "  tls: {enabled: true, certificate: /etc/t1/node.pem, private_key: /etc/t1/node.key,\n"
      "        ca_certificates: /etc/t1/ca.pem}\n"
      "destinations:\n"
      "  - {name: pacs, ae_title: PACS, host: pacs, port: 2762,\n"
      "     tls: {enabled: true, ca_certificates: /etc/t1/pacs-ca.pem, certificate: /etc/t1/c.pem, private_key: /etc/t1/c.key}}\n"
      "  - {name: plain, ae_title: PACS, host: pacs, port: 104}\n",
      "x");
  EXPECT_EQ(s.node.allowedHosts, (std::vector<std::string>{"10.0.0.7", "mr1.example.org", "::1"}));
  EXPECT_TRUE(s.node.tls.enabled);
  EXPECT_EQ(s.node.tls.certificate, "/etc/t1/node.pem");
  EXPECT_EQ(s.node.tls.privateKey, "/etc/t1/node.key");
  EXPECT_EQ(s.node.tls.caCertificates, "/etc/t1/ca.pem");
  EXPECT_TRUE(s.node.tls.requirePeerCertificate);
  ASSERT_EQ(s.destinations.size(), 2u);
  EXPECT_TRUE(s.destinations[0].tls.enabled);
  EXPECT_EQ(s.destinations[0].tls.caCertificates, "/etc/t1/pacs-ca.pem");
  EXPECT_EQ(s.destinations[0].tls.certificate, "/etc/t1/c.pem");
  EXPECT_EQ(s.destinations[0].tls.privateKey, "/etc/t1/c.key");
  EXPECT_FALSE(s.destinations[1].tls.enabled);

  // Callers without certificates: no CA needed. From the environment too.
  const auto anonymous = config::NodeConfig::fromYaml(
      "", "x",
      Env{{"TORCHT1_NODE__TLS", "{enabled: true, certificate: a.pem, private_key: a.key, require_peer_certificate: false}"},
          {"TORCHT1_NODE__ALLOWED_HOSTS", "[scanner]"}});
  EXPECT_TRUE(anonymous.node.tls.enabled);
  EXPECT_FALSE(anonymous.node.tls.requirePeerCertificate);
  EXPECT_EQ(anonymous.node.allowedHosts, (std::vector<std::string>{"scanner"}));

  EXPECT_NE(errorOf("node:\n  allowed_hosts: 10.0.0.7\n").find("node.yaml:2:18: node.allowed_hosts: expected a list"),
            std::string::npos)
      << errorOf("node:\n  allowed_hosts: 10.0.0.7\n");
  EXPECT_NE(errorOf("node: {allowed_hosts: ['10.0.0.0/8']}\n").find("node.allowed_hosts: '10.0.0.0/8' is not a host name or IP address"),
            std::string::npos)
      << errorOf("node: {allowed_hosts: ['10.0.0.0/8']}\n");
  EXPECT_NE(errorOf("node:\n  tls: {enabled: true, private_key: k.pem, ca_certificates: ca.pem}\n")
                .find("node.yaml:2:8: node.tls.certificate: is required when node.tls.enabled is true"),
            std::string::npos)
      << errorOf("node:\n  tls: {enabled: true, private_key: k.pem, ca_certificates: ca.pem}\n");
  EXPECT_NE(errorOf("node: {tls: {enabled: true, certificate: c.pem, private_key: k.pem}}\n")
                .find("node.tls.ca_certificates: is required when node.tls.require_peer_certificate is true"),
            std::string::npos);
  EXPECT_NE(errorOf("node: {tls: {enabled: yes please}}\n").find("node.tls.enabled: 'yes please' is not true or false"),
            std::string::npos)
      << errorOf("node: {tls: {enabled: yes please}}\n");
  EXPECT_NE(errorOf("node: {tls: {enable: true}}\n").find("node.tls.enable: unknown key"), std::string::npos);
  EXPECT_NE(errorOf("destinations:\n  - {name: p, ae_title: X, host: h, port: 1, tls: {enabled: true}}\n")
                .find("destinations.0.tls.ca_certificates: is required when destinations.0.tls.enabled is true"),
            std::string::npos)
      << errorOf("destinations:\n  - {name: p, ae_title: X, host: h, port: 1, tls: {enabled: true}}\n");
  EXPECT_NE(errorOf("destinations:\n  - {name: p, ae_title: X, host: h, port: 1, tls: {enabled: true, ca_certificates: ca.pem, "
                    "certificate: c.pem}}\n")
                .find("destinations.0.tls.private_key: is required with destinations.0.tls.certificate"),
            std::string::npos);
  // Disabled: the files are not needed (a prepared but switched-off section).
  EXPECT_EQ(errorOf("node: {tls: {enabled: false, certificate: c.pem}}\n"), "no error");
}

TEST(NodeConfig, EnvironmentErrorsNameTheVariable) {
  EXPECT_EQ(errorOf("", Env{{"TORCHT1_NODE__PORT", "0"}}),
            "environment variable TORCHT1_NODE__PORT: node.port: 0 is out of range (1..65535)");
  EXPECT_NE(errorOf("", Env{{"TORCHT1_NODE_PORT", "104"}}).find("environment variable TORCHT1_NODE_PORT: not a configuration key"),
            std::string::npos);
  EXPECT_NE(errorOf("", Env{{"TORCHT1_NODE__PROT", "104"}}).find("environment variable TORCHT1_NODE__PROT: node.prot: unknown key"),
            std::string::npos)
      << errorOf("", Env{{"TORCHT1_NODE__PROT", "104"}});
  EXPECT_NE(errorOf("", Env{{"TORCHT1_NODES__PORT", "104"}}).find("environment variable TORCHT1_NODES__PORT: nodes: unknown section"),
            std::string::npos)
      << errorOf("", Env{{"TORCHT1_NODES__PORT", "104"}});
  EXPECT_NE(errorOf("node: {port: 104}\n", Env{{"TORCHT1_NODE__PORT__X", "1"}}).find("TORCHT1_NODE__PORT__X"),
            std::string::npos);
}

}  // namespace
}  // namespace torcht1
