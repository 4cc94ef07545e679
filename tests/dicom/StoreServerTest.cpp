// The DICOM receiver on its own: what it writes to disk before the handler takes an
// instance, in every transfer syntax it accepts (DCMTK's own tools make the variants).

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <cstdlib>
#include <future>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/StoreClient.h"
#include "torcht1/dicom/StoreServer.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "ChildProcess.h"
#include "FreePort.h"
#include "SilentClient.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

/// Keeps every received file under `dir` as <SOP Instance UID>.dcm.
class KeepingHandler : public dicom::StoreHandler {
 public:
  explicit KeepingHandler(fs::path dir, std::shared_future<void> gate = {}) : dir_(std::move(dir)), gate_(std::move(gate)) {
    fs::create_directories(dir_);
  }
  uint16_t stored(const dicom::ReceivedInstance& instance) override {
    ++entered_;
    if (gate_.valid()) gate_.wait();  // holds the association open until the test lets go
    fs::rename(instance.file, dir_ / (instance.sopInstanceUid + ".dcm"));
    return 0x0000;
  }
  int entered() const { return entered_; }
  void storeFailed(const std::string&, const std::string& what, const std::string& reason) override {
    std::lock_guard<std::mutex> lock(mutex_);
    failures_.push_back(what + ": " + reason);
  }
  void associationRejected(const std::string&, const std::string&, const std::string&, const std::string& reason) override {
    std::lock_guard<std::mutex> lock(mutex_);
    failures_.push_back("association: " + reason);
  }
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> lock(mutex_);
    return failures_;
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::shared_future<void> gate_;
  std::atomic<int> entered_{0};
  std::mutex mutex_;
  std::vector<std::string> failures_;
};

std::vector<uint16_t> pixels(DcmFileFormat& format) {
  DcmDataset& ds = *format.getDataset();
  EXPECT_TRUE(ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).good());
  const Uint16* data = nullptr;
  unsigned long count = 0;
  if (ds.findAndGetUint16Array(DCM_PixelData, data, &count).bad() || data == nullptr) return {};
  return std::vector<uint16_t>(data, data + count);
}

/// A small study for the association tests: `files` single-frame MR instances.
dicom::WrittenStudy smallStudy(const fs::path& dir, int seed) {
  phantom::PhantomOptions options;
  options.size = 16;
  options.slices = 1;
  options.seed = seed;
  return dicom::MolliSeriesWriter(options, "storeservertest").write(phantom::PhantomGenerator(options).generate(), dir.string());
}

/// A receiver that takes one association at a time, with the ACSE timeout given.
dicom::StoreServerOptions oneAssociationServer(const fs::path& root, int acseTimeoutSeconds) {
  dicom::StoreServerOptions options;
  options.port = testing::freePort();
  options.tempDir = (root / "tmp").string();
  options.acseTimeoutSeconds = acseTimeoutSeconds;
  options.maxAssociations = 1;
  return options;
}

/// A scanner that sends to `server`.
dicom::StorePeer scannerFor(const dicom::StoreServerOptions& server, int timeoutSeconds) {
  dicom::StorePeer peer;
  peer.port = server.port;
  peer.calledAeTitle = server.aeTitle;
  peer.callingAeTitle = "SCANNER";
  peer.timeoutSeconds = timeoutSeconds;
  return peer;
}

