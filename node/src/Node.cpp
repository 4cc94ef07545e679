#include "torcht1/node/Node.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/TcpNoDelay.h"
#include "torcht1/http/PngEncoder.h"
#include "torcht1/mapping/Hematocrit.h"
#include "torcht1/node/NodeError.h"
#include "torcht1/node/StatusPage.h"
#include "DurableFile.h"

#include <nlohmann/json.hpp>

namespace torcht1::node {

namespace {

const char kDispatchHelp[] = "Map instances sent (success) or given up (failure), per destination";
const char kAttemptsHelp[] = "Send attempts that left instances unsent (retried or given up), per destination";
const std::vector<double> kFitBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
const char kSeriesHelp[] = "Complete series by outcome: fitted, unchanged (nothing new), not_t1, failed";

double clockSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

long long unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<std::string> names(const std::vector<config::DestinationSettings>& destinations) {
  std::vector<std::string> out;
  for (const auto& d : destinations) out.push_back(d.name);
  return out;
}

}  // namespace

Node::Node(config::Settings settings, std::ostream& log)
    : settings_(std::move(settings)),
      log_(log),
      spool_(settings_.node.spoolDir),
      tracker_(settings_.series.idleSeconds, settings_.series.useExpectedCount),
      hematocrit_((std::filesystem::path(settings_.node.spoolDir) / "hematocrit").string()) {}

Node::~Node() { stop(); }

void Node::start() {
  if (started_) return;
  started_ = true;
  dicom::preferTcpNoDelay();  // before the threads below: it sets an environment variable
  stopping_ = false;
  if (!settings_.destinations.empty()) {
    outbox_ = std::make_unique<Outbox>(spool_.root(), names(settings_.destinations));
    dispatcher_ = std::make_unique<Dispatcher>(*outbox_, settings_.destinations, [this](const DispatchEvent& e) {
      const http::MetricsRegistry::Labels ok = {{"destination", e.destination}, {"outcome", "success"}};
      const http::MetricsRegistry::Labels bad = {{"destination", e.destination}, {"outcome", "failure"}};
      metrics_.counter("torcht1_dispatch_instances_total", kDispatchHelp, ok).inc(static_cast<double>(e.instances));
      if (e.kind != DispatchEvent::Sent) {
        metrics_.counter("torcht1_dispatch_attempts_failed_total", kAttemptsHelp, {{"destination", e.destination}}).inc();
      }
      if (e.kind == DispatchEvent::GaveUp) {
        metrics_.counter("torcht1_dispatch_instances_total", kDispatchHelp, bad).inc(static_cast<double>(e.remaining));
      }
      // Jobs are "<series key>-v<version>": the log names the series by its UID.
      // ECV maps are "<post-contrast series key>-ecv-v<version>".
      std::string key = e.jobId.substr(0, e.jobId.rfind("-v"));
      if (key.size() > 4 && key.compare(key.size() - 4, 4, "-ecv") == 0) key.resize(key.size() - 4);
      const auto record = tracker_.find(key);
      const std::string series = record ? record->uid : key;
      if (e.kind == DispatchEvent::Sent) {
        log_.write("sent", {{"series", series}, {"job", e.jobId}, {"destination", e.destination}, {"peer", e.peer},
                            {"instances", std::to_string(e.instances)}, {"attempt", std::to_string(e.attempts + 1)}});
      } else if (e.kind == DispatchEvent::Retry) {
        char next[32];
        std::snprintf(next, sizeof next, "%.1f", e.nextAttemptInSeconds);
        log_.write("send_retry", {{"series", series}, {"job", e.jobId}, {"destination", e.destination}, {"peer", e.peer},
                                  {"sent", std::to_string(e.instances)}, {"remaining", std::to_string(e.remaining)},
                                  {"attempt", std::to_string(e.attempts)}, {"next_in_s", next}, {"reason", e.error}});
      } else {
        log_.write("send_failed", {{"series", series}, {"job", e.jobId}, {"destination", e.destination}, {"peer", e.peer},
                                   {"remaining", std::to_string(e.remaining)}, {"attempts", std::to_string(e.attempts)},
                                   {"reason", e.error}, {"requeue", "torcht1 requeue or POST /api/requeue"}});
      }
    });
  }
  registerMetrics();
  // New maps in the outboxes: the dispatcher sends them now, not at its next poll.
  auto published = [this](const PipelineOutcome& outcome) {
    count(outcome);
    if (outcome.kind == PipelineOutcome::Fitted && dispatcher_) dispatcher_->wake();
    if (outcome.kind == PipelineOutcome::Fitted && ecv_) ecv_->submit(outcome.studyUid);
  };
  if (settings_.ecv.enabled) {
    ecv_ = std::make_unique<EcvStage>(settings_, spool_, tracker_, outbox_.get(), log_, hematocrit_, [this] {
      if (dispatcher_) dispatcher_->wake();
    });
    ecv_->start();
  }
  pipeline_ = std::make_unique<SeriesPipeline>(settings_, spool_, tracker_, outbox_.get(), log_, published);
  // The warm-up (seconds; longer on a GPU) comes first: the idle time of the series found
  // in the spool starts at recovery, and a sender cannot resume before the port is open.
  pipeline_->start();
  recover();
  if (dispatcher_) dispatcher_->start();
  scheduler_ = std::thread([this] { schedule(); });

  dicom::StoreServerOptions options;
  options.aeTitle = settings_.node.aeTitle;
  options.port = settings_.node.port;
  options.maxAssociations = settings_.node.maxAssociations;
  options.maxPduBytes = settings_.node.maxPduBytes;
  options.acseTimeoutSeconds = settings_.node.acseTimeoutSeconds;
  options.dimseTimeoutSeconds = settings_.node.dimseTimeoutSeconds;
  options.allowedCallingAes = settings_.node.allowedCallingAes;
  options.allowedHosts = settings_.node.allowedHosts;
  const config::NodeTlsSettings& tls = settings_.node.tls;
  options.tls = {tls.enabled, tls.certificate, tls.privateKey, tls.caCertificates, tls.requirePeerCertificate};
  options.tempDir = spool_.tempDir();
  server_ = std::make_unique<dicom::StoreServer>(options, static_cast<dicom::StoreHandler&>(*this));
  try {
    startHttp();
    server_->start();
  } catch (...) {
    stop();
    throw;
  }
  ready_ = true;
  log_.write("started", {{"ae_title", settings_.node.aeTitle}, {"port", std::to_string(settings_.node.port)},
                         {"tls", tls.enabled ? "on" : "off"}, {"device", pipeline_->device()}, {"spool", spool_.root()},
                         {"http", settings_.http.bind + ":" + std::to_string(httpPort())},
                         {"destinations", std::to_string(settings_.destinations.size())},
                         {"output", settings_.destinations.empty() ? settings_.output.dir : "outbox"}});
}

void Node::stop() {
  if (!started_) return;
  started_ = false;
  ready_ = false;
  log_.write("stopping");
  if (server_) server_->stop();
  if (http_) http_->stop();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  if (pipeline_) pipeline_->stop();
  if (ecv_) ecv_->stop();
  if (dispatcher_) dispatcher_->stop();
  log_.write("stopped");
}

void Node::recover() {
  const double now = clockSeconds();
  size_t pending = 0, instances = 0;
  for (const auto& s : spool_.recover()) {
    SeriesRecord r;
    r.key = s.key;
    r.uid = s.state.seriesUid;
    r.description = s.state.description;
    r.instances = s.files.size();
    r.version = s.state.version;
    r.fittedInstances = s.state.fittedInstances;
    r.message = s.state.reason;
    r.lastArrivalUnix = s.lastModifiedUnix;
    const std::string preview = (std::filesystem::path(spool_.seriesDir(s.key)) / "preview.png").string();
    if (std::filesystem::exists(preview)) r.previewFile = preview;
    r.expected = s.expected;
    r.acquisition = s.acquisition;
    r.expectedConflict = s.expectedConflict;
    r.phase = s.state.outcome == "fitted"   ? SeriesPhase::Fitted
              : s.state.outcome == "not_t1" ? SeriesPhase::NotT1
              : s.state.outcome == "failed" ? SeriesPhase::Failed
                                            : SeriesPhase::Receiving;
    if (s.state.postContrast && s.state.outcome == "fitted") {
      r.ecv = EcvStore(spool_).readState(s.key);
      // Fitted, but the node stopped before its ECV job ran: run it now.
      if (ecv_ && r.ecv.outcome.empty()) ecv_->submit(s.state.studyUid);
    }
    tracker_.restore(r, now);
    instances += r.instances;
    const auto restored = tracker_.find(r.key);
    if (restored && restored->phase == SeriesPhase::Receiving) {
      ++pending;
      log_.write("recovered", {{"series", r.uid}, {"instances", std::to_string(r.instances)},
                               {"fitted_version", std::to_string(r.version)}});
    }
  }
  size_t jobs = 0;
  if (outbox_) {
    for (const auto& d : outbox_->destinations()) jobs += outbox_->pending(d).size();
  }
  log_.write("spool", {{"series", std::to_string(tracker_.snapshot().size())}, {"instances", std::to_string(instances)},
                       {"waiting", std::to_string(pending)}, {"outbox_jobs", std::to_string(jobs)}});
}

void Node::schedule() {
  double lastExpiry = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_.load(); });
      if (stopping_) return;
    }
    const double now = clockSeconds();
    for (const auto& key : tracker_.due(now)) {
      const auto r = tracker_.find(key);
      metrics_.counter("torcht1_series_completed_total", "Series found complete (idle wait or expected count)").inc();
      if (r) {
        log_.write("complete", {{"series", r->uid}, {"instances", std::to_string(r->instances)},
                                {"by", r->completedBy}, {"description", r->description}});
      }
      pipeline_->submit(key);
    }
    if (now - lastExpiry >= 1) {
      lastExpiry = now;
      expire();
    }
  }
}

