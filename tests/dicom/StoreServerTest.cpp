// The DICOM receiver on its own, with a handler that keeps what it receives.

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <atomic>
#include <cstdlib>
#include <future>
#include <filesystem>
#include <fstream>
#include <thread>
#include <mutex>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/StoreClient.h"
#include "torcht1/dicom/StoreServer.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "FreePort.h"

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
  phantom::PhantomOptions options;
  options.size = 16;
  options.slices = 1;
  options.seed = 6;
  const auto study = dicom::MolliSeriesWriter(options, "storeservertest")
                         .write(phantom::PhantomGenerator(options).generate(), (root / "study").string());
  dicom::StoreServerOptions serverOptions;
  serverOptions.port = testing::freePort();
  serverOptions.tempDir = (root / "tmp").string();
  serverOptions.allowedCallingAes = {"SCANNER"};
  KeepingHandler handler(root / "received");
  dicom::StoreServer server(serverOptions, handler);
  server.start();
  dicom::StorePeer peer;
  peer.port = serverOptions.port;
  peer.calledAeTitle = serverOptions.aeTitle;
  peer.callingAeTitle = "SCANNER";
  peer.timeoutSeconds = 10;
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
  phantom::PhantomOptions options;
  options.size = 16;
  options.slices = 1;
  options.seed = 7;
  const auto study = dicom::MolliSeriesWriter(options, "storeservertest")
                         .write(phantom::PhantomGenerator(options).generate(), (root / "study").string());
  dicom::StoreServerOptions serverOptions;
  serverOptions.port = testing::freePort();
  serverOptions.tempDir = (root / "tmp").string();
  serverOptions.maxAssociations = 1;
  std::promise<void> release;
  KeepingHandler handler(root / "received", release.get_future().share());
  dicom::StoreServer server(serverOptions, handler);
  server.start();
  dicom::StorePeer peer;
  peer.port = serverOptions.port;
  peer.calledAeTitle = serverOptions.aeTitle;
  peer.callingAeTitle = "SCANNER";
  peer.timeoutSeconds = 10;
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

}  // namespace
}  // namespace torcht1
