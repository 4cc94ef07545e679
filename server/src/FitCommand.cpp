#include "FitCommand.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "torcht1/config/EcvConfig.h"
#include "torcht1/config/FitConfig.h"
#include "torcht1/config/InputConfig.h"
#include "torcht1/config/OutputConfig.h"
#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/SeriesAssembler.h"
#include "torcht1/dicom/DerivedSeriesWriter.h"
#include "torcht1/node/EcvWriter.h"
#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/Hematocrit.h"
#include "torcht1/node/EcvPairer.h"
#include "torcht1/node/SeriesMapper.h"

namespace fs = std::filesystem;

namespace torcht1::server {

void FitCommand::registerWith(CLI::App& app) {
  command_ = app.add_subcommand("fit", "Fit the MOLLI series in DICOM files and folders; write T1 map series");
  command_->add_option("inputs", inputs_, "DICOM files or folders (searched recursively)")->required();
  command_->add_option("--out", out_, "Output folder for the map series")->required();
  command_->add_option("--config", config_, "YAML configuration (its fit: section)")->check(CLI::ExistingFile);
  command_->add_option("--device", device_, "auto, cpu, cuda or cuda:N");
  command_->add_option("--pattern", pattern_, "Series description/protocol pattern for T1 inputs");
  command_->add_option("--min-ti", minInversionTimes_, "Distinct inversion times a slice needs")
      ->check(CLI::Range(3, 100));
  command_->add_flag("--trigger-time", triggerTime_, "Take TriggerTime as inversion time when nothing else has it");
  command_->add_flag("--no-ecv", noEcv_, "Do not pair native and post-contrast series into ECV maps");
  command_->add_option("--hematocrit", hematocrit_,
                       "Measured hematocrit (0.1-0.7) for the ECV maps; without it the synthetic one (1.5 T) is used");
  command_->add_flag("--no-moco", noMoco_, "Fit without motion correction (fit.motion_correction.enabled: false), for comparison");
}

int FitCommand::run() const {
  mapping::FitOptions options = config_.empty() ? mapping::FitOptions{} : config::FitConfig::fromFile(config_);
  if (command_->count("--device")) options.device = device_;
  if (noMoco_) options.motion.enabled = false;

  std::vector<std::string> files;
  for (const auto& input : inputs_) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(input, fs::directory_options::skip_permission_denied, ec)) {
        if (entry.is_regular_file(ec)) files.push_back(entry.path().string());
      }
    } else if (fs::is_regular_file(input, ec)) {
      files.push_back(input);
    } else {
      std::fprintf(stderr, "torcht1 fit: %s: no such file or folder\n", input.c_str());
      return 2;
    }
  }
  std::sort(files.begin(), files.end());

  const bool progress = ::isatty(STDERR_FILENO) && files.size() > 200;
  config::InputConfig::Input input = config_.empty() ? config::InputConfig::Input{} : config::InputConfig::fromFile(config_);
  if (command_->count("--pattern")) input.selection.descriptionPattern = pattern_;
  if (command_->count("--min-ti")) input.selection.minInversionTimes = minInversionTimes_;
  if (command_->count("--trigger-time")) input.triggerTimeFallback = triggerTime_;
  dicom::DicomInstanceReader reader(input.triggerTimeFallback);
  std::vector<dicom::DicomInstance> instances;
  size_t skipped = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (progress && i % 50 == 0) std::fprintf(stderr, "\rreading %zu/%zu files", i, files.size());
    try {
      for (auto& frame : reader.read(files[i])) instances.push_back(std::move(frame));
    } catch (const dicom::DicomError& e) {
      ++skipped;
      std::fprintf(stderr, "%storcht1 fit: skipped %s\n", progress ? "\r" : "", e.what());
    }
  }
  if (progress) std::fprintf(stderr, "\rreading %zu/%zu files\n", files.size(), files.size());

  const auto assembled = dicom::SeriesAssembler(input.selection).assemble(instances);
  for (const auto& r : assembled.rejected) {
    std::printf("series %s (%s): not fitted: %s\n", r.seriesInstanceUid.c_str(), r.description.c_str(), r.reason.c_str());
  }
  if (assembled.series.empty()) {
    std::fprintf(stderr, "torcht1 fit: no MOLLI series among %zu files (%zu unreadable)\n", files.size(), skipped);
    return 1;
  }

  const config::OutputConfig::Output output =
      config_.empty() ? config::OutputConfig::Output{} : config::OutputConfig::fromFile(config_);
  const node::SeriesMapper mapper(options, output, TORCHT1_VERSION);
  if (command_->count("--hematocrit")) {
    if (const std::string why = mapping::Hematocrit::refusal(hematocrit_); !why.empty()) {
      std::fprintf(stderr, "torcht1 fit: --hematocrit: %s\n", why.c_str());
      return 2;
    }
  }
  std::vector<node::FittedT1Series> fitted;
  fitted.reserve(assembled.series.size());
  int failed = 0;
  for (const auto& series : assembled.series) {
    if (const auto identified = mapper.identify(series); identified.scheme == nullptr) {
      ++failed;
      std::printf("series %s (%s): not fitted: refused: %s\n", series.seriesInstanceUid.c_str(),
                  series.description.c_str(), identified.reason.c_str());
      continue;
    }
    try {
      const node::PreparedSeries prepared = mapper.prepare(series);
      const node::MappedSeries mapped = mapper.fit(prepared);
      for (const auto& slice : mapped.slices) {
        std::printf("%s\n", node::SeriesMapper::describe(series, slice, mapped.device).c_str());
      }
      if (const std::string moco = mapped.motionSummary(); !moco.empty()) {
        std::printf("series %s (%s): %s\n", series.seriesInstanceUid.c_str(), series.description.c_str(), moco.c_str());
      }
      if (const std::string notes = node::SeriesMapper::notInherited(series); !notes.empty()) {
        std::printf("series %s (%s): not inherited by the maps: %s\n", series.seriesInstanceUid.c_str(),
                    series.description.c_str(), notes.c_str());
      }
      fitted.push_back({prepared.series, mapped.t1});
      for (const auto& map : mapper.write(prepared, mapped, out_)) {
        std::printf("series %s (%s): wrote %zu %s images to %s\n", series.seriesInstanceUid.c_str(),
                    series.description.c_str(), map.files.size(), map.description.c_str(),
                    fs::path(map.files.front()).parent_path().c_str());
      }
    } catch (const std::exception& e) {
      ++failed;
      std::fprintf(stderr, "torcht1 fit: series %s (%s): failed: %s\n", series.seriesInstanceUid.c_str(),
                   series.description.c_str(), e.what());
    }
  }
  const mapping::EcvOptions ecv = config_.empty() ? mapping::EcvOptions{} : config::EcvConfig::fromFile(config_);
  if (!noEcv_ && ecv.enabled) failed += writeEcv(fitted, ecv);
  return failed > 0 ? 1 : 0;
}

