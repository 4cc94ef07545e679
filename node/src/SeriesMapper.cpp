#include "torcht1/node/SeriesMapper.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "torcht1/dicom/ColourMapWriter.h"
#include "torcht1/dicom/ParametricMapWriter.h"
#include "torcht1/dicom/PixelLoader.h"
#include "torcht1/mapping/FitError.h"

namespace torcht1::node {

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

/// Every map the configuration asks for that the series' scheme gives (SAMPLES only comes
/// with ShMOLLI); windows as seen in the field (native T1 1300/1300, post-contrast 400/300,
/// SD 200/400).
std::vector<dicom::MapSeries> mapSeriesFor(const dicom::MolliSeries& series, const mapping::AcquisitionScheme& scheme,
                                           const config::OutputConfig::Output& output) {
  std::vector<dicom::MapSeries> maps;
  const auto extra = scheme.extraMaps();
  for (size_t m = 0; m < output.maps.size(); ++m) {
    const std::string& kind = output.maps[m];
    const int offset = output.seriesNumberOffset + static_cast<int>(m);
    dicom::MapSeries map;
    if (kind == "T1" || kind == "T1_COLOUR") {
      map = {kind, "T1 map", "DERIVED\\PRIMARY\\T1 MAP", "ms", offset,
             series.postContrast ? 400.0 : 1300.0, series.postContrast ? 300.0 : 1300.0, 1, 1, {}};
    } else if (kind == "T1_PARAMETRIC") {
      // Parametric Map: values 3 and 4 are an image flavour and a derived pixel contrast
      // from the enhanced MR terms (the MR image's "T1 MAP" is not one of them).
      map = {kind, "T1 map (float)", "DERIVED\\PRIMARY\\CARDIAC\\T1_MAP", "ms", offset,
             series.postContrast ? 400.0 : 1300.0, series.postContrast ? 300.0 : 1300.0, 1, 1, {}};
    } else if (kind == "T1_SD") {
      map = {kind, "T1 SD map", "DERIVED\\PRIMARY\\T1 MAP\\UNCERTAINTY", "ms", offset, 200, 400, 1, 1, {}};
    } else if (kind == "R2") {
      map = {kind, "R2 map (x1000)", "DERIVED\\PRIMARY\\OTHER\\R2", "R2 x1000", offset, 500, 1000, 1000, 1, {}};
    } else if (kind == "T1star") {
      map = {kind, "T1* map", "DERIVED\\PRIMARY\\T1 MAP\\T1STAR", "ms", offset, 900, 1200, 1, 1, {}};
    } else if (kind == "MOCO") {
      // The registered images themselves (one instance per source image; window set from
      // the pixels when they are known), only where motion correction ran.
      map = {kind, "MOCO images", "DERIVED\\PRIMARY\\OTHER\\MOCO", "signal", offset, 500, 1000, 1, 1, {}};
    } else if (kind == "SAMPLES") {
      if (std::find(extra.begin(), extra.end(), kind) == extra.end()) continue;
      map = {kind, "samples used", "DERIVED\\PRIMARY\\OTHER\\SAMPLES", "samples", offset, 6, 4, 1, 1, {}};
    } else {
      map = {kind, kind + " map", "DERIVED\\PRIMARY\\OTHER\\" + kind, "signal", offset, 1000, 2000, 1, 1, {}};
    }
    map.slices.resize(series.slices.size());
    maps.push_back(std::move(map));
  }
  return maps;
}

/// What the series shows of its acquisition, for the scheme catalogue.
mapping::SchemeEvidence evidenceOf(const dicom::MolliSeries& series) {
  mapping::SchemeEvidence evidence;
  evidence.description = series.description;
  if (!series.slices.empty() && !series.slices.front().images.empty()) {
    evidence.protocolName = series.slices.front().images.front().protocolName;
  }
  for (const auto& slice : series.slices) evidence.inversionTimes.push_back(slice.inversionTimes());
  return evidence;
}

}  // namespace

SeriesMapper::SeriesMapper(mapping::FitOptions fit, config::OutputConfig::Output output, std::string programVersion)
    : fitter_(fit), motion_(fit.motion), schemes_(fit), output_(std::move(output)), programVersion_(std::move(programVersion)) {}

