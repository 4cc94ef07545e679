// What the node keeps for ECV pairing in its spool: T1 maps and ECV outcomes per series, and
// measured hematocrit values per study.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "torcht1/node/EcvStore.h"
#include "torcht1/node/HematocritStore.h"
#include "torcht1/node/Spool.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

class EcvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("torcht1-ecvstore-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "series" / "1.2.3");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(EcvStoreTest, T1MapsComeBackExactlyAndOnlyWhole) {
  node::Spool spool(root_.string());
  const node::EcvStore store(spool);
  const std::vector<std::vector<float>> t1 = {{1000, 0, 1234.5f, 2}, {5, 6, 7, 8}};
  store.saveT1("1.2.3", 2, 2, t1);
  const auto back = store.loadT1("1.2.3", 2, 2);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t1);
  EXPECT_FALSE(store.loadT1("1.2.3", 4, 1)) << "another image size is not these maps";
  EXPECT_FALSE(store.loadT1("9.9", 2, 2)) << "nothing kept for this series";
  // Cut short (a damaged spool): not taken.
  const fs::path file = root_ / "series" / "1.2.3" / "t1maps";
  fs::resize_file(file, fs::file_size(file) - 4);
  EXPECT_FALSE(store.loadT1("1.2.3", 2, 2));
  EXPECT_THROW(store.saveT1("1.2.3", 2, 2, {{1, 2, 3}}), std::exception) << "a map of the wrong size";
}

TEST_F(EcvStoreTest, TheEcvOutcomeSurvivesAndOneLineFieldsStayOneLine) {
  node::Spool spool(root_.string());
  const node::EcvStore store(spool);
  EXPECT_EQ(store.readState("1.2.3").outcome, "") << "no ECV job yet";
  node::EcvState s;
  s.outcome = "made";
  s.reason = "1 slice(s) without a map:\nsee the log";
  s.version = 2;
  s.signature = "native=1.2@v1|post=v1|hct=0.4180";
  s.nativeUid = "1.2";
  s.hematocrit = "measured Hct 0.42";
  s.bloodT1 = "1598/301; 1602/299";
  s.slices = 2;
  s.slicesMade = 1;
  s.maxDisplacementMm = 6.25;
  store.writeState("1.2.3", s);
  const node::EcvState back = store.readState("1.2.3");
  EXPECT_EQ(back.outcome, "made");
  EXPECT_EQ(back.reason, "1 slice(s) without a map: see the log");
  EXPECT_EQ(back.version, 2);
  EXPECT_EQ(back.signature, s.signature);
  EXPECT_EQ(back.bloodT1, s.bloodT1);
  EXPECT_EQ(back.slicesMade, 1);
  EXPECT_DOUBLE_EQ(back.maxDisplacementMm, 6.25);
  EXPECT_EQ(back.previewFile, "") << "no preview written";
}

TEST_F(EcvStoreTest, AHematocritIsFoundByStudyOrAccessionAndTheLaterValueCounts) {
  const node::HematocritStore store((root_ / "hematocrit").string());
  EXPECT_FALSE(store.find("1.2.840.1", "ACC1"));
  store.save({"", "ACC1", 0.40, 100});
  ASSERT_TRUE(store.find("1.2.840.1", "ACC1"));
  EXPECT_DOUBLE_EQ(store.find("1.2.840.1", "ACC1")->value, 0.40);
  EXPECT_FALSE(store.find("1.2.840.1", "")) << "the study UID alone does not know the accession's value";
  store.save({"1.2.840.1", "", 0.45, 200});
  EXPECT_DOUBLE_EQ(store.find("1.2.840.1", "ACC1")->value, 0.45) << "posted later";
  store.save({"", "ACC1", 0.38, 300});
  EXPECT_DOUBLE_EQ(store.find("1.2.840.1", "ACC1")->value, 0.38);
  // Accession numbers are free text: never a path.
  store.save({"", "../../etc/passwd", 0.4, 300});
  EXPECT_FALSE(fs::exists(root_ / "etc"));
  EXPECT_DOUBLE_EQ(store.find("", "../../etc/passwd")->value, 0.4);
  EXPECT_EQ(store.expire(250), 1u) << "the study value of 200";
  EXPECT_FALSE(store.find("1.2.840.1", ""));
  EXPECT_TRUE(store.find("", "ACC1"));
}

}  // namespace
}  // namespace torcht1
