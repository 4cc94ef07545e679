#include "torcht1/node/SeriesPipeline.h"

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomInstance.h"
#include "torcht1/dicom/SeriesAssembler.h"
#include "torcht1/http/PngEncoder.h"
#include "torcht1/node/EcvStore.h"
#include "BoundedQueue.h"

namespace fs = std::filesystem;

namespace torcht1::node {

namespace {

double clockSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string fixed1(double value) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", value);
  return b;
}

std::string millis(double seconds) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", 1e3 * seconds);
  return b;
}

/// The T1 map's middle slice as an 8-bit picture in the map's display window, for the status
/// page. "" when there is no T1 map.
std::vector<uint8_t> preview(const PreparedSeries& prepared, const MappedSeries& mapped) {
  for (const auto& map : mapped.maps) {
    if (map.kind != "T1" || map.slices.empty()) continue;
    const auto& values = map.slices[map.slices.size() / 2].values;
    const double low = map.windowCenter - map.windowWidth / 2;
    std::vector<uint8_t> pixels(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      const double level = 255.0 * (values[i] - low) / map.windowWidth;
      pixels[i] = static_cast<uint8_t>(std::clamp(level, 0.0, 255.0));
    }
    return http::PngEncoder::encodeGray(pixels.data(), prepared.series.cols, prepared.series.rows);
  }
  return {};
}

}  // namespace

struct SeriesPipeline::Job {
  std::string key;
  std::string uid;
  int version = 1;
  size_t instances = 0;
  double startedAt = 0;
  PreparedSeries prepared;
  MappedSeries mapped;
};

SeriesPipeline::SeriesPipeline(const config::Settings& settings, Spool& spool, SeriesTracker& tracker,
                               const Outbox* outbox, EventLog& log, Published published)
    : settings_(settings),
      spool_(spool),
      tracker_(tracker),
      outbox_(outbox),
      log_(log),
      published_(std::move(published)),
      mapper_(settings.fit, settings.output, TORCHT1_VERSION),
      incoming_(std::make_unique<BoundedQueue<std::string>>(static_cast<size_t>(1) << 30)),
      toFit_(std::make_unique<BoundedQueue<std::shared_ptr<Job>>>(1)),
      toWrite_(std::make_unique<BoundedQueue<std::shared_ptr<Job>>>(1)) {}

SeriesPipeline::~SeriesPipeline() { stop(); }

std::string SeriesPipeline::device() const { return mapper_.device(); }

size_t SeriesPipeline::queued() const { return incoming_->size(); }

void SeriesPipeline::start() {
  const double seconds = mapper_.warmUp();
  log_.write("warmed_up", {{"device", mapper_.device()}, {"fit_ms", millis(seconds)}});
  threads_.emplace_back([this] { decodeLoop(); });
  threads_.emplace_back([this] { fitLoop(); });
  threads_.emplace_back([this] { writeLoop(); });
}

void SeriesPipeline::submit(const std::string& key) { incoming_->push(key); }