TEST(StoreServer, WritesEveryAcceptedTransferSyntaxWholeAndAsSent) {
  const fs::path root = fs::temp_directory_path() / ("torcht1-storeserver-" + std::to_string(::getpid()));
  fs::remove_all(root);
  phantom::PhantomOptions options;
  options.size = 192;  // 72 KiB of pixels: more than one 64 KiB buffer of the writer
  options.slices = 1;
  options.seed = 5;
  const auto study = dicom::MolliSeriesWriter(options, "storeservertest")
                         .write(phantom::PhantomGenerator(options).generate(), (root / "study").string());
  const std::string source = study.files.at(0);

  dicom::StoreServerOptions serverOptions;
  serverOptions.port = testing::freePort();
  serverOptions.tempDir = (root / "tmp").string();
  KeepingHandler handler(root / "received");
  dicom::StoreServer server(serverOptions, handler);
  server.start();

  // DCMTK's tools write each variant; storescu proposes only its syntax (-R and the flag),
  // so that syntax is the one on the wire.
  struct Variant {
    std::string name, tool, propose;
    E_TransferSyntax syntax;
  };
  const std::vector<Variant> variants = {
      {"explicit-little-endian", "dcmconv +te", "-xe", EXS_LittleEndianExplicit},
      {"implicit-little-endian", "dcmconv +ti", "-xi", EXS_LittleEndianImplicit},
      {"explicit-big-endian", "dcmconv +tb", "-xb", EXS_BigEndianExplicit},
      {"deflated", "dcmconv +td", "-xd", EXS_DeflatedLittleEndianExplicit},
      {"jpeg-lossless", "dcmcjpeg +e1", "-xs", EXS_JPEGProcess14SV1},
      {"jpeg-ls-lossless", "dcmcjpls +el", "-xt", EXS_JPEGLSLossless},
      {"rle", "dcmcrle", "-xr", EXS_RLELossless},
  };
  DcmFileFormat original;
  ASSERT_TRUE(original.loadFile(source.c_str()).good());
  const std::vector<uint16_t> expected = pixels(original);
  ASSERT_EQ(expected.size(), 192u * 192u);
  for (const auto& [name, tool, propose, syntax] : variants) {
    SCOPED_TRACE(name);
    // Each variant as its own instance (its own SOP Instance UID), so each lands in its own file.
    const fs::path converted = root / (name + ".dcm");
    const std::string command = tool + " '" + source + "' '" + converted.string() + "' 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    const std::string uid = "2.25.4242" + std::to_string(static_cast<int>(syntax));
    const std::string set = "dcmodify -nb -m '(0008,0018)=" + uid + "' '" + converted.string() + "' 2>&1";
    ASSERT_EQ(std::system(set.c_str()), 0) << set;

    testing::ChildProcess storescu({"storescu", "-R", propose, "-aet", "SCANNER", "-aec", serverOptions.aeTitle,
                                    "127.0.0.1", std::to_string(serverOptions.port), converted.string()},
                                   (root / (name + ".log")).string());
    ASSERT_TRUE(storescu.waitForExit(std::chrono::seconds(60)));
    ASSERT_EQ(storescu.state(), "exited with status 0");
    DcmFileFormat received;
    const fs::path file = handler.dir() / (uid + ".dcm");
    ASSERT_TRUE(received.loadFile(file.c_str()).good()) << file;
    EXPECT_EQ(received.getDataset()->getOriginalXfer(), syntax) << "kept in the syntax it came in";
    OFString metaSyntax;
    received.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, metaSyntax);
    EXPECT_EQ(std::string(metaSyntax.c_str()), DcmXfer(syntax).getXferID());
    OFString sop;
    received.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, sop);
    EXPECT_EQ(std::string(sop.c_str()), uid);
    EXPECT_EQ(pixels(received), expected) << "the pixels as sent";
  }
  server.stop();
  EXPECT_TRUE(handler.failures().empty()) << handler.failures().front();
  EXPECT_TRUE(fs::is_empty(root / "tmp")) << "nothing left behind in the temporary folder";
  fs::remove_all(root);
}

