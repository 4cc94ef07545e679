#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "torcht1/node/NodeError.h"
#include "torcht1/node/Spool.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("torcht1-spool-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  dicom::ReceivedInstance incoming(node::Spool& spool, const std::string& series, const std::string& sop,
                                   const std::string& content = "DICM") {
    dicom::ReceivedInstance r;
    r.file = (fs::path(spool.tempDir()) / (sop.size() < 40 ? "f" + std::to_string(counter_++) : "g")).string();
    std::ofstream(r.file) << content;
    r.seriesInstanceUid = series;
    r.sopInstanceUid = sop;
    r.seriesDescription = "MOLLI";
    return r;
  }

  fs::path root_;
  int counter_ = 0;
};

TEST_F(SpoolTest, CommitMovesTheInstanceIntoItsSeriesFolder) {
  node::Spool spool(root_.string());
  const auto c = spool.commit(incoming(spool, "1.2.3", "1.2.3.4"));
  EXPECT_EQ(c.key, "1.2.3");
  EXPECT_EQ(c.file, (root_ / "series" / "1.2.3" / "1.2.3.4.dcm").string());
  EXPECT_FALSE(c.duplicate);
  EXPECT_TRUE(fs::exists(c.file));
  EXPECT_TRUE(fs::is_empty(spool.tempDir())) << "moved, not copied";
  EXPECT_EQ(spool.instanceFiles("1.2.3"), std::vector<std::string>{c.file});
  EXPECT_EQ(spool.readState("1.2.3").seriesUid, "1.2.3");
}

TEST_F(SpoolTest, ASeriesFolderLeftWithoutItsStateGetsOneWithTheNextInstance) {
  // The first instance's state was not written (disk full, or the node died in between).
  node::Spool spool(root_.string());
  const std::string uid = "1.2.3.not_a_plain_uid";  // its folder is x<hash>: the state names it
  fs::create_directories(root_ / "series" / node::Spool::safeName(uid));
  const auto c = spool.commit(incoming(spool, uid, "1.2.3.4"));
  EXPECT_EQ(spool.readState(c.key).seriesUid, uid);
  EXPECT_EQ(spool.readState(c.key).description, "MOLLI");
}

TEST_F(SpoolTest, AnExpiredFittedSeriesThatComesBackContinuesItsVersions) {
  // Maps of version 1 went out with UIDs made from the series and the version. Should the
  // series come back after it expired, version 1 again would reuse those UIDs for other pixels.
  node::Spool spool(root_.string());
  const auto c = spool.commit(incoming(spool, "1.2.3", "1.2.3.4"));
  node::SeriesState fitted = spool.readState(c.key);
  fitted.version = 3;
  fitted.fittedInstances = 1;
  fitted.outcome = "fitted";
  spool.writeState(c.key, fitted);
  spool.commit(incoming(spool, "1.2.9", "1.2.9.1"));  // never fitted
  spool.removeSeries(c.key);
  spool.removeSeries("1.2.9");
  EXPECT_FALSE(fs::exists(spool.seriesDir(c.key)));
  EXPECT_TRUE(fs::exists(spool.expiredState(c.key)));
  EXPECT_FALSE(fs::exists(spool.expiredState("1.2.9"))) << "nothing to remember of a series never fitted";

  spool.commit(incoming(spool, "1.2.3", "1.2.3.5"));
  const node::SeriesState again = spool.readState(c.key);
  EXPECT_EQ(again.version, 3) << "the next fit is version 4";
  EXPECT_EQ(again.fittedInstances, 0u);
  EXPECT_EQ(again.outcome, "");
  EXPECT_EQ(again.seriesUid, "1.2.3");
  spool.commit(incoming(spool, "1.2.9", "1.2.9.2"));
  EXPECT_EQ(spool.readState("1.2.9").version, 0);
  EXPECT_EQ(spool.recover().size(), 2u);
}

TEST_F(SpoolTest, ResentInstanceReplacesTheFileAndIsFlagged) {
  node::Spool spool(root_.string());
  spool.commit(incoming(spool, "1.2.3", "1.2.3.4", "first"));
  const auto again = spool.commit(incoming(spool, "1.2.3", "1.2.3.4", "second"));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(spool.instanceFiles("1.2.3").size(), 1u);
  std::ifstream in(again.file);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "second");
}

TEST_F(SpoolTest, UidsWithPathCharactersNeverReachThePath) {
  node::Spool spool(root_.string());
  for (const std::string& evil : std::vector<std::string>{"../../etc", "1.2/../../x", "/abs", "..", ".", std::string(65, '1'), "1.2.3\n"}) {
    const auto c = spool.commit(incoming(spool, evil, evil));
    EXPECT_EQ(fs::path(c.file).parent_path().parent_path(), root_ / "series") << evil;
    EXPECT_EQ(c.key.front(), 'x') << evil;
    EXPECT_EQ(c.key.size(), 17u);
    EXPECT_EQ(c.key.find_first_not_of("x0123456789abcdef"), std::string::npos);
    EXPECT_EQ(spool.readState(c.key).seriesUid, evil == "1.2.3\n" ? "1.2.3 " : evil) << "the true UID is kept in the state";
  }
}

TEST_F(SpoolTest, RecoverDropsPartialFilesAndFindsEverySeries) {
  {
    node::Spool spool(root_.string());
    spool.commit(incoming(spool, "1.2.3", "1.2.3.4"));
    spool.commit(incoming(spool, "1.2.3", "1.2.3.5"));
    spool.commit(incoming(spool, "1.2.9", "1.2.9.1"));
    node::SeriesState state = spool.readState("1.2.9");
    state.version = 2;
    state.fittedInstances = 1;
    state.outcome = "fitted";
    spool.writeState("1.2.9", state);
    std::ofstream(fs::path(spool.tempDir()) / "1234-7.part") << "half an instance";
  }
  node::Spool spool(root_.string());
  auto all = spool.recover();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].files.size(), 2u);
  EXPECT_EQ(all[0].state.version, 0);
  EXPECT_EQ(all[1].state.version, 2);
  EXPECT_EQ(all[1].state.outcome, "fitted");
  EXPECT_GT(all[0].lastModifiedUnix, 1700000000);
  EXPECT_TRUE(fs::is_empty(spool.tempDir())) << "never acknowledged, so never kept";
}

TEST_F(SpoolTest, StateSurvivesNewlinesInReasons) {
  node::Spool spool(root_.string());
  spool.commit(incoming(spool, "1.2.3", "1.2.3.4"));
  node::SeriesState state;
  state.seriesUid = "1.2.3";
  state.outcome = "not_t1";
  state.reason = "line one\nversion=99";
  spool.writeState("1.2.3", state);
  const auto back = spool.readState("1.2.3");
  EXPECT_EQ(back.version, 0);
  EXPECT_EQ(back.reason, "line one version=99");
}

TEST_F(SpoolTest, UnwritableSpoolIsAOneLineError) {
  std::ofstream(root_.string()) << "a file where the spool folder should be";
  try {
    node::Spool spool((root_ / "spool").string());
    FAIL() << "no error";
  } catch (const node::NodeError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create folder " + (root_ / "spool").string()), std::string::npos) << e.what();
  }
  fs::remove(root_);
}

}  // namespace
}  // namespace torcht1
