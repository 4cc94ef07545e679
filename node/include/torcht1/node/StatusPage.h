#pragma once

#include <string>
#include <vector>

#include "torcht1/node/SeriesTracker.h"

namespace torcht1::node {

/// What the page says about the node besides its series.
struct NodeSummary {
  std::string aeTitle;
  int dicomPort = 0;
  std::string device;
  std::string version;
  struct Destination {
    std::string name, peer;  // "ORTHANC@10.0.0.5:4242"
    size_t pending = 0, failed = 0;
  };
  std::vector<Destination> destinations;
  std::string outputDir;  // when there is no destination
};

/// The node's pages: /api/series as JSON and the status page for people (recent series with
/// their state, timings and a preview of each T1 map). Pure rendering, tested without HTTP.
class StatusPage {
 public:
  /// Most recent first (by last arrival), at most `limit`.
  static std::vector<SeriesRecord> recent(std::vector<SeriesRecord> all, size_t limit = 200);
  static std::string json(const std::vector<SeriesRecord>& series);
  static std::string html(const NodeSummary& node, const std::vector<SeriesRecord>& series);
};

}  // namespace torcht1::node