void Node::expire() {
  const long long cutoff = unixSeconds() - static_cast<long long>(settings_.node.retentionHours * 3600);
  for (const auto& candidate : tracker_.snapshot()) {
    if (candidate.lastArrivalUnix >= cutoff) continue;
    std::unique_lock<std::shared_mutex> lock(spoolLock_);
    const auto now = tracker_.find(candidate.key);  // again, under the lock: nothing arrives meanwhile
    if (!now) continue;
    const SeriesRecord& r = *now;
    const bool settled = r.phase == SeriesPhase::Fitted || r.phase == SeriesPhase::NotT1 || r.phase == SeriesPhase::Failed;
    if (settled && r.lastArrivalUnix < cutoff) {
      spool_.removeSeries(r.key);
      tracker_.forget(r.key);
      log_.write("expired", {{"series", r.uid}, {"state", toString(r.phase)}, {"instances", std::to_string(r.instances)}});
    }
  }
  if (const size_t n = hematocrit_.expire(cutoff); n > 0) log_.write("expired_hematocrit", {{"values", std::to_string(n)}});
}

std::string Node::postHematocrit(const std::string& studyUid, const std::string& accession, double value) {
  if (studyUid.empty() && accession.empty()) return "give study_instance_uid or accession_number";
  if (const std::string why = mapping::Hematocrit::refusal(value); !why.empty()) return why;
  hematocrit_.save({studyUid, accession, value, unixSeconds()});
  // The study's post-contrast series are paired again now (new maps when the value is new);
  // a study not here yet uses the value when its series come.
  std::vector<std::string> studies;
  for (const auto& key : spool_.seriesKeys()) {
    const SeriesState state = spool_.readState(key);
    if (state.outcome != "fitted" || state.studyUid.empty()) continue;
    if ((!studyUid.empty() && state.studyUid == studyUid) || (!accession.empty() && state.accession == accession)) {
      if (std::find(studies.begin(), studies.end(), state.studyUid) == studies.end()) studies.push_back(state.studyUid);
    }
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  log_.write("hematocrit", {{"study", studyUid}, {"accession", accession}, {"value", text},
                            {"studies_here", std::to_string(studies.size())}});
  if (ecv_) {
    for (const auto& s : studies) ecv_->submit(s);
  }
  return "";
}

uint16_t Node::stored(const dicom::ReceivedInstance& instance) {
  std::shared_lock<std::shared_mutex> lock(spoolLock_);
  const Spool::Committed committed = spool_.commit(instance);  // throws: the server answers failure
  tracker_.received(committed.key, instance.seriesInstanceUid, instance.seriesDescription, instance.callingAeTitle,
                    instance.imagesInAcquisition, instance.acquisitionNumber, committed.duplicate, clockSeconds(), unixSeconds());
  metrics_.counter("torcht1_instances_received_total", "Instances received and spooled").inc();
  log_.write("received", {{"series", instance.seriesInstanceUid}, {"sop", instance.sopInstanceUid},
                          {"from", instance.callingAeTitle}, {"peer", instance.peerAddress},
                          {"duplicate", committed.duplicate ? "yes" : "no"}});
  return 0x0000;
}

void Node::waitForCapacity() {
  // Backpressure: while too many complete series wait for the fit, hold the response (the
  // sender waits), but not past half the DIMSE timeout: the instance is safe on disk anyway.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(settings_.node.dimseTimeoutSeconds / 2);
  bool logged = false;
  while (!stopping_ && tracker_.pending() >= static_cast<size_t>(settings_.node.maxPendingSeries) &&
         std::chrono::steady_clock::now() < deadline) {
    if (!logged) {
      log_.write("backpressure", {{"pending_series", std::to_string(tracker_.pending())}});
      logged = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Node::storeFailed(const std::string& callingAe, const std::string& what, const std::string& reason) {
  metrics_.counter("torcht1_instances_refused_total", "Instances answered with a failure status or lost mid-transfer").inc();
  log_.write("store_failed", {{"from", callingAe}, {"sop", what}, {"reason", reason}});
}

void Node::associationRejected(const std::string& callingAe, const std::string& calledAe, const std::string& peer,
                               const std::string& reason) {
  metrics_.counter("torcht1_associations_rejected_total", "Associations refused (AE titles, hosts, TLS handshakes, busy)").inc();
  log_.write("association_rejected", {{"from", callingAe}, {"called", calledAe}, {"peer", peer}, {"reason", reason}});
}

void Node::registerMetrics() {
  // Every family exists from the start, so dashboards see zeros rather than gaps.
  metrics_.counter("torcht1_instances_received_total", "Instances received and spooled");
  metrics_.counter("torcht1_instances_refused_total", "Instances answered with a failure status or lost mid-transfer");
  metrics_.counter("torcht1_associations_rejected_total", "Associations refused (AE titles, hosts, TLS handshakes, busy)");
  metrics_.counter("torcht1_series_completed_total", "Series found complete (idle wait or expected count)");
  for (const char* outcome : {"fitted", "unchanged", "not_t1", "failed"}) {
    metrics_.counter("torcht1_series_total", kSeriesHelp, {{"outcome", outcome}});
  }
  metrics_.histogram("torcht1_fit_seconds", "Time on the device per series (all slices)", kFitBuckets);
  metrics_.histogram("torcht1_series_seconds", "From complete to maps published, per fitted series", kFitBuckets);
  metrics_.gauge("torcht1_queue_depth", "Complete series waiting for or in the fit");
  for (const auto& d : settings_.destinations) {
    for (const char* outcome : {"success", "failure"}) {
      metrics_.counter("torcht1_dispatch_instances_total", kDispatchHelp, {{"destination", d.name}, {"outcome", outcome}});
    }
    metrics_.counter("torcht1_dispatch_attempts_failed_total", kAttemptsHelp, {{"destination", d.name}});
  }
}

void Node::count(const PipelineOutcome& o) {
  static const char* names[] = {"fitted", "unchanged", "not_t1", "failed"};
  metrics_.counter("torcht1_series_total", kSeriesHelp, {{"outcome", names[o.kind]}}).inc();
  if (o.kind == PipelineOutcome::Fitted) {
    metrics_.histogram("torcht1_fit_seconds", "Time on the device per series (all slices)", kFitBuckets).observe(o.fitSeconds);
    metrics_.histogram("torcht1_series_seconds", "From complete to maps published, per fitted series", kFitBuckets)
        .observe(o.totalSeconds);
  }
}

std::string Node::metrics() {
  // Gauges are read when asked for, so a scrape never sees a stale queue.
  metrics_.gauge("torcht1_queue_depth", "Complete series waiting for or in the fit")
      .set(static_cast<double>(tracker_.pending()));
  if (outbox_) {
    for (const auto& d : outbox_->destinations()) {
      metrics_.gauge("torcht1_outbox_jobs", "Map series waiting to be sent", {{"destination", d}})
          .set(static_cast<double>(outbox_->pending(d).size()));
      metrics_.gauge("torcht1_failed_jobs", "Map series that gave up (requeue them)", {{"destination", d}})
          .set(static_cast<double>(outbox_->failed(d).size()));
    }
  }
  return metrics_.render();
}

void Node::startHttp() {
  http::HttpServerOptions options;
  options.bind = settings_.http.bind;
  options.port = settings_.http.port;
  options.bearerToken = settings_.http.token;
  http_ = std::make_unique<http::HttpServer>(options);
  http_->route("GET", "/healthz", [](const http::HttpRequest&) { return http::HttpResponse::text("ok\n"); }, true);
  http_->route("GET", "/readyz", [this](const http::HttpRequest&) {
    if (!ready_) return http::HttpResponse::text("starting or stopping\n", 503);
    if (!syncPath(spool_.tempDir())) return http::HttpResponse::text("spool not reachable: " + spool_.tempDir() + "\n", 503);
    return http::HttpResponse::text("ready\n");
  });
  http_->route("GET", "/metrics", [this](const http::HttpRequest&) {
    http::HttpResponse r = http::HttpResponse::text(metrics());
    r.contentType = http::MetricsRegistry::kContentType;
    return r;
  });
  http_->route("GET", "/api/series", [this](const http::HttpRequest&) {
    return http::HttpResponse::json(StatusPage::json(StatusPage::recent(tracker_.snapshot())));
  });
  http_->route("POST", "/api/requeue", [this](const http::HttpRequest& request) {
    std::string destination;
    const std::string prefix = "destination=";
    if (request.query.rfind(prefix, 0) == 0) destination = request.query.substr(prefix.size());
    const size_t n = requeue(destination);
    return http::HttpResponse::json("{\"requeued\": " + std::to_string(n) + "}\n");
  });
  http_->route("POST", "/api/hematocrit", [this](const http::HttpRequest& request) {
    // {"study_instance_uid": "...", "accession_number": "...", "hematocrit": 0.42}
    std::string study, accession;
    double value = 0;
    try {
      const auto body = nlohmann::json::parse(request.body);
      if (!body.is_object()) throw std::runtime_error("not a JSON object");
      study = body.value("study_instance_uid", "");
      accession = body.value("accession_number", "");
      const auto& h = body.at("hematocrit");
      value = h.is_string() ? std::stod(h.get<std::string>()) : h.get<double>();
    } catch (const std::exception& e) {
      return http::HttpResponse::json(nlohmann::json{{"error", std::string("expected {\"study_instance_uid\" or "
                                                                           "\"accession_number\", \"hematocrit\": 0.1-0.7}: ") + e.what()}}.dump() + "\n", 400);
    }
    if (const std::string why = postHematocrit(study, accession, value); !why.empty()) {
      return http::HttpResponse::json(nlohmann::json{{"error", why}}.dump() + "\n", 400);
    }
    return http::HttpResponse::json(
        nlohmann::json{{"study_instance_uid", study}, {"accession_number", accession}, {"hematocrit", value}}.dump() + "\n");
  });
  http_->route("GET", "/preview/*", [this](const http::HttpRequest& request) {
    std::string name = request.path.substr(std::string("/preview/").size());
    const std::string suffix = ".png";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return http::HttpResponse::notFound();
    }
    name.resize(name.size() - suffix.size());
    // "<key>.png" the T1 map, "<key>-ecv.png" the ECV map of a post-contrast series.
    const bool ecv = name.size() > 4 && name.compare(name.size() - 4, 4, "-ecv") == 0;
    if (ecv) name.resize(name.size() - 4);
    const auto record = tracker_.find(name);  // only known keys: nothing from the URL reaches a path
    const std::string file = !record ? "" : ecv ? record->ecv.previewFile : record->previewFile;
    if (file.empty()) return http::HttpResponse::notFound("no preview for this series");
    const std::string png = readSmallFile(file);
    if (png.empty()) return http::HttpResponse::notFound("no preview for this series");
    return http::HttpResponse::png(std::vector<uint8_t>(png.begin(), png.end()));
  });
  http_->route("GET", "/", [this](const http::HttpRequest&) {
    NodeSummary summary;
    summary.aeTitle = settings_.node.aeTitle;
    summary.dicomPort = settings_.node.port;
    summary.device = pipeline_ ? pipeline_->device() : "";
    summary.version = TORCHT1_VERSION;
    summary.outputDir = settings_.output.dir;
    for (const auto& d : settings_.destinations) {
      NodeSummary::Destination row{d.name, d.aeTitle + "@" + d.host + ":" + std::to_string(d.port), 0, 0};
      if (outbox_) {
        row.pending = outbox_->pending(d.name).size();
        row.failed = outbox_->failed(d.name).size();
      }
      summary.destinations.push_back(row);
    }
    return http::HttpResponse::html(StatusPage::html(summary, StatusPage::recent(tracker_.snapshot())));
  });
  http_->start();
}

size_t Node::requeue(const std::string& destination) {
  if (!outbox_) return 0;
  const size_t n = outbox_->requeue(destination);
  log_.write("requeued", {{"jobs", std::to_string(n)}, {"destination", destination.empty() ? "all" : destination}});
  if (dispatcher_) dispatcher_->wake();
  return n;
}

}  // namespace torcht1::node