size_t mappings() {
  std::ifstream maps("/proc/self/maps");
  size_t n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

TEST(StoreServer, AssociationsLeaveNoThreadBehindAndRejectedOnesAreSafe) {
  // DCMTK 3.6.7's DcmSCPPool neither joined nor detached its worker threads (each
  // association kept a thread stack: two mappings and 8 MiB of address space), and a worker
  // whose association ended at once could be deleted before the pool had finished starting
  // its thread (heap corruption). Many short associations, rejected ones among them, show both.
  const fs::path root = fs::temp_directory_path() / ("torcht1-storeserver-threads-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const auto study = smallStudy(root / "study", 6);
  dicom::StoreServerOptions serverOptions;
  serverOptions.port = testing::freePort();
  serverOptions.tempDir = (root / "tmp").string();
  serverOptions.allowedCallingAes = {"SCANNER"};
  KeepingHandler handler(root / "received");
  dicom::StoreServer server(serverOptions, handler);
  server.start();
  const dicom::StorePeer peer = scannerFor(serverOptions, 10);
  dicom::StorePeer intruder = peer;
  intruder.callingAeTitle = "INTRUDER";
  auto round = [&](int n) {
    for (int i = 0; i < n; ++i) {
      EXPECT_THROW(dicom::StoreClient(intruder).send({study.files[0]}), dicom::DicomError);
      const auto sent = dicom::StoreClient(peer).send({study.files[static_cast<size_t>(i) % study.files.size()]});
      EXPECT_TRUE(sent.at(0).ok) << sent.at(0).error;
    }
  };
  round(5);  // the first threads make their malloc arenas and cached stacks
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const size_t before = mappings();
  round(40);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the listener joins finished threads
  const size_t after = mappings();
  server.stop();
  EXPECT_LT(after, before + 30) << "80 associations; a thread kept per association adds 2 mappings each";
  EXPECT_EQ(handler.failures().size(), 45u) << "the rejected callers, each reported";
  fs::remove_all(root);
}

TEST(StoreServer, BeyondMaxAssociationsACallerIsRejectedAsBusyAndTold) {
  const fs::path root = fs::temp_directory_path() / ("torcht1-storeserver-busy-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const auto study = smallStudy(root / "study", 7);
  dicom::StoreServerOptions serverOptions;
  serverOptions.port = testing::freePort();
  serverOptions.tempDir = (root / "tmp").string();
  serverOptions.maxAssociations = 1;
  std::promise<void> release;
  KeepingHandler handler(root / "received", release.get_future().share());
  dicom::StoreServer server(serverOptions, handler);
  server.start();
  const dicom::StorePeer peer = scannerFor(serverOptions, 10);
  std::vector<dicom::StoreResult> first;
  std::thread holding([&] { first = dicom::StoreClient(peer).send({study.files[0]}); });
  for (int i = 0; i < 200 && handler.entered() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_EQ(handler.entered(), 1) << "the first association is in the handler";
  try {
    dicom::StoreClient(peer).send({study.files[1]});
    ADD_FAILURE() << "a second association while node.max_associations (1) are open";
  } catch (const dicom::DicomError& e) {
    EXPECT_NE(std::string(e.what()).find("no association"), std::string::npos) << e.what();
  }
  release.set_value();
  holding.join();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].ok) << first[0].error;
  // Room again once the first association is over (its release may still be finishing).
  std::vector<dicom::StoreResult> again;
  for (int i = 0; i < 50 && again.empty(); ++i) {
    try {
      again = dicom::StoreClient(peer).send({study.files[1]});
    } catch (const dicom::DicomError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].ok) << again[0].error;
  server.stop();
  ASSERT_GE(handler.failures().size(), 1u);
  for (const auto& failure : handler.failures()) {
    EXPECT_EQ(failure, "association: busy: node.max_associations (1) associations at once");
  }
  fs::remove_all(root);
}


using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}


TEST(StoreServer, ACallerThatSendsNothingHoldsUpNoOtherAssociation) {
  // DCMTK's ASC_receiveAssociation accepts a connection and then reads its A-ASSOCIATE-RQ
  // (over TLS: does the handshake first). On the listening thread, one caller that connects
  // and sends nothing held up every other caller for the ACSE timeout (over TLS: until it
  // hung up). Here that caller waits on its own thread, and does not take the one
  // association node.max_associations allows.
  const fs::path root = fs::temp_directory_path() / ("torcht1-storeserver-silent-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const auto study = smallStudy(root / "study", 8);
  const dicom::StoreServerOptions serverOptions = oneAssociationServer(root, 30);
  KeepingHandler handler(root / "received");
  dicom::StoreServer server(serverOptions, handler);
  server.start();
  testing::SilentClient silent(serverOptions.port);
  ASSERT_TRUE(silent.connected());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server has it by now

  const dicom::StorePeer peer = scannerFor(serverOptions, 20);
  const auto start = Clock::now();
  std::vector<dicom::StoreResult> sent;
  std::string error;
  try {
    sent = dicom::StoreClient(peer).send({study.files[0]});
  } catch (const dicom::DicomError& e) {
    error = e.what();
  }
  const double took = secondsSince(start);
  ASSERT_EQ(sent.size(), 1u) << error << " after " << took << " s";
  EXPECT_TRUE(sent[0].ok) << sent[0].error;
  EXPECT_LT(took, 5.0) << "a C-STORE while a caller that sends nothing is connected (ACSE timeout 30 s)";

  // Stopping does not wait for the silent caller either: it has sent nothing to lose.
  const auto stopping = Clock::now();
  server.stop();
  EXPECT_LT(secondsSince(stopping), 3.0) << "stop() with a silent caller connected";
  EXPECT_TRUE(silent.closedByPeerWithin(std::chrono::seconds(1))) << "the silent caller is hung up on at stop";
  EXPECT_TRUE(handler.failures().empty()) << handler.failures().front();
  fs::remove_all(root);
}

TEST(StoreServer, SilentCallersAreHungUpOnAfterTheAcseTimeoutAndAFloodOfThemIsBounded) {
  // Each caller that sends nothing is hung up on node.acse_timeout_seconds after it
  // connected (a TLS handshake or an A-ASSOCIATE-RQ that trickles in gets no longer). At
  // most max(node.max_associations, 16) callers at once may still be sending their request;
  // beyond that a connection is closed at once, unread. Nothing waits forever: once the
  // silent ones are gone, a caller gets its association.
  const fs::path root = fs::temp_directory_path() / ("torcht1-storeserver-flood-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const auto study = smallStudy(root / "study", 9);
  const dicom::StoreServerOptions serverOptions = oneAssociationServer(root, 2);
  KeepingHandler handler(root / "received");
  dicom::StoreServer server(serverOptions, handler);
  server.start();
  const auto start = Clock::now();
  std::vector<std::unique_ptr<testing::SilentClient>> flood;
  for (int i = 0; i < 20; ++i) {
    flood.push_back(std::make_unique<testing::SilentClient>(serverOptions.port));
    ASSERT_TRUE(flood.back()->connected()) << i;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  size_t closedAtOnce = 0;
  for (auto& caller : flood) {
    if (caller->closedByPeerWithin(std::chrono::milliseconds(1))) {
      ++closedAtOnce;
      caller.reset();
    }
  }
  ASSERT_LT(secondsSince(start), 2.0) << "too slow to tell the closed-at-once from the timed-out";
  EXPECT_EQ(closedAtOnce, 4u) << "20 silent callers, 16 of them may wait for the ACSE timeout";
  for (auto& caller : flood) {
    if (!caller) continue;
    const auto left = std::chrono::milliseconds(4500) - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_TRUE(caller->closedByPeerWithin(std::max(left, std::chrono::milliseconds(1))))
        << "a silent caller still connected " << secondsSince(start) << " s after it connected (ACSE timeout 2 s)";
  }
  EXPECT_GE(secondsSince(start), 1.5) << "hung up on before the ACSE timeout";

  const dicom::StorePeer peer = scannerFor(serverOptions, 10);
  const auto sent = dicom::StoreClient(peer).send({study.files[0]});
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].ok) << sent[0].error;
  server.stop();

  size_t timedOut = 0, closedUnread = 0;
  for (const auto& failure : handler.failures()) {
    if (failure == "association: no association request within node.acse_timeout_seconds (2)") {
      ++timedOut;
    } else if (failure == "association: busy: 16 callers are already sending their association requests; closed unread") {
      ++closedUnread;
    } else {
      ADD_FAILURE() << failure;
    }
  }
  EXPECT_EQ(timedOut, 16u);
  EXPECT_EQ(closedUnread, 4u);
  fs::remove_all(root);
}

/// TCP_NODELAY as this process found it, before any server or client could set it.
const std::optional<std::string> kNoDelayAtStart = []() -> std::optional<std::string> {
  const char* value = std::getenv("TCP_NODELAY");
  return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
}();

/// This process's socket whose peer is 127.0.0.1:`peerPort` (the server's end of a
/// connection); -1 when there is none.
int socketConnectedTo(int peerPort) {
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    sockaddr_in peer{};
    socklen_t length = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) == 0 && peer.sin_family == AF_INET &&
        ntohs(peer.sin_port) == peerPort) {
      return fd;
    }
  }
  return -1;
}

