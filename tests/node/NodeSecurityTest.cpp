// Who may associate with the node and how: the reject reasons a caller sees (called AE,
// calling AE, host allow-list) with the node's log line for each, and DICOM TLS in both
// directions with DCMTK's storescu and storescp (+tls) as the peers and certificates made
// here with the openssl command.

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/node/Node.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "ChildProcess.h"
#include "FreePort.h"
#include "NodeLog.h"
#include "RunToEnd.h"
#include "WaitFor.h"
#include "SilentClient.h"
#include "HttpClient.h"
#include "StoreScpProcess.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace torcht1 {
namespace {

using testing::readFile;
using testing::Ran;
using testing::kExitedOk;
using testing::runToEnd;
using testing::waitFor;

/// A test PKI made with the openssl command: a CA, and certificates it signs for the node,
/// the scanner and the PACS; plus a self-signed stranger nobody trusts.
struct Pki {
  fs::path dir;
  std::string error;  // why it could not be made (then the TLS tests skip)
  fs::path ca() const { return dir / "ca.pem"; }
  fs::path cert(const std::string& who) const { return dir / (who + ".pem"); }
  fs::path key(const std::string& who) const { return dir / (who + ".key"); }

  static Pki make(const fs::path& dir) {
    Pki pki;
    pki.dir = dir;
    fs::create_directories(dir);
    auto run = [&](const std::vector<std::string>& arguments) {
      if (!pki.error.empty()) return;
      const Ran ran = runToEnd(arguments, dir / "openssl.log");
      if (ran.state != kExitedOk) pki.error = arguments[0] + " " + arguments[1] + ": " + ran.state + "\n" + ran.output;
    };
    const std::string days = "2";
    run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", pki.key("ca").string(), "-out",
         pki.ca().string(), "-days", days, "-subj", "/CN=TorchT1 test CA"});
    for (const std::string who : {"node", "scanner", "pacs"}) {
      const std::string request = (dir / (who + ".csr")).string();
      run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", pki.key(who).string(), "-out", request, "-subj",
           "/CN=" + who});
      run({"openssl", "x509", "-req", "-in", request, "-CA", pki.ca().string(), "-CAkey", pki.key("ca").string(),
           "-CAcreateserial", "-out", pki.cert(who).string(), "-days", days});
    }
    run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", pki.key("stranger").string(), "-out",
         pki.cert("stranger").string(), "-days", days, "-subj", "/CN=stranger"});
    return pki;
  }
};

class NodeSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("torcht1-security-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    phantom::PhantomOptions options;
    options.size = 32;
    options.slices = 1;
    options.seed = 21;
    study_ = dicom::MolliSeriesWriter(options, "securitytest")
                 .write(phantom::PhantomGenerator(options).generate(), (root_ / "study").string());
    pki_ = Pki::make(root_ / "pki");
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override {
    dir_ = root_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
    settings_.node.port = testing::freePort();
    settings_.node.spoolDir = (dir_ / "spool").string();
    settings_.output.dir = (dir_ / "maps").string();
    settings_.series.idleSeconds = 30;  // complete on the expected count
    settings_.fit.device = "cpu";
    settings_.http.port = 0;
  }

  /// echoscu from 127.0.0.1, -aet `calling` -aec `called`.
  Ran echo(const std::string& calling, const std::string& called, const std::string& name) const {
    return runToEnd({"echoscu", "-aet", calling, "-aec", called, "127.0.0.1", std::to_string(settings_.node.port)},
                    dir_ / (name + ".log"));
  }

  /// storescu of the whole study, SCANNER -> TORCHT1, with `tls` options (none: plain TCP).
  Ran storescu(const std::vector<std::string>& tls, const std::string& name) const {
    std::vector<std::string> arguments = {"storescu", "-aet", "SCANNER", "-aec", "TORCHT1"};
    arguments.insert(arguments.end(), tls.begin(), tls.end());
    arguments.push_back("127.0.0.1");
    arguments.push_back(std::to_string(settings_.node.port));
    arguments.insert(arguments.end(), study_.files.begin(), study_.files.end());
    return runToEnd(arguments, dir_ / (name + ".log"));
  }

  std::vector<std::string> clientTls(const std::string& who) const {
    return {"+tls", pki_.key(who).string(), pki_.cert(who).string(), "+cf", pki_.ca().string()};
  }

  void useTls(bool requirePeerCertificate = true) {
    settings_.node.tls.enabled = true;
    settings_.node.tls.certificate = pki_.cert("node").string();
    settings_.node.tls.privateKey = pki_.key("node").string();
    settings_.node.tls.caCertificates = pki_.ca().string();
    settings_.node.tls.requirePeerCertificate = requirePeerCertificate;
  }

  std::string metric(node::Node& node, const std::string& name) {
    std::istringstream in(node.metrics());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(name + " ", 0) == 0) return line.substr(name.size() + 1);
    }
    return "";
  }

  static inline fs::path root_;
  static inline dicom::WrittenStudy study_;
  static inline Pki pki_;
  fs::path dir_;
  config::Settings settings_;
  std::stringstream log_;
};