int FitCommand::writeEcv(const std::vector<node::FittedT1Series>& fitted, const mapping::EcvOptions& options) const {
  std::vector<const node::FittedT1Series*> all;
  for (const auto& f : fitted) all.push_back(&f);
  int failed = 0;
  std::optional<double> hct;
  if (command_->count("--hematocrit")) hct = hematocrit_;
  const node::EcvPairer pairer(options, "cpu");
  for (const auto& post : fitted) {
    if (!post.series.postContrast) continue;
    const char* uid = post.series.seriesInstanceUid.c_str();
    const char* desc = post.series.description.c_str();
    const node::EcvPairing pairing = pairer.pair(post, all);
    if (pairing.native == nullptr) {
      std::printf("series %s (%s): no ECV: %s\n", uid, desc, pairing.reason.c_str());
      continue;
    }
    if (!pairing.note.empty()) std::printf("series %s (%s): ECV %s\n", uid, desc, pairing.note.c_str());
    try {
      const node::EcvOutcome outcome = pairer.make(pairing, hct);
      for (const auto& line : outcome.lines) std::printf("series %s (%s): %s\n", uid, desc, line.c_str());
      if (outcome.made == 0) continue;
      for (const auto& written : node::EcvWriter(options.maps, TORCHT1_VERSION).write(outcome, out_)) {
        std::printf("series %s (%s): wrote %zu %s images (%s, with native series %s) to %s\n", uid, desc,
                    written.files.size(), written.description.c_str(), written.kind.c_str(),
                    pairing.native->series.seriesInstanceUid.c_str(), fs::path(written.files.front()).parent_path().c_str());
      }
    } catch (const std::exception& e) {
      ++failed;
      std::fprintf(stderr, "torcht1 fit: series %s (%s): ECV failed: %s\n", uid, desc, e.what());
    }
  }
  return failed;
}

}  // namespace torcht1::server
