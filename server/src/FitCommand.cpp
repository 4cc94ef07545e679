#include "FitCommand.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "torcht1/config/FitConfig.h"
#include "torcht1/config/InputConfig.h"
#include "torcht1/config/OutputConfig.h"
#include "torcht1/dicom/ColourMapWriter.h"
#include "torcht1/dicom/DerivedSeriesWriter.h"
#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/PixelLoader.h"
#include "torcht1/dicom/SeriesAssembler.h"
#include "torcht1/mapping/MapFitter.h"

namespace fs = std::filesystem;

namespace torcht1::server {

namespace {

/// Median of the valid values in the central half (each direction) of the image.
double centralMedian(const std::vector<float>& map, int64_t rows, int64_t cols, int64_t offset) {
  std::vector<float> values;
  for (int64_t r = rows / 4; r < rows - rows / 4; ++r) {
    for (int64_t c = cols / 4; c < cols - cols / 4; ++c) {
      const float v = map[offset + r * cols + c];
      if (v > 0) values.push_back(v);
    }
  }
  if (values.empty()) return 0;
  std::nth_element(values.begin(), values.begin() + static_cast<long>(values.size() / 2), values.end());
  return values[values.size() / 2];
}

}  // namespace

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
}

int FitCommand::run() const {
  mapping::FitOptions options = config_.empty() ? mapping::FitOptions{} : config::FitConfig::fromFile(config_);
  if (command_->count("--device")) options.device = device_;
  mapping::MapFitter fitter(options);

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

  const dicom::PixelLoader loader;
  const dicom::DerivedSeriesWriter writer(
      TORCHT1_VERSION, "MOLLI 3-parameter fit |A - B exp(-t/T1*)|, T1 = T1*(B/A - 1), " +
                           mapping::toString(options.solver) + " on " + fitter.device());
  const dicom::ColourMapWriter colourWriter(TORCHT1_VERSION);
  const config::OutputConfig::Output output =
      config_.empty() ? config::OutputConfig::Output{} : config::OutputConfig::fromFile(config_);
  int failed = 0;
  for (const auto& series : assembled.series) {
    try {
      const int64_t voxels = static_cast<int64_t>(series.rows) * series.cols;
      // Every map the configuration asks for; windows as seen in the field (native T1
      // 1300/1300, post-contrast 400/300, SD 200/400).
      std::vector<dicom::MapSeries> maps;
      for (size_t m = 0; m < output.maps.size(); ++m) {
        const std::string& kind = output.maps[m];
        dicom::MapSeries map;
        map.kind = kind;
        map.seriesNumberOffset = output.seriesNumberOffset + static_cast<int>(m);
        if (kind == "T1" || kind == "T1_COLOUR") {
          map = {kind, "T1 map", "DERIVED\\PRIMARY\\T1 MAP", "ms", map.seriesNumberOffset,
                 series.postContrast ? 400.0 : 1300.0, series.postContrast ? 300.0 : 1300.0, 1, {}};
        } else if (kind == "T1_SD") {
          map = {kind, "T1 SD map", "DERIVED\\PRIMARY\\T1 MAP\\UNCERTAINTY", "ms", map.seriesNumberOffset, 200, 400, 1, {}};
        } else if (kind == "R2") {
          map = {kind, "R2 map (x1000)", "DERIVED\\PRIMARY\\OTHER\\R2", "R2 x1000", map.seriesNumberOffset, 500, 1000, 1000, {}};
        } else if (kind == "T1star") {
          map = {kind, "T1* map", "DERIVED\\PRIMARY\\T1 MAP\\T1STAR", "ms", map.seriesNumberOffset, 900, 1200, 1, {}};
        } else {
          map = {kind, kind + " map", "DERIVED\\PRIMARY\\OTHER\\" + kind, "signal", map.seriesNumberOffset, 1000, 2000, 1, {}};
        }
        map.slices.resize(series.slices.size());
        maps.push_back(std::move(map));
      }
      // Slices with the same number of images are fitted as one batch.
      std::map<size_t, std::vector<size_t>> bySampleCount;
      for (size_t s = 0; s < series.slices.size(); ++s) bySampleCount[series.slices[s].images.size()].push_back(s);
      for (const auto& [samples, sliceIndex] : bySampleCount) {
        mapping::FitInput input;
        input.slices = static_cast<int64_t>(sliceIndex.size());
        input.samples = static_cast<int64_t>(samples);
        input.rows = series.rows;
        input.cols = series.cols;
        for (size_t s : sliceIndex) {
          for (const auto& image : series.slices[s].images) {
            const auto pixels = loader.load(image);
            input.pixels.insert(input.pixels.end(), pixels.begin(), pixels.end());
            input.times.push_back(static_cast<float>(*image.inversionTime));
          }
        }
        const mapping::FitResult result = fitter.fit(input);
        for (size_t k = 0; k < sliceIndex.size(); ++k) {
          const size_t s = sliceIndex[k];
          const int64_t offset = static_cast<int64_t>(k) * voxels;
          for (auto& map : maps) {
            const auto& values = result.map(map.kind == "T1_COLOUR" ? "T1" : map.kind);
            map.slices[s].values.assign(values.begin() + offset, values.begin() + offset + voxels);
          }
          const auto& stats = result.sliceStats[k];
          const auto times = series.slices[s].inversionTimes();
          std::printf("%s slice %zu: T1 %.0f ms (median, central region), %.1f%% of %lld fitted voxels valid, "
                      "%zu TIs %.0f..%.0f ms, fit %.1f ms on %s\n",
                      series.description.c_str(), s + 1, centralMedian(result.primary(), series.rows, series.cols, offset),
                      stats.fittedVoxels ? 100.0 * static_cast<double>(stats.validVoxels) / static_cast<double>(stats.fittedVoxels) : 0.0,
                      static_cast<long long>(stats.fittedVoxels), times.size(), times.front(), times.back(),
                      1e3 * result.fitSeconds / static_cast<double>(sliceIndex.size()), result.device.c_str());
        }
      }
      for (const auto& map : maps) {
        const auto files = map.kind == "T1_COLOUR" ? colourWriter.write(series, map, out_) : writer.write(series, map, out_);
        std::printf("series %s (%s): wrote %zu %s images to %s\n", series.seriesInstanceUid.c_str(),
                    series.description.c_str(), files.size(), map.description.c_str(),
                    fs::path(files.front()).parent_path().c_str());
      }
    } catch (const std::exception& e) {
      ++failed;
      std::fprintf(stderr, "torcht1 fit: series %s (%s): failed: %s\n", series.seriesInstanceUid.c_str(),
                   series.description.c_str(), e.what());
    }
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace torcht1::server
