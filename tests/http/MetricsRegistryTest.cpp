#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

#include "torcht1/http/MetricsRegistry.h"

namespace torcht1 {
namespace {

using http::MetricsRegistry;

TEST(HttpMetricsRegistry, RendersTheTextExpositionFormat) {
  MetricsRegistry registry;
  registry.counter("torcht1_dispatch_total", "Series sent, by destination and outcome.",
                   {{"outcome", "success"}, {"destination", "pacs"}})
      .inc(3);
  registry.counter("torcht1_dispatch_total", "ignored: the first help stays",
                   {{"destination", "pacs"}, {"outcome", "failure"}})
      .inc();
  registry.gauge("torcht1_queue_depth", "Series waiting for a fit.").set(2);
  auto& fit = registry.histogram("torcht1_fit_seconds", "Time to fit one series.", {0.5, 1, 2});
  fit.observe(0.25);
  fit.observe(0.5);  // bounds are inclusive
  fit.observe(4);

  EXPECT_EQ(registry.render(),
            "# HELP torcht1_dispatch_total Series sent, by destination and outcome.\n"
            "# TYPE torcht1_dispatch_total counter\n"
            "torcht1_dispatch_total{destination=\"pacs\",outcome=\"failure\"} 1\n"
            "torcht1_dispatch_total{destination=\"pacs\",outcome=\"success\"} 3\n"
            "# HELP torcht1_fit_seconds Time to fit one series.\n"
            "# TYPE torcht1_fit_seconds histogram\n"
            "torcht1_fit_seconds_bucket{le=\"0.5\"} 2\n"
            "torcht1_fit_seconds_bucket{le=\"1\"} 2\n"
            "torcht1_fit_seconds_bucket{le=\"2\"} 2\n"
            "torcht1_fit_seconds_bucket{le=\"+Inf\"} 3\n"
            "torcht1_fit_seconds_sum 4.75\n"
            "torcht1_fit_seconds_count 3\n"
            "# HELP torcht1_queue_depth Series waiting for a fit.\n"
            "# TYPE torcht1_queue_depth gauge\n"
            "torcht1_queue_depth 2\n");
  EXPECT_STREQ(MetricsRegistry::kContentType, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(HttpMetricsRegistry, HistogramLabelsComeBeforeLe) {
  MetricsRegistry registry;
  registry.histogram("t_seconds", "h", {0.1}, {{"stage", "fit"}}).observe(0.05);
  EXPECT_EQ(registry.render(),
            "# HELP t_seconds h\n"
            "# TYPE t_seconds histogram\n"
            "t_seconds_bucket{stage=\"fit\",le=\"0.1\"} 1\n"
            "t_seconds_bucket{stage=\"fit\",le=\"+Inf\"} 1\n"
            "t_seconds_sum{stage=\"fit\"} 0.05\n"
            "t_seconds_count{stage=\"fit\"} 1\n");
}

TEST(HttpMetricsRegistry, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry.counter("c_total", "a \\ help\nline \"quoted\"", {{"path", "C:\\dir \"x\"\nnext"}}).inc();
  EXPECT_EQ(registry.render(),
            "# HELP c_total a \\\\ help\\nline \"quoted\"\n"
            "# TYPE c_total counter\n"
            "c_total{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n");
}

TEST(HttpMetricsRegistry, SameNameAndLabelsGiveTheSameSeries) {
  MetricsRegistry registry;
  auto& a = registry.counter("x_total", "x", {{"k", "v"}});
  // Other series created afterwards must not move the first one.
  for (int i = 0; i < 100; ++i) registry.counter("x_total", "x", {{"k", std::to_string(i)}});
  auto& b = registry.counter("x_total", "x", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  a.inc(2);
  EXPECT_EQ(b.value(), 2);

  auto& g = registry.gauge("g", "g");
  g.set(5);
  g.add(-1.5);
  g.inc();
  g.dec(0.5);
  EXPECT_EQ(registry.gauge("g", "g").value(), 4);
}

TEST(HttpMetricsRegistry, RejectsMisuse) {
  MetricsRegistry registry;
  registry.counter("a_total", "a");
  registry.histogram("h", "h", {1, 2});
  EXPECT_THROW(registry.gauge("a_total", "a"), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "h", {1, 3}), std::invalid_argument);
  EXPECT_NO_THROW(registry.histogram("h", "h", {1, 2, HUGE_VAL}));  // +Inf is implied
  EXPECT_THROW(registry.counter("h_count", "clashes with the histogram"), std::invalid_argument);
  EXPECT_THROW(registry.counter("1abc", "bad name"), std::invalid_argument);
  EXPECT_THROW(registry.counter("b_total", "bad label", {{"bad-label", "x"}}), std::invalid_argument);
  EXPECT_THROW(registry.counter("b_total", "reserved label", {{"__name", "x"}}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("t", "le is the bucket's", {1}, {{"le", "x"}}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("u", "unsorted", {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.counter("a_total", "a").inc(-1), std::invalid_argument);
}

TEST(HttpMetricsRegistry, ConcurrentUpdatesAllCount) {
  MetricsRegistry registry;
  const int threads = 8, perThread = 20000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&registry, t] {
      const std::string parity = t % 2 ? "odd" : "even";
      for (int i = 0; i < perThread; ++i) {
        // Look-ups and new series race with the updates and with render().
        registry.counter("hits_total", "h", {{"parity", parity}}).inc();
        registry.gauge("level", "l").add(1);
        registry.histogram("lat_seconds", "l", {0.5}).observe(i % 2 ? 0.25 : 1.0);
        if (i % 5000 == 0) registry.render();
      }
    });
  }
  for (auto& w : workers) w.join();

  const double half = threads / 2 * perThread;
  EXPECT_EQ(registry.counter("hits_total", "h", {{"parity", "odd"}}).value(), half);
  EXPECT_EQ(registry.counter("hits_total", "h", {{"parity", "even"}}).value(), half);
  EXPECT_EQ(registry.gauge("level", "l").value(), threads * perThread);
  const auto snap = registry.histogram("lat_seconds", "l", {0.5}).snapshot();
  EXPECT_EQ(snap.count, static_cast<uint64_t>(threads * perThread));
  EXPECT_EQ(snap.cumulative.at(0), snap.count / 2);
  EXPECT_EQ(snap.sum, threads * perThread / 2 * 1.25);
}

}  // namespace
}  // namespace torcht1
