#include "torcht1/node/StatusPage.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace torcht1::node {

namespace {

/// "a,b" as ["a", "b"] ("" as []).
std::vector<std::string> splitList(const std::string& joined) {
  std::vector<std::string> out;
  for (size_t start = 0; start < joined.size();) {
    const size_t end = std::min(joined.find(',', start), joined.size());
    if (end > start) out.push_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fixed(double value, int decimals) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, value);
  return b;
}

/// A post-contrast series' ECV outcome: the ECV preview (blood pool outlined), the pairing,
/// the hematocrit and the blood T1 values, or why there is no map.
std::string ecvCell(const SeriesRecord& r) {
  const EcvState& e = r.ecv;
  if (e.outcome.empty()) return "";
  std::string cell = "<div class=\"ecv\"><b>ECV</b> <span class=\"" + std::string(e.outcome == "made" ? "fitted" : e.outcome == "failed" ? "failed" : "queued") +
                     "\">" + escape(e.outcome) + "</span>";
  if (!e.previewFile.empty()) {
    cell += "<br><img alt=\"ECV map\" src=\"/preview/" + escape(r.key) + "-ecv.png\">";
  }
  if (e.outcome == "made") {
    cell += "<br><small>v" + std::to_string(e.version) + ", " + std::to_string(e.slicesMade) + " of " +
            std::to_string(e.slices) + " slices, " + escape(e.hematocrit) + ", blood T1 native/post " +
            escape(e.bloodT1) + " ms" +
            (e.maxDisplacementMm >= 0 ? ", registered " + fixed(e.maxDisplacementMm, 1) + " mm" : "") +
            "<br>with " + escape(e.nativeDescription) + " " + escape(e.nativeUid) + "</small>";
  }
  if (!e.reason.empty()) cell += "<br><small>" + escape(e.reason) + "</small>";
  return cell + "</div>";
}

}  // namespace

std::vector<SeriesRecord> StatusPage::recent(std::vector<SeriesRecord> all, size_t limit) {
  std::sort(all.begin(), all.end(), [](const SeriesRecord& a, const SeriesRecord& b) {
    return a.lastArrivalUnix != b.lastArrivalUnix ? a.lastArrivalUnix > b.lastArrivalUnix : a.key < b.key;
  });
  if (all.size() > limit) all.resize(limit);
  return all;
}

std::string StatusPage::json(const std::vector<SeriesRecord>& series) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : series) {
    nlohmann::json item = {
        {"series_instance_uid", r.uid},
        {"key", r.key},
        {"description", r.description},
        {"calling_ae", r.callingAe},
        {"state", toString(r.phase)},
        {"instances", r.instances},
        {"expected_instances", r.expected},
        {"completed_by", r.completedBy},
        {"last_arrival_unix", r.lastArrivalUnix},
        {"version", r.version},
        {"fitted_instances", r.fittedInstances},
        {"fit_seconds", r.fitSeconds},
        {"device", r.device},
        {"message", r.message},
        {"map_series_uids", r.mapSeriesUids},
        {"preview", r.previewFile.empty() ? "" : "/preview/" + r.key + ".png"},
        {"motion_correction", r.motion},
    };
    if (r.maxDisplacementMm >= 0) item["max_displacement_mm"] = r.maxDisplacementMm;
    if (!r.ecv.outcome.empty()) {
      const EcvState& e = r.ecv;
      nlohmann::json ecv = {{"state", e.outcome},   {"reason", e.reason},
                            {"version", e.version}, {"native_series_instance_uid", e.nativeUid},
                            {"native_description", e.nativeDescription},
                            {"hematocrit", e.hematocrit},
                            {"blood_t1_native_post_ms", e.bloodT1},
                            {"map_series_uids", splitList(e.mapSeriesUid)},
                            {"slices", e.slices},
                            {"slices_made", e.slicesMade},
                            {"preview", e.previewFile.empty() ? "" : "/preview/" + r.key + "-ecv.png"}};
      if (e.maxDisplacementMm >= 0) ecv["max_displacement_mm"] = e.maxDisplacementMm;
      item["ecv"] = ecv;
    }
    if (r.fittedAt > 0 && r.completedAt > 0 && r.fittedAt >= r.completedAt) {
      item["complete_to_maps_seconds"] = r.fittedAt - r.completedAt;
    }
    list.push_back(item);
  }
  // Received strings may hold any bytes: replace what is not UTF-8 rather than fail.
  return list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string StatusPage::html(const NodeSummary& node, const std::vector<SeriesRecord>& series) {
  std::string page =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">"
      "<title>TorchT1 node</title><style>"
      "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;width:100%}"
      "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:middle;font-size:14px}"
      "th{background:#f4f4f4}.fitted{color:#176b2c}.failed{color:#b00020}.not_t1{color:#777}"
      ".receiving,.queued,.fitting{color:#a65e00}img{height:96px;image-rendering:pixelated}"
      "small{color:#666}</style></head><body>";
  page += "<h1>TorchT1 node</h1><p>DICOM <b>" + escape(node.aeTitle) + "</b> on port " +
          std::to_string(node.dicomPort) + " &middot; fitting on <b>" + escape(node.device) + "</b> &middot; version " +
          escape(node.version) + " &middot; <a href=\"/metrics\">metrics</a> &middot; <a href=\"/api/series\">JSON</a></p>";
  if (node.destinations.empty()) {
    page += "<p>No destination: maps are written to <code>" + escape(node.outputDir) + "</code>.</p>";
  } else {
    page += "<table><tr><th>Destination</th><th>Peer</th><th>Waiting to send</th><th>Failed</th></tr>";
    for (const auto& d : node.destinations) {
      page += "<tr><td>" + escape(d.name) + "</td><td>" + escape(d.peer) + "</td><td>" + std::to_string(d.pending) +
              "</td><td class=\"" + (d.failed ? "failed" : "") + "\">" + std::to_string(d.failed) + "</td></tr>";
    }
    page += "</table><p><small>Failed sends go back to their outboxes with <code>torcht1 requeue</code> or "
            "<code>POST /api/requeue</code>.</small></p>";
  }
  page += "<h2>Recent series</h2><table><tr><th>T1 map</th><th>Series</th><th>From</th><th>State</th>"
          "<th>Instances</th><th>Version</th><th>Fit</th><th>Note</th></tr>";
  for (const auto& r : series) {
    const std::string state = toString(r.phase);
    page += "<tr><td>";
    if (!r.previewFile.empty()) page += "<img alt=\"T1 map\" src=\"/preview/" + escape(r.key) + ".png\">";
    page += "</td><td>" + escape(r.description) + "<br><small>" + escape(r.uid) + "</small></td><td>" +
            escape(r.callingAe) + "</td><td class=\"" + state + "\">" + state +
            (r.completedBy.empty() ? "" : "<br><small>complete by " + escape(r.completedBy) + "</small>") + "</td><td>" +
            std::to_string(r.instances) + (r.expected > 0 ? " of " + std::to_string(r.expected) : "") + "</td><td>" +
            (r.version > 0 ? std::to_string(r.version) : "") + "</td><td>" +
            (r.version > 0 ? fixed(1e3 * r.fitSeconds, 0) + " ms on " + escape(r.device) : "") +
            (r.version > 0 && !r.motion.empty() ? "<br><small>" + escape(r.motion) + "</small>" : "") + "</td><td>" +
            escape(r.message) + ecvCell(r) + "</td></tr>";
  }
  if (series.empty()) page += "<tr><td colspan=\"8\">Nothing received yet.</td></tr>";
  page += "</table></body></html>\n";
  return page;
}

}  // namespace torcht1::node