std::string MappedSeries::motionSummary() const {
  if (maxDisplacementMm < 0) return "";
  char line[160];
  if (motionCorrectedSlices > 0) {
    std::snprintf(line, sizeof line, "MOCO, largest displacement %.1f mm, %d of %zu slices corrected", maxDisplacementMm,
                  motionCorrectedSlices, slices.size());
  } else {
    std::snprintf(line, sizeof line, "no MOCO applied (largest displacement found %.1f mm)", maxDisplacementMm);
  }
  return line;
}

mapping::SchemeCatalog::Identification SeriesMapper::identify(const dicom::MolliSeries& series) const {
  return schemes_.identify(evidenceOf(series));
}

double SeriesMapper::warmUp() const {
  mapping::FitInput input;
  input.slices = 2;
  input.samples = 8;
  input.rows = input.cols = 64;
  const float times[8] = {100, 180, 260, 1100, 1180, 2100, 3100, 4100};
  for (int64_t s = 0; s < input.slices; ++s) {
    for (int64_t k = 0; k < input.samples; ++k) {
      input.times.push_back(times[k] + 5.0f * static_cast<float>(s));
      for (int64_t v = 0; v < input.rows * input.cols; ++v) {
        const float t1star = 300.0f + 2.0f * static_cast<float>(v % 500);
        input.pixels.push_back(std::fabs(500.0f - 900.0f * std::exp(-input.times.back() / t1star)) +
                               static_cast<float>((v * 7919 + k * 104729) % 13));
      }
    }
  }
  return fitter_.fit(input).fitSeconds;
}

PreparedSeries SeriesMapper::prepare(const dicom::MolliSeries& series) const {
  PreparedSeries prepared;
  prepared.series = series;
  const auto identified = identify(series);
  if (identified.scheme == nullptr) throw mapping::FitError(identified.reason);
  prepared.scheme = identified.scheme;
  std::map<size_t, std::vector<size_t>> bySampleCount;
  for (size_t s = 0; s < series.slices.size(); ++s) bySampleCount[series.slices[s].images.size()].push_back(s);
  const dicom::PixelLoader loader;
  for (const auto& [samples, sliceIndex] : bySampleCount) {
    PreparedSeries::Group group;
    group.slices = sliceIndex;
    mapping::FitInput& input = group.input;
    input.slices = static_cast<int64_t>(sliceIndex.size());
    input.samples = static_cast<int64_t>(samples);
    input.rows = series.rows;
    input.cols = series.cols;
    input.pixels.reserve(static_cast<size_t>(input.slices * input.samples * input.rows * input.cols));
    for (size_t s : sliceIndex) {
      for (const auto& image : series.slices[s].images) {
        const auto pixels = loader.load(image);
        input.pixels.insert(input.pixels.end(), pixels.begin(), pixels.end());
        input.times.push_back(static_cast<float>(*image.inversionTime));
      }
    }
    prepared.groups.push_back(std::move(group));
  }
  return prepared;
}