void SeriesPipeline::stop() {
  stopping_ = true;
  incoming_->close();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void SeriesPipeline::fail(const std::string& key, const std::string& uid, const std::string& reason) {
  tracker_.failed(key, reason);
  SeriesState state = spool_.readState(key);
  state.outcome = "failed";
  state.reason = reason;
  state.fittedInstances = spool_.instanceFiles(key).size();
  try {
    spool_.writeState(key, state);
  } catch (const std::exception&) {
    // the series is tried again after a restart: no harm
  }
  log_.write("failed", {{"series", uid}, {"reason", reason}});
  if (published_) published_({key, PipelineOutcome::Failed, 0, 0, 0, ""});
}

void SeriesPipeline::decodeLoop() {
  const dicom::DicomInstanceReader reader(settings_.input.triggerTimeFallback);
  const dicom::SeriesAssembler assembler(settings_.input.selection);
  while (auto key = incoming_->pop()) {
    if (stopping_) break;  // what is still queued is found in the spool at the next start
    const double started = clockSeconds();
    SeriesState state = spool_.readState(*key);
    const std::string uid = state.seriesUid.empty() ? *key : state.seriesUid;
    try {
      const std::vector<std::string> files = spool_.instanceFiles(*key);
      if (files.size() == state.fittedInstances && (state.outcome == "fitted" || state.outcome == "not_t1")) {
        tracker_.unchanged(*key);  // complete again, but nothing new (a resent instance)
        log_.write("unchanged", {{"series", uid}, {"instances", std::to_string(files.size())}});
        if (published_) published_({*key, PipelineOutcome::Unchanged, 0, 0, 0, ""});
        continue;
      }
      std::vector<dicom::DicomInstance> instances;
      size_t unreadable = 0;
      std::string firstError;
      for (const auto& file : files) {
        try {
          for (auto& frame : reader.read(file)) instances.push_back(std::move(frame));
        } catch (const dicom::DicomError& e) {
          if (unreadable++ == 0) firstError = e.what();
        }
      }
      if (unreadable > 0) {
        log_.write("unreadable", {{"series", uid}, {"files", std::to_string(unreadable)}, {"first", firstError}});
      }
      const auto assembled = assembler.assemble(instances);
      // Not a T1 input, or a T1 scheme that no model here describes (refused): either way
      // settled, never fitted, with the reason.
      auto notFitted = [&](const char* event, const std::string& reason) {
        tracker_.notT1(*key, reason);
        state.outcome = "not_t1";
        state.reason = reason;
        state.fittedInstances = files.size();
        spool_.writeState(*key, state);
        log_.write(event, {{"series", uid}, {"description", state.description}, {"reason", reason}});
        if (published_) published_({*key, PipelineOutcome::NotT1, 0, 0, 0, ""});
      };
      if (assembled.series.empty()) {
        notFitted("not_t1", !assembled.rejected.empty() ? assembled.rejected.front().reason
                            : unreadable > 0        ? "no readable instance: " + firstError
                                                    : "no instances");
        continue;
      }
      if (const auto identified = mapper_.identify(assembled.series.front()); identified.scheme == nullptr) {
        notFitted("refused", "refused: " + identified.reason);
        continue;
      }
      auto job = std::make_shared<Job>();
      job->key = *key;
      job->uid = uid;
      job->version = state.version + 1;
      job->instances = files.size();
      job->startedAt = started;
      tracker_.fitting(*key);
      job->prepared = mapper_.prepare(assembled.series.front());
      if (!toFit_->push(job)) break;
    } catch (const std::exception& e) {
      fail(*key, uid, e.what());
    }
  }
  toFit_->close();
}

void SeriesPipeline::fitLoop() {
  while (auto job = toFit_->pop()) {
    try {
      (*job)->mapped = mapper_.fit((*job)->prepared);
      if (!toWrite_->push(*job)) break;
    } catch (const std::exception& e) {
      fail((*job)->key, (*job)->uid, e.what());
    }
  }
  toWrite_->close();
}

void SeriesPipeline::writeLoop() {
  while (auto next = toWrite_->pop()) {
    Job& job = **next;
    try {
      const std::string id = job.key + "-v" + std::to_string(job.version);
      const std::string dir = outbox_ ? outbox_->stage(id) : settings_.output.dir;
      const auto written = mapper_.write(job.prepared, job.mapped, dir, job.version);
      size_t files = 0;
      std::vector<std::string> uids;
      for (const auto& map : written) {
        files += map.files.size();
        uids.push_back(map.seriesInstanceUid);
      }
      if (outbox_) outbox_->publish(id);
      // What ECV pairing needs of the series, before the state says "fitted": the T1 maps,
      // the study and whether it is post-contrast.
      const dicom::DicomInstance& first = job.prepared.series.slices.front().images.front();
      if (settings_.ecv.enabled) {
        EcvStore(spool_).saveT1(job.key, job.prepared.series.rows, job.prepared.series.cols, job.mapped.t1);
      }
      SeriesState state = spool_.readState(job.key);
      state.version = job.version;
      state.fittedInstances = job.instances;
      state.outcome = "fitted";
      state.reason.clear();
      state.studyUid = first.studyInstanceUid;
      state.accession = first.accessionNumber;
      state.postContrast = job.prepared.series.postContrast;
      spool_.writeState(job.key, state);
      std::string previewFile;
      if (const auto png = preview(job.prepared, job.mapped); !png.empty()) {
        previewFile = (fs::path(spool_.seriesDir(job.key)) / "preview.png").string();
        std::ofstream(previewFile, std::ios::binary).write(reinterpret_cast<const char*>(png.data()),
                                                          static_cast<std::streamsize>(png.size()));
      }
      const double now = clockSeconds();
      tracker_.motion(job.key, job.mapped.motionSummary(), job.mapped.maxDisplacementMm);
      tracker_.fitted(job.key, job.version, job.instances, job.mapped.fitSeconds, job.mapped.device, uids, previewFile,
                      now);
      for (const auto& slice : job.mapped.slices) {
        log_.write("slice", {{"series", job.uid}, {"summary", SeriesMapper::describe(job.prepared.series, slice, job.mapped.device)}});
      }
      if (const std::string notes = SeriesMapper::notInherited(job.prepared.series); !notes.empty()) {
        log_.write("not_inherited", {{"series", job.uid}, {"values", notes}});
      }
      log_.write(job.version > 1 ? "refitted" : "fitted",
                 {{"series", job.uid},
                  {"version", std::to_string(job.version)},
                  {"slices", std::to_string(job.prepared.series.slices.size())},
                  {"fit_ms", millis(job.mapped.fitSeconds)},
                  {"total_ms", millis(now - job.startedAt)},
                  {"device", job.mapped.device},
                  {"moco", job.mapped.maxDisplacementMm < 0 ? "off" : job.mapped.motionCorrectedSlices > 0 ? "corrected" : "not applied"},
                  {"max_displacement_mm", job.mapped.maxDisplacementMm < 0 ? "" : fixed1(job.mapped.maxDisplacementMm)},
                  {"maps", std::to_string(files)},
                  {"to", outbox_ ? "outbox" : dir}});
      if (published_) {
        published_({job.key, PipelineOutcome::Fitted, job.mapped.fitSeconds, now - job.startedAt, files, state.studyUid});
      }
    } catch (const std::exception& e) {
      fail(job.key, job.uid, e.what());
    }
  }
}

}  // namespace torcht1::node
