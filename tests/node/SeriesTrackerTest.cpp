#include <gtest/gtest.h>

#include "torcht1/node/SeriesTracker.h"

namespace torcht1 {
namespace {

using node::SeriesPhase;

void receive(node::SeriesTracker& t, const std::string& key, double now, int expected = 0, bool duplicate = false,
             int acquisition = 1) {
  t.received(key, "1.2." + key, "MOLLI", "SCANNER", expected, acquisition, duplicate, now, 1000);
}

TEST(SeriesTracker, CompleteAfterIdleSeconds) {
  node::SeriesTracker t(10, true);
  receive(t, "a", 0);
  receive(t, "a", 5);
  EXPECT_TRUE(t.due(14.9).empty()) << "5 s after the last instance is not yet idle";
  const auto due = t.due(15.0);
  ASSERT_EQ(due, std::vector<std::string>{"a"});
  EXPECT_EQ(t.find("a")->phase, SeriesPhase::Queued);
  EXPECT_EQ(t.find("a")->completedBy, "idle");
  EXPECT_EQ(t.find("a")->instances, 2u);
  EXPECT_TRUE(t.due(100).empty()) << "due once";
}

TEST(SeriesTracker, ExpectedCountCompletesWithoutWaiting) {
  node::SeriesTracker t(10, true);
  for (int i = 0; i < 7; ++i) receive(t, "a", i * 0.01, 8);
  EXPECT_TRUE(t.due(0.1).empty());
  receive(t, "a", 0.2, 8);
  EXPECT_EQ(t.due(0.2), std::vector<std::string>{"a"});
  EXPECT_EQ(t.find("a")->completedBy, "expected count");
}

TEST(SeriesTracker, DuplicatesDoNotCountTowardsTheExpectedCount) {
  node::SeriesTracker t(10, true);
  for (int i = 0; i < 7; ++i) receive(t, "a", 0, 8);
  receive(t, "a", 0, 8, /*duplicate=*/true);
  EXPECT_TRUE(t.due(1).empty());
  EXPECT_EQ(t.find("a")->instances, 7u);
}

TEST(SeriesTracker, DisagreeingCountsOrAcquisitionsFallBackToIdle) {
  node::SeriesTracker t(10, true);
  receive(t, "a", 0, 2);
  receive(t, "a", 0, 3);
  receive(t, "a", 0, 3);
  EXPECT_TRUE(t.due(1).empty()) << "instances disagree on ImagesInAcquisition";
  EXPECT_TRUE(t.find("a")->expectedConflict);
  receive(t, "b", 0, 2, false, 1);
  receive(t, "b", 0, 2, false, 2);
  EXPECT_TRUE(t.due(1).empty()) << "two acquisitions of 2 images: the total is unknown";
  EXPECT_EQ(t.due(10).size(), 2u);
}

TEST(SeriesTracker, ExpectedCountCanBeSwitchedOff) {
  node::SeriesTracker t(10, false);
  receive(t, "a", 0, 1);
  EXPECT_TRUE(t.due(1).empty());
  EXPECT_EQ(t.due(10).size(), 1u);
}

TEST(SeriesTracker, LateInstancesAfterTheFitMakeANewVersionDueAfterIdle) {
  node::SeriesTracker t(10, true);
  receive(t, "a", 0, 2);
  receive(t, "a", 0, 2);
  ASSERT_EQ(t.due(0).size(), 1u);
  t.fitting("a");
  t.fitted("a", 1, 2, 0.05, "cpu", {"2.25.1"}, "", 1);
  EXPECT_EQ(t.find("a")->phase, SeriesPhase::Fitted);
  receive(t, "a", 20, 2);
  EXPECT_EQ(t.find("a")->phase, SeriesPhase::Receiving);
  EXPECT_TRUE(t.due(21).empty()) << "after a fit only the idle rule applies (the count was reached long ago)";
  EXPECT_EQ(t.due(30).size(), 1u);
  EXPECT_EQ(t.find("a")->instances, 3u);
  EXPECT_EQ(t.find("a")->version, 1);
}

TEST(SeriesTracker, InstancesArrivingDuringTheFitBringTheSeriesBack) {
  node::SeriesTracker t(10, true);
  receive(t, "a", 0);
  ASSERT_EQ(t.due(10).size(), 1u);
  t.fitting("a");
  receive(t, "a", 11);
  EXPECT_EQ(t.find("a")->phase, SeriesPhase::Fitting) << "the fit in hand goes on";
  t.fitted("a", 1, 1, 0.05, "cpu", {}, "", 12);
  EXPECT_EQ(t.find("a")->phase, SeriesPhase::Receiving) << "2 instances, 1 fitted";
  EXPECT_EQ(t.due(21).size(), 1u);
}

TEST(SeriesTracker, PendingCountsQueuedAndFitting) {
  node::SeriesTracker t(1, true);
  receive(t, "a", 0);
  receive(t, "b", 0);
  receive(t, "c", 5);
  EXPECT_EQ(t.pending(), 0u);
  t.due(2);
  EXPECT_EQ(t.pending(), 2u);
  t.fitting("a");
  t.notT1("b", "fewer than 5 inversion times");
  EXPECT_EQ(t.pending(), 1u);
  EXPECT_EQ(t.find("b")->message, "fewer than 5 inversion times");
}

TEST(SeriesTracker, RestoredSeriesWaitAgainUnlessSettled) {
  node::SeriesTracker t(10, true);
  node::SeriesRecord unfitted;
  unfitted.key = "u";
  unfitted.instances = 3;
  node::SeriesRecord fitted;
  fitted.key = "f";
  fitted.instances = 4;
  fitted.fittedInstances = 4;
  fitted.version = 1;
  fitted.phase = SeriesPhase::Fitted;
  node::SeriesRecord grown = fitted;
  grown.key = "g";
  grown.instances = 5;
  t.restore(unfitted, 100);
  t.restore(fitted, 100);
  t.restore(grown, 100);
  EXPECT_TRUE(t.due(105).empty());
  auto due = t.due(110);
  std::sort(due.begin(), due.end());
  EXPECT_EQ(due, (std::vector<std::string>{"g", "u"}));
  EXPECT_EQ(t.find("f")->phase, SeriesPhase::Fitted);
}

}  // namespace
}  // namespace torcht1