MappedSeries SeriesMapper::fit(const PreparedSeries& prepared) const {
  const dicom::MolliSeries& series = prepared.series;
  MappedSeries mapped;
  const mapping::AcquisitionScheme& scheme = *prepared.scheme;
  mapped.maps = mapSeriesFor(series, scheme, output_);
  mapped.device = fitter_.device();
  const int64_t voxels = static_cast<int64_t>(series.rows) * series.cols;
  // Motion correction in front of the fit, for the MOLLI model (the synthetic images of the
  // registration come from it), on the fitter's device; its judging fit is the scheme's fit.
  const std::string refusal = scheme.motionRefusal();
  const bool moco = fitter_.options().motion.enabled && fitter_.options().model == "molli" && refusal.empty();
  for (const auto& group : prepared.groups) {
    mapping::MotionCorrection motion;
    mapping::FitResult result;
    if (moco) {
      const auto& spacing = series.slices[group.slices.front()].images.front().spacing;
      motion = motion_.correct(scheme, fitter_, group.input, spacing[0] > 0 ? spacing[0] : 1.0, spacing[1] > 0 ? spacing[1] : 1.0);
      mapped.fitSeconds += motion.seconds;
      result = motion.fit;
    } else {
      result = scheme.fit(fitter_, group.input);
      mapped.fitSeconds += result.fitSeconds;
    }
    for (size_t k = 0; k < group.slices.size(); ++k) {
      const size_t s = group.slices[k];
      const int64_t offset = static_cast<int64_t>(k) * voxels;
      for (auto& map : mapped.maps) {
        if (map.kind == "MOCO") {
          // The images the fit saw: registered where the slice was corrected.
          const auto& pixels = moco ? motion.input.pixels : group.input.pixels;
          const int64_t samples = group.input.samples;
          auto& images = map.slices[s].images;
          images.clear();
          for (int64_t i = 0; i < samples; ++i) {
            const auto first = pixels.begin() + (static_cast<int64_t>(k) * samples + i) * voxels;
            images.emplace_back(first, first + voxels);
          }
          continue;
        }
        const bool t1 = map.kind == "T1_COLOUR" || map.kind == "T1_PARAMETRIC";  // other forms of the T1 map
        const auto& values = result.map(t1 ? "T1" : map.kind);
        map.slices[s].values.assign(values.begin() + offset, values.begin() + offset + voxels);
      }
      if (mapped.t1.size() < series.slices.size()) mapped.t1.resize(series.slices.size());
      mapped.t1[s].assign(result.primary().begin() + offset, result.primary().begin() + offset + voxels);
      const auto& stats = result.sliceStats[k];
      const auto times = series.slices[s].inversionTimes();
      SliceSummary summary;
      summary.slice = s;
      summary.t1MedianMs = centralMedian(result.primary(), series.rows, series.cols, offset);
      summary.fittedVoxels = static_cast<long long>(stats.fittedVoxels);
      summary.validPercent = stats.fittedVoxels ? 100.0 * static_cast<double>(stats.validVoxels) /
                                                      static_cast<double>(stats.fittedVoxels)
                                                : 0.0;
      summary.inversionTimes = times.size();
      summary.firstTiMs = times.front();
      summary.lastTiMs = times.back();
      summary.fitMs = 1e3 * result.fitSeconds / static_cast<double>(group.slices.size());
      summary.invalidPercent = stats.invalidPercent();
      summary.noiseSigma = stats.noiseSigma;
      summary.noiseSource = stats.noiseSource;
      summary.scheme = scheme.name();
      if (fitter_.options().motion.enabled && !moco) summary.motionReason = refusal.empty() ? "not the MOLLI model" : refusal;
      if (moco) {
        const auto& m = motion.slices[k];
        summary.motionRun = true;
        summary.motionCorrected = m.corrected;
        summary.motionReason = m.reason;
        summary.maxDisplacementMm = m.maxDisplacementMm;
        summary.minJacobian = m.minJacobian;
        summary.motionMs = 1e3 * motion.seconds / static_cast<double>(group.slices.size());
        mapped.motionCorrectedSlices += m.corrected ? 1 : 0;
        mapped.maxDisplacementMm = std::max(mapped.maxDisplacementMm, m.maxDisplacementMm);
      }
      mapped.slices.push_back(summary);
    }
  }
  std::sort(mapped.slices.begin(), mapped.slices.end(),
            [](const SliceSummary& a, const SliceSummary& b) { return a.slice < b.slice; });
  // Maps made from registered images say so in their ImageType (the Parametric Map's four
  // values are fixed by its IOD; its DerivationDescription says it).
  if (mapped.motionCorrectedSlices > 0) {
    for (auto& map : mapped.maps) {
      if (map.kind != "T1_PARAMETRIC" && map.kind != "MOCO") map.imageType += "\\MOCO";
    }
  }
  // The MOCO images only where some slice was registered (otherwise they would be the
  // source again); their window from their pixels (0 to the 99.5th percentile).
  mapped.maps.erase(std::remove_if(mapped.maps.begin(), mapped.maps.end(),
                                   [&](const dicom::MapSeries& m) { return m.kind == "MOCO" && mapped.motionCorrectedSlices == 0; }),
                    mapped.maps.end());
  for (auto& map : mapped.maps) {
    if (map.kind != "MOCO") continue;
    std::vector<float> all;
    for (const auto& slice : map.slices) {
      for (const auto& image : slice.images) all.insert(all.end(), image.begin(), image.end());
    }
    if (all.empty()) continue;
    const auto top = all.begin() + static_cast<std::ptrdiff_t>(0.995 * static_cast<double>(all.size() - 1));
    std::nth_element(all.begin(), top, all.end());
    map.windowWidth = std::max(1.0, static_cast<double>(*top));
    map.windowCenter = 0.5 * map.windowWidth;
  }
  return mapped;
}