// The reject parameters as DCMTK's SCUs print them ("F: Result: ..., Source: ...").
const std::string kPermanentByUser = "Result: Rejected Permanent, Source: Service User";

TEST_F(NodeSecurityTest, AeTitleRefusalsGiveTheStandardReasonsAndALogLine) {
  settings_.node.allowedCallingAes = {"SCANNER"};
  node::Node node(settings_, log_);
  node.start();
  const Ran wrongCalled = echo("SCANNER", "SOMEONE", "wrong-called");
  const Ran wrongCalling = echo("INTRUDER", "TORCHT1", "wrong-calling");
  const Ran allowed = echo("SCANNER", "TORCHT1", "allowed");
  node.stop();

  EXPECT_NE(wrongCalled.state, kExitedOk) << wrongCalled.output;
  EXPECT_NE(wrongCalled.output.find(kPermanentByUser), std::string::npos) << wrongCalled.output;
  EXPECT_NE(wrongCalled.output.find("Reason: Called AE Title Not Recognized"), std::string::npos) << wrongCalled.output;
  EXPECT_NE(wrongCalling.state, kExitedOk) << wrongCalling.output;
  EXPECT_NE(wrongCalling.output.find(kPermanentByUser), std::string::npos) << wrongCalling.output;
  EXPECT_NE(wrongCalling.output.find("Reason: Calling AE Title Not Recognized"), std::string::npos) << wrongCalling.output;
  EXPECT_EQ(allowed.state, kExitedOk) << allowed.output;

  const std::string log = log_.str();
  EXPECT_NE(log.find("event=association_rejected from=SCANNER called=SOMEONE peer=127.0.0.1 "
                     "reason=\"called AE title 'SOMEONE' is not 'TORCHT1'\""),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("event=association_rejected from=INTRUDER called=TORCHT1 peer=127.0.0.1 "
                     "reason=\"calling AE title not in node.allowed_calling_aes\""),
            std::string::npos)
      << log;
  EXPECT_EQ(metric(node, "torcht1_associations_rejected_total"), "2");
}

TEST_F(NodeSecurityTest, HostsNotAllowedAreRejectedBeforeTheirAeTitlesAreLookedAt) {
  settings_.node.allowedHosts = {"192.0.2.1"};  // TEST-NET-1: not us
  settings_.node.allowedCallingAes = {"SCANNER"};
  {
    node::Node node(settings_, log_);
    node.start();
    const Ran refused = echo("INTRUDER", "TORCHT1", "refused");
    node.stop();
    // DICOM has no reason for a host: DCMTK's for it is "no reason given", rejected permanently
    // by the service user.
    EXPECT_NE(refused.state, kExitedOk) << refused.output;
    EXPECT_NE(refused.output.find(kPermanentByUser), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find("Reason: No Reason"), std::string::npos) << refused.output;
    EXPECT_NE(log_.str().find("event=association_rejected from=INTRUDER called=TORCHT1 peer=127.0.0.1 "
                              "reason=\"host 127.0.0.1 not in node.allowed_hosts\""),
              std::string::npos)
        << log_.str();
    EXPECT_EQ(log_.str().find("node.allowed_calling_aes"), std::string::npos) << "the host is checked first";
    EXPECT_EQ(metric(node, "torcht1_associations_rejected_total"), "1");
  }
  // A name is resolved at start: localhost is 127.0.0.1.
  settings_.node.allowedHosts = {"192.0.2.1", "localhost"};
  node::Node node(settings_, log_);
  node.start();
  const Ran allowed = echo("SCANNER", "TORCHT1", "allowed");
  node.stop();
  EXPECT_EQ(allowed.state, kExitedOk) << allowed.output;
}

