#include "torcht1/node/EcvStage.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomInstance.h"
#include "torcht1/dicom/SeriesAssembler.h"
#include "torcht1/http/PngEncoder.h"
#include "torcht1/node/EcvWriter.h"

namespace fs = std::filesystem;

namespace torcht1::node {

namespace {

std::string fixed(double value, int decimals) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, value);
  return b;
}

/// The ECV map of one slice in its display window (0-100 %), grey, with the blood pool the
/// hematocrit and dR1_blood came from outlined in red: what a reader checks first.
std::vector<uint8_t> preview(const mapping::EcvSlice& slice, int rows, int cols) {
  std::vector<uint8_t> rgb(static_cast<size_t>(rows) * static_cast<size_t>(cols) * 3);
  const auto& mask = slice.blood.mask;
  auto inside = [&](int r, int c) {
    return r >= 0 && c >= 0 && r < rows && c < cols && !mask.empty() && mask[static_cast<size_t>(r) * cols + c] != 0;
  };
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const size_t v = static_cast<size_t>(r) * cols + c;
      const auto grey = static_cast<uint8_t>(std::clamp(2.55 * slice.ecvPercent[v], 0.0, 255.0));
      const bool edge = inside(r, c) && (!inside(r - 1, c) || !inside(r + 1, c) || !inside(r, c - 1) || !inside(r, c + 1));
      rgb[3 * v] = edge ? 255 : grey;
      rgb[3 * v + 1] = edge ? 40 : grey;
      rgb[3 * v + 2] = edge ? 40 : grey;
    }
  }
  return http::PngEncoder::encodeRgb(rgb.data(), cols, rows);
}

struct Loaded {
  std::string key;
  SeriesState state;
  FittedT1Series fitted;
};

}  // namespace

EcvStage::EcvStage(const config::Settings& settings, const Spool& spool, SeriesTracker& tracker, const Outbox* outbox,
                   EventLog& log, const HematocritStore& hematocrit, std::function<void()> published)
    : settings_(settings),
      spool_(spool),
      tracker_(tracker),
      outbox_(outbox),
      log_(log),
      hematocrit_(hematocrit),
      published_(std::move(published)),
      store_(spool),
      pairer_(settings.ecv, "cpu") {}

EcvStage::~EcvStage() { stop(); }

void EcvStage::start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { loop(); });
}

void EcvStage::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EcvStage::submit(const std::string& studyUid) {
  if (studyUid.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::find(queue_.begin(), queue_.end(), studyUid) != queue_.end()) return;  // once is enough
    queue_.push_back(studyUid);
  }
  wake_.notify_all();
}

bool EcvStage::idle() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.empty() && !busy_;
}

void EcvStage::loop() {
  while (true) {
    std::string study;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      study = queue_.front();
      queue_.pop_front();
      busy_ = true;
    }
    try {
      run(study);
    } catch (const std::exception& e) {
      log_.write("ecv_failed", {{"study", study}, {"reason", e.what()}});
    }
    std::lock_guard<std::mutex> lock(mutex_);
    busy_ = false;
  }
}