std::vector<WrittenMap> SeriesMapper::write(const PreparedSeries& prepared, const MappedSeries& mapped,
                                            const std::string& dir, int version) const {
  std::string method =
      prepared.scheme->method() + ", " + mapping::toString(fitter_.options().solver) + " on " + mapped.device;
  if (mapped.motionCorrectedSlices > 0) {
    char moco[160];
    std::snprintf(moco, sizeof moco, "; MOCO: model-based registration (affine + demons), %d of %zu slices, max %.1f mm",
                  mapped.motionCorrectedSlices, mapped.slices.size(), mapped.maxDisplacementMm);
    method += moco;
  }
  const dicom::DerivedSeriesWriter writer(programVersion_, method);
  const dicom::ColourMapWriter colourWriter(programVersion_);
  const dicom::ParametricMapWriter parametricWriter(programVersion_, method);
  std::vector<WrittenMap> written;
  for (dicom::MapSeries map : mapped.maps) {
    map.version = version;
    if (version > 1) map.description += " (v" + std::to_string(version) + ")";
    WrittenMap out;
    out.kind = map.kind;
    out.description = map.description;
    if (map.kind == "T1_COLOUR") {
      out.files = colourWriter.write(prepared.series, map, dir);
    } else if (map.kind == "T1_PARAMETRIC") {
      out.files = parametricWriter.write(prepared.series, map, dir);
    } else {
      out.files = writer.write(prepared.series, map, dir);
    }
    out.seriesInstanceUid = out.files.empty() ? "" : std::filesystem::path(out.files.front()).parent_path().filename().string();
    written.push_back(std::move(out));
  }
  return written;
}

std::string SeriesMapper::notInherited(const dicom::MolliSeries& series) {
  std::string joined;
  try {
    for (const auto& note : dicom::DerivedSeriesWriter::notInherited(series)) joined += (joined.empty() ? "" : "; ") + note;
  } catch (const std::exception& e) {
    return std::string("source not readable again: ") + e.what();  // the writers will say so too
  }
  return joined;
}

std::string SeriesMapper::describe(const dicom::MolliSeries& series, const SliceSummary& s, const std::string& device) {
  char motion[400] = ", no MOCO";
  if (!s.motionRun && !s.motionReason.empty()) {
    std::snprintf(motion, sizeof motion, ", no MOCO: %s", s.motionReason.c_str());
  } else if (s.motionRun && s.motionCorrected) {
    std::snprintf(motion, sizeof motion, ", MOCO max displacement %.1f mm (min Jacobian %.2f, %.0f ms)",
                  s.maxDisplacementMm, s.minJacobian, s.motionMs);
  } else if (s.motionRun) {
    std::snprintf(motion, sizeof motion, ", MOCO not applied: %s (max displacement found %.1f mm)",
                  s.motionReason.c_str(), s.maxDisplacementMm);
  }
  char line[1100];
  std::snprintf(line, sizeof line,
                "%s slice %zu: T1 %.0f ms (median, central region), %s, %lld voxels fitted, %.1f%% valid, "
                "%.1f%% fitted but invalid, noise sigma %.3g (%s), %zu TIs %.0f..%.0f ms, fit %.1f ms on %s%s",
                series.description.c_str(), s.slice + 1, s.t1MedianMs, s.scheme.c_str(), s.fittedVoxels, s.validPercent,
                s.invalidPercent, s.noiseSigma, s.noiseSource.c_str(), s.inversionTimes, s.firstTiMs, s.lastTiMs,
                s.fitMs, device.c_str(), motion);
  return line;
}

}  // namespace torcht1::node