TEST_F(NodeSecurityTest, AnAllowedHostThatDoesNotResolveStopsTheStart) {
  settings_.node.allowedHosts = {"no-such-host.invalid"};
  node::Node node(settings_, log_);
  try {
    node.start();
    FAIL() << "started with an allowed host that does not resolve";
  } catch (const dicom::DicomError& e) {
    EXPECT_NE(std::string(e.what()).find("allowed host 'no-such-host.invalid' does not resolve"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
  }
}

TEST_F(NodeSecurityTest, TlsFilesThatCannotBeUsedStopTheStart) {
  if (!pki_.error.empty()) GTEST_SKIP() << "no test certificates (openssl command): " << pki_.error;
  useTls();
  settings_.node.tls.privateKey = (dir_ / "missing.key").string();
  {
    node::Node node(settings_, log_);
    try {
      node.start();
      FAIL() << "started without its private key";
    } catch (const dicom::DicomError& e) {
      EXPECT_NE(std::string(e.what()).find("TLS: cannot load the private key " + settings_.node.tls.privateKey),
                std::string::npos)
          << e.what();
    }
  }
  settings_.node.tls.privateKey = pki_.key("scanner").string();  // not the certificate's key
  node::Node node(settings_, log_);
  try {
    node.start();
    FAIL() << "started with a key that does not match its certificate";
  } catch (const dicom::DicomError& e) {
    EXPECT_NE(std::string(e.what()).find("does not match the certificate"), std::string::npos) << e.what();
  }
}

TEST_F(NodeSecurityTest, TlsInFromStorescuAndOutToStorescp) {
  if (!pki_.error.empty()) GTEST_SKIP() << "no test certificates (openssl command): " << pki_.error;
  // The PACS: storescp over TLS, requiring a client certificate from our CA (its default).
  testing::StoreScpProcess pacs(dir_ / "received", "PACS", testing::StoreScpProcess::Mode::Accept, 0,
                                {"+tls", pki_.key("pacs").string(), pki_.cert("pacs").string(), "+cf", pki_.ca().string()});
  ASSERT_TRUE(pacs.running()) << pacs.state();
  useTls();
  config::DestinationSettings destination;
  destination.name = "pacs";
  destination.aeTitle = "PACS";
  destination.host = "127.0.0.1";
  destination.port = pacs.port();
  destination.callingAeTitle = "TORCHT1";
  destination.timeoutSeconds = 10;
  destination.tls = {true, pki_.ca().string(), pki_.cert("node").string(), pki_.key("node").string()};
  settings_.destinations = {destination};
  node::Node node(settings_, log_);
  node.start();

  const Ran plain = storescu({}, "plain");
  const Ran noCertificate = storescu({"+tla", "+cf", pki_.ca().string()}, "no-certificate");
  const Ran stranger =
      storescu({"+tls", pki_.key("stranger").string(), pki_.cert("stranger").string(), "+cf", pki_.ca().string()},
               "stranger");
  const Ran scanner = storescu(clientTls("scanner"), "scanner");
  ASSERT_EQ(scanner.state, kExitedOk) << scanner.output << log_.str();
  ASSERT_TRUE(waitFor([&] { return pacs.files().size() >= 2; })) << "the T1 and SD maps at storescp over TLS\n"
                                                                   << log_.str();
  ASSERT_TRUE(waitFor([&] { return log_.str().find("event=sent") != std::string::npos; })) << log_.str();
  node.stop();

  EXPECT_NE(plain.state, kExitedOk) << "a plain association to the TLS port\n" << plain.output;
  EXPECT_NE(noCertificate.state, kExitedOk) << noCertificate.output;
  EXPECT_NE(stranger.state, kExitedOk) << stranger.output;
  EXPECT_EQ(pacs.files().size(), 2u);
  const std::string log = log_.str();
  EXPECT_NE(log.find("event=started ae_title=TORCHT1 port=" + std::to_string(settings_.node.port) + " tls=on"),
            std::string::npos)
      << log;
  for (const std::string reason : {"wrong version number", "peer did not return a certificate", "certificate verify failed"}) {
    EXPECT_NE(log.find("event=association_rejected from=\"\" called=\"\" peer=127.0.0.1 reason=\"TLS handshake failed: " +
                       reason + "\""),
              std::string::npos)
        << reason << "\n" << log;
  }
  EXPECT_NE(log.find("event=sent series=" + study_.seriesInstanceUid + " job=" + study_.seriesInstanceUid + "-v1 destination=pacs"), std::string::npos) << log;
  EXPECT_EQ(log.find("event=send_retry"), std::string::npos) << log;
  // Only what came over TLS from the scanner was received.
  size_t received = 0;
  for (size_t at = log.find("event=received"); at != std::string::npos; at = log.find("event=received", at + 1)) ++received;
  EXPECT_EQ(received, study_.files.size()) << log;
}

TEST_F(NodeSecurityTest, ATlsDestinationWhoseCertificateIsNotTrustedGetsNothing) {
  if (!pki_.error.empty()) GTEST_SKIP() << "no test certificates (openssl command): " << pki_.error;
  // storescp presents the stranger's self-signed certificate; the node trusts only our CA.
  testing::StoreScpProcess pacs(dir_ / "received", "PACS", testing::StoreScpProcess::Mode::Accept, 0,
                                {"+tls", pki_.key("stranger").string(), pki_.cert("stranger").string(), "-ic"});
  ASSERT_TRUE(pacs.running()) << pacs.state();
  config::DestinationSettings destination;
  destination.name = "pacs";
  destination.aeTitle = "PACS";
  destination.host = "127.0.0.1";
  destination.port = pacs.port();
  destination.callingAeTitle = "TORCHT1";
  destination.timeoutSeconds = 10;
  destination.retryInitialSeconds = 30;  // one attempt within the test
  destination.tls = {true, pki_.ca().string(), "", ""};
  settings_.destinations = {destination};
  node::Node node(settings_, log_);
  node.start();
  const Ran sent = storescu({}, "plain-in");  // the node receives without TLS here
  ASSERT_EQ(sent.state, kExitedOk) << sent.output;
  ASSERT_TRUE(waitFor([&] { return log_.str().find("event=send_retry") != std::string::npos; })) << log_.str();
  node.stop();
  EXPECT_TRUE(pacs.files().empty());
  const std::string log = log_.str();
  EXPECT_NE(log.find("reason=\"PACS@127.0.0.1:" + std::to_string(pacs.port()) + ": no association"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("event=sent "), std::string::npos) << log;
}

TEST_F(NodeSecurityTest, ATlsCallerThatSendsNothingHoldsUpNoOtherAssociation) {
  if (!pki_.error.empty()) GTEST_SKIP() << "no test certificates (openssl command): " << pki_.error;
  // On the TLS port a caller that connects and sends no ClientHello held up every other
  // caller until it hung up (the handshake ran on the listening thread, with no timeout).
  useTls();
  settings_.node.acseTimeoutSeconds = 30;
  node::Node node(settings_, log_);
  node.start();
  testing::SilentClient silent(settings_.node.port);
  ASSERT_TRUE(silent.connected());
  std::this_thread::sleep_for(300ms);  // the node has it by now
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> arguments = {"echoscu", "-aet", "SCANNER", "-aec", "TORCHT1"};
  for (const auto& option : clientTls("scanner")) arguments.push_back(option);
  arguments.push_back("127.0.0.1");
  arguments.push_back(std::to_string(settings_.node.port));
  const Ran echoed = runToEnd(arguments, dir_ / "echo.log", {}, 20s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(echoed.state, kExitedOk) << echoed.output;
  EXPECT_LT(took, 5.0) << "a C-ECHO over TLS while a caller that sends nothing is connected (ACSE timeout 30 s)";
  EXPECT_EQ(log_.str().find("event=association_rejected"), std::string::npos) << log_.str();
  // (Before the fix, the node could not stop while the silent caller was connected.) Once it
  // hangs up, its handshake has failed, and that is reported as before.
  silent.close();
  EXPECT_TRUE(waitFor([&] {
    return log_.str().find("event=association_rejected from=\"\" called=\"\" peer=127.0.0.1 "
                           "reason=\"TLS handshake failed: ") != std::string::npos;
  }, 5s)) << log_.str();
  node.stop();
}

TEST_F(NodeSecurityTest, ATlsCallerThatSendsNothingIsHungUpOnAfterTheAcseTimeout) {
  if (!pki_.error.empty()) GTEST_SKIP() << "no test certificates (openssl command): " << pki_.error;
  useTls();
  settings_.node.acseTimeoutSeconds = 2;
  node::Node node(settings_, log_);
  node.start();
  testing::SilentClient silent(settings_.node.port);
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(silent.closedByPeerWithin(5s)) << "a caller that started no TLS handshake, after the ACSE timeout (2 s)";
  silent.close();
  ASSERT_TRUE(waitFor([&] { return log_.str().find("event=association_rejected") != std::string::npos; }, 5s))
      << log_.str();
  node.stop();
  const std::string log = log_.str();
  EXPECT_NE(log.find("event=association_rejected from=\"\" called=\"\" peer=127.0.0.1 "
                     "reason=\"no association request within node.acse_timeout_seconds (2)\""),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("TLS handshake failed"), std::string::npos) << "one line for it, the timeout\n" << log;
  EXPECT_EQ(metric(node, "torcht1_associations_rejected_total"), "1");
}

}  // namespace
}  // namespace torcht1
