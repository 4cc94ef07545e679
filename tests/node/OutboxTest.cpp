#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/node/Dispatcher.h"
#include "torcht1/node/Outbox.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("torcht1-outbox-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  /// Stages a job with two map series of `n` files each and publishes it.
  void publish(const node::Outbox& outbox, const std::string& id, int n = 2) {
    const fs::path dir = outbox.stage(id);
    for (const char* series : {"2.25.1", "2.25.2"}) {
      fs::create_directories(dir / series);
      for (int i = 1; i <= n; ++i) {
        // A minimal MR instance: enough for a C-STORE peer to be asked.
        DcmFileFormat file;
        DcmDataset& ds = *file.getDataset();
        ds.putAndInsertString(DCM_SOPClassUID, UID_MRImageStorage);
        ds.putAndInsertString(DCM_SOPInstanceUID, (std::string(series) + "." + std::to_string(i)).c_str());
        ds.putAndInsertString(DCM_SeriesInstanceUID, series);
        const std::string path = (dir / series / ("MAP_" + std::to_string(i) + ".dcm")).string();
        ASSERT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
      }
    }
    outbox.publish(id);
  }

  fs::path root_;
};

TEST_F(OutboxTest, PublishGivesEveryDestinationItsOwnCopy) {
  const node::Outbox outbox(root_.string(), {"pacs", "archive"});
  publish(outbox, "1.2.3-v1");
  for (const char* d : {"pacs", "archive"}) {
    const auto jobs = outbox.pending(d);
    ASSERT_EQ(jobs.size(), 1u) << d;
    EXPECT_EQ(jobs[0].id, "1.2.3-v1");
    EXPECT_EQ(jobs[0].files.size(), 4u);
    EXPECT_EQ(jobs[0].attempts, 0);
    EXPECT_EQ(fs::path(jobs[0].files[0]).filename(), "2.25.1_MAP_1.dcm");
  }
  EXPECT_TRUE(fs::is_empty(root_ / "staging")) << "staging is cleared once published";
}

TEST_F(OutboxTest, SentFilesLeaveAndTheRestIsRetriedThenFails) {
  const node::Outbox outbox(root_.string(), {"pacs"});
  publish(outbox, "s-v1");
  auto job = outbox.pending("pacs").at(0);
  EXPECT_FALSE(outbox.recordAttempt(job, {job.files[0], job.files[1]}, "refused 0xA700", 123.5, 3));
  job = outbox.pending("pacs").at(0);
  EXPECT_EQ(job.files.size(), 2u);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.nextAttemptUnix, 123.5);
  EXPECT_EQ(job.lastError, "refused 0xA700");
  EXPECT_FALSE(outbox.recordAttempt(job, {}, "down", 0, 3));
  EXPECT_TRUE(outbox.recordAttempt(job, {}, "still down", 0, 3)) << "third attempt of three: gives up";
  EXPECT_TRUE(outbox.pending("pacs").empty());
  const auto failed = outbox.failed("pacs");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].lastError, "still down");
  EXPECT_EQ(failed[0].files.size(), 2u);

  EXPECT_EQ(outbox.requeue(), 1u);
  EXPECT_TRUE(outbox.failed("pacs").empty());
  job = outbox.pending("pacs").at(0);
  EXPECT_EQ(job.attempts, 0) << "a fresh start";
  EXPECT_EQ(job.files.size(), 2u);
  EXPECT_TRUE(outbox.recordAttempt(job, job.files, "", 0, 3) == false);
  EXPECT_TRUE(outbox.pending("pacs").empty()) << "all sent: the job is gone";
}

TEST_F(OutboxTest, RepublishingTheSameJobReplacesIt) {
  const node::Outbox outbox(root_.string(), {"pacs"});
  publish(outbox, "s-v1", 2);
  publish(outbox, "s-v1", 3);
  const auto jobs = outbox.pending("pacs");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].files.size(), 6u);
}

TEST(Dispatcher, BackoffDoublesUpToTheLimit) {
  config::DestinationSettings d;
  d.retryInitialSeconds = 2;
  d.retryMaxSeconds = 30;
  EXPECT_EQ(node::Dispatcher::backoffSeconds(d, 1), 2);
  EXPECT_EQ(node::Dispatcher::backoffSeconds(d, 2), 4);
  EXPECT_EQ(node::Dispatcher::backoffSeconds(d, 4), 16);
  EXPECT_EQ(node::Dispatcher::backoffSeconds(d, 5), 30);
  EXPECT_EQ(node::Dispatcher::backoffSeconds(d, 50), 30);
}

TEST_F(OutboxTest, DispatcherRetriesADeadPeerThenGivesUpWithTheReason) {
  const node::Outbox outbox(root_.string(), {"down"});
  publish(outbox, "s-v1", 1);
  config::DestinationSettings d;
  d.name = "down";
  d.aeTitle = "NOBODY";
  d.host = "127.0.0.1";
  d.port = 9;  // discard: nothing listens there
  d.callingAeTitle = "TORCHT1";
  d.timeoutSeconds = 2;
  d.maxAttempts = 3;
  d.retryInitialSeconds = 0.05;
  d.retryMaxSeconds = 0.1;
  std::mutex mutex;
  std::vector<node::DispatchEvent> events;
  node::Dispatcher dispatcher(outbox, {d}, [&](const node::DispatchEvent& e) {
    std::lock_guard<std::mutex> lock(mutex);
    events.push_back(e);
  });
  dispatcher.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (outbox.failed("down").empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  dispatcher.stop();
  ASSERT_EQ(outbox.failed("down").size(), 1u);
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, node::DispatchEvent::Retry);
  EXPECT_EQ(events[1].kind, node::DispatchEvent::Retry);
  EXPECT_EQ(events[2].kind, node::DispatchEvent::GaveUp);
  EXPECT_NE(events[2].error.find("NOBODY@127.0.0.1:9: no association"), std::string::npos) << events[2].error;
  EXPECT_EQ(outbox.failed("down")[0].files.size(), 2u) << "nothing lost";
}

}  // namespace
}  // namespace torcht1
