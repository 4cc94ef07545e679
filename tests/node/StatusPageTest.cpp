#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "torcht1/node/StatusPage.h"

namespace torcht1 {
namespace {

node::SeriesRecord record(const std::string& key, long long arrival, node::SeriesPhase phase) {
  node::SeriesRecord r;
  r.key = key;
  r.uid = key;
  r.description = "MOLLI <b>\"x\" & y";
  r.lastArrivalUnix = arrival;
  r.phase = phase;
  return r;
}

TEST(StatusPage, RecentIsNewestFirstAndLimited) {
  const auto recent = node::StatusPage::recent(
      {record("a", 10, node::SeriesPhase::Fitted), record("b", 30, node::SeriesPhase::Fitted),
       record("c", 20, node::SeriesPhase::Fitted)},
      2);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].key, "b");
  EXPECT_EQ(recent[1].key, "c");
}

TEST(StatusPage, JsonCarriesStateAndSurvivesAnyBytes) {
  auto r = record("1.2.3", 5, node::SeriesPhase::NotT1);
  r.message = "fewer than 5 inversion times";
  r.description = std::string("bad \xff\xfe bytes");
  const auto parsed = nlohmann::json::parse(node::StatusPage::json({r}));
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["state"], "not_t1");
  EXPECT_EQ(parsed[0]["message"], "fewer than 5 inversion times");
  EXPECT_EQ(parsed[0]["preview"], "");
}

TEST(StatusPage, HtmlEscapesWhatWasReceived) {
  node::NodeSummary summary;
  summary.aeTitle = "TORCHT1";
  summary.destinations.push_back({"pacs", "ORTHANC@pacs:4242", 2, 1});
  const std::string page = node::StatusPage::html(summary, {record("1.2.3", 5, node::SeriesPhase::Failed)});
  EXPECT_EQ(page.find("<b>\"x\""), std::string::npos) << "no markup from a series description";
  EXPECT_NE(page.find("MOLLI &lt;b&gt;&quot;x&quot; &amp; y"), std::string::npos);
  EXPECT_NE(page.find("ORTHANC@pacs:4242"), std::string::npos);
  EXPECT_NE(page.find(">failed<"), std::string::npos);
}

}  // namespace
}  // namespace torcht1