void EcvStage::run(const std::string& studyUid) {
  // Every fitted T1 series of the study, from the spool: its images (geometry, references)
  // and the T1 maps its fit kept.
  const dicom::DicomInstanceReader reader(settings_.input.triggerTimeFallback);
  const dicom::SeriesAssembler assembler(settings_.input.selection);
  std::vector<std::unique_ptr<Loaded>> all;
  bool anyPost = false;
  for (const auto& key : spool_.seriesKeys()) {
    SeriesState state = spool_.readState(key);
    if (state.outcome != "fitted" || state.studyUid != studyUid) continue;
    std::vector<dicom::DicomInstance> instances;
    for (const auto& file : spool_.instanceFiles(key)) {
      try {
        for (auto& frame : reader.read(file)) instances.push_back(std::move(frame));
      } catch (const dicom::DicomError&) {
        // the fit said so already; the series is taken as assembled from the rest
      }
    }
    auto assembled = assembler.assemble(instances);
    auto series = std::find_if(assembled.series.begin(), assembled.series.end(),
                               [&](const dicom::MolliSeries& m) { return m.seriesInstanceUid == state.seriesUid; });
    if (series == assembled.series.end()) continue;
    auto t1 = store_.loadT1(key, series->rows, series->cols);
    if (!t1 || t1->size() != series->slices.size()) {
      log_.write("ecv_skipped", {{"series", state.seriesUid},
                                 {"reason", "its T1 maps are not in the spool (fitted by an older version, or the spool "
                                            "was damaged): send the series again to pair it"}});
      continue;
    }
    anyPost = anyPost || series->postContrast;
    auto loaded = std::make_unique<Loaded>();
    loaded->key = key;
    loaded->state = std::move(state);
    loaded->fitted = {std::move(*series), std::move(*t1)};
    all.push_back(std::move(loaded));
  }
  if (!anyPost) return;  // native series only, so far: the post-contrast one pairs when it comes
  std::vector<const FittedT1Series*> candidates;
  for (const auto& l : all) candidates.push_back(&l->fitted);

  for (const auto& l : all) {
    if (!l->fitted.series.postContrast) continue;
    const FittedT1Series& post = l->fitted;
    const EcvState previous = store_.readState(l->key);
    const EcvPairing pairing = pairer_.pair(post, candidates);
    const auto measured = hematocrit_.find(studyUid, l->state.accession);
    // Every native series a slice pairs with (latest first), with its fit version.
    std::string natives, nativeUids;
    for (const auto* used : pairing.natives) {
      for (const auto& n : all) {
        if (&n->fitted != used) continue;
        natives += (natives.empty() ? "" : ",") + n->state.seriesUid + "@v" + std::to_string(n->state.version);
        nativeUids += (nativeUids.empty() ? "" : ",") + n->state.seriesUid;
      }
    }
    const bool partnered = pairing.native != nullptr && !natives.empty();
    const std::string signature =
        !partnered ? "none|" + pairing.reason
                   : "native=" + natives + "|post=v" + std::to_string(l->state.version) + "|slices=" +
                         std::to_string(post.series.slices.size()) + "|hct=" +
                         (measured ? fixed(measured->value, 4) : settings_.ecv.hematocrit);
    if (signature == previous.signature) continue;  // nothing new for this series

    EcvState next;
    next.version = previous.version;
    next.signature = signature;
    next.slices = static_cast<int>(post.series.slices.size());
    next.mapSeriesUid = previous.mapSeriesUid;
    const std::string uid = post.series.seriesInstanceUid;
    auto settle = [&](const char* outcome, const std::string& reason, const char* event) {
      next.outcome = outcome;
      next.reason = reason;
      store_.writeState(l->key, next);
      next.previewFile = previous.previewFile;
      tracker_.ecv(l->key, next);
      log_.write(event, {{"series", uid}, {"description", post.series.description}, {"reason", reason}});
    };
    if (!partnered) {
      // No native series yet (the post-contrast one came first): it pairs when one comes.
      const bool later = pairing.reason.find("(yet)") != std::string::npos;
      settle(later ? "waiting" : "none", pairing.reason, later ? "ecv_waiting" : "no_ecv");
      continue;
    }
    next.nativeUid = nativeUids;
    next.nativeDescription = pairing.native->series.description;
    if (!measured && settings_.ecv.hematocrit == "required") {
      settle("waiting", "waiting for a measured hematocrit (ecv.hematocrit: required): POST /api/hematocrit", "ecv_waiting");
      continue;
    }
    try {
      const int version = previous.version + 1;
      const EcvOutcome outcome = pairer_.make(pairing, measured ? std::optional<double>(measured->value) : std::nullopt, version);
      for (const auto& line : outcome.lines) log_.write("ecv_slice", {{"series", uid}, {"summary", line}});
      if (!pairing.note.empty()) log_.write("ecv_pairing", {{"series", uid}, {"note", pairing.note}});
      if (outcome.made == 0) {
        settle("none", outcome.lines.empty() ? "no slice made a map" : outcome.lines.front(), "no_ecv");
        continue;
      }
      const std::string id = l->key + "-ecv-v" + std::to_string(version);
      const std::string dir = outbox_ ? outbox_->stage(id) : settings_.output.dir;
      const auto written = EcvWriter(settings_.ecv.maps, TORCHT1_VERSION).write(outcome, dir);
      size_t files = 0;
      std::string mapUids;
      for (const auto& w : written) {
        files += w.files.size();
        mapUids += (mapUids.empty() ? "" : ",") + w.seriesInstanceUid;
      }
      if (outbox_) outbox_->publish(id);
      next.version = version;
      next.outcome = "made";
      next.slicesMade = outcome.made;
      next.mapSeriesUid = mapUids;
      std::string blood;
      const mapping::EcvSlice* shown = nullptr;
      int madeSeen = 0;
      for (const auto& e : outcome.slices) {
        if (!e.made) continue;
        next.hematocrit = e.hematocrit.label();
        if (e.registration.kept) next.maxDisplacementMm = std::max(next.maxDisplacementMm, e.registration.maxDisplacementMm);
        blood += (blood.empty() ? "" : "; ") + fixed(e.blood.nativeT1Ms, 0) + "/" + fixed(e.blood.postT1Ms, 0);
        if (madeSeen++ == outcome.made / 2) shown = &e;
      }
      next.bloodT1 = blood;
      next.reason = outcome.made < next.slices ? std::to_string(next.slices - outcome.made) + " slice(s) without a map: see the log" : "";
      if (shown != nullptr) {
        const auto png = preview(*shown, outcome.source.rows, outcome.source.cols);
        const std::string file = store_.previewFile(l->key);
        std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
      }
      store_.writeState(l->key, next);
      next.previewFile = store_.readState(l->key).previewFile;
      tracker_.ecv(l->key, next);
      log_.write(version > 1 ? "ecv_remade" : "ecv",
                 {{"series", uid},
                  {"native", next.nativeUid},
                  {"version", std::to_string(version)},
                  {"hematocrit", next.hematocrit},
                  {"blood_t1_ms", next.bloodT1},
                  {"slices", std::to_string(outcome.made) + "/" + std::to_string(next.slices)},
                  {"max_displacement_mm", next.maxDisplacementMm < 0 ? "" : fixed(next.maxDisplacementMm, 1)},
                  {"images", std::to_string(files)},
                  {"to", outbox_ ? "outbox" : dir}});
      if (published_) published_();
    } catch (const std::exception& e) {
      next.signature.clear();  // tried again with the next event of the study
      settle("failed", e.what(), "ecv_failed");
    }
  }
}

}  // namespace torcht1::node