TEST(StoreServer, NaglesAlgorithmIsOffOnItsSocketsUnlessTheEnvironmentSaysOtherwise) {
  // With Nagle's algorithm on at both ends, every C-STORE waited for a delayed ACK (about
  // 40 ms). DCMTK turns it off when TCP_NODELAY is set in the environment; the server sets
  // it, unless the user did.
  if (kNoDelayAtStart) GTEST_SKIP() << "TCP_NODELAY=" << *kNoDelayAtStart << " in the environment: left as set";
  const fs::path root = fs::temp_directory_path() / ("torcht1-storeserver-nodelay-" + std::to_string(::getpid()));
  dicom::StoreServerOptions serverOptions;
  serverOptions.port = testing::freePort();
  serverOptions.tempDir = (root / "tmp").string();
  KeepingHandler handler(root / "received");
  dicom::StoreServer server(serverOptions, handler);
  server.start();
  const char* set = std::getenv("TCP_NODELAY");
  EXPECT_EQ(std::string(set != nullptr ? set : "(not set)"), "1");
  testing::SilentClient caller(serverOptions.port);
  ASSERT_TRUE(caller.connected());
  // DCMTK sets the option when it takes the accepted socket, before it reads anything.
  int noDelay = -1;
  for (int i = 0; i < 100 && noDelay != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int fd = socketConnectedTo(caller.localPort());
    socklen_t length = sizeof noDelay;
    if (fd < 0 || ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &noDelay, &length) != 0) noDelay = -1;
  }
  EXPECT_EQ(noDelay, 1) << "TCP_NODELAY on the server's end of a connection (-1: not found)";
  server.stop();
  fs::remove_all(root);
}

}  // namespace
}  // namespace torcht1
