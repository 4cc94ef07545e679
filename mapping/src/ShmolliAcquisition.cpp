#include "torcht1/mapping/ShmolliAcquisition.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

#include "torcht1/mapping/FitError.h"

namespace torcht1::mapping {

namespace {

bool saysShmolli(const SchemeEvidence& evidence) {
  static const std::regex pattern("shmolli", std::regex::icase);
  return std::regex_search(evidence.description.substr(0, 256), pattern) ||
         std::regex_search(evidence.protocolName.substr(0, 256), pattern);
}

std::string listMs(const std::vector<double>& times) {
  std::ostringstream out;
  for (size_t i = 0; i < times.size(); ++i) out << (i ? ", " : "") << std::lround(times[i]);
  return out.str() + " ms";
}

/// `input` with only the samples `keep` (sorted indices) of every slice, fitting the voxels
/// of `foreground` with the noise levels `sigma`.
FitInput subset(const FitInput& input, const std::vector<int64_t>& keep, const std::vector<uint8_t>& foreground,
                const std::vector<double>& sigma) {
  FitInput out;
  out.slices = input.slices;
  out.samples = static_cast<int64_t>(keep.size());
  out.rows = input.rows;
  out.cols = input.cols;
  const int64_t voxels = input.voxelsPerSlice();
  out.pixels.reserve(static_cast<size_t>(out.slices * out.samples * voxels));
  for (int64_t s = 0; s < input.slices; ++s) {
    for (int64_t k : keep) {
      const auto first = input.pixels.begin() + (s * input.samples + k) * voxels;
      out.pixels.insert(out.pixels.end(), first, first + voxels);
      out.times.push_back(input.times[static_cast<size_t>(s * input.samples + k)]);
    }
  }
  out.foreground = foreground;
  out.noiseSigma = sigma;
  return out;
}

/// Converged in the sense of the published method (there: A > 1): here, physical parameters
/// and a T1 inside the valid range. A 5-sample fit of a very short T1 is degenerate (one
/// sample on the recovery, the rest flat) and can end at any T1 up to 1e5 ms; counted as
/// converged, that T1 would block the later inversions that resolve it.
bool converged(VoxelStatus status) { return status == VoxelStatus::Valid || status == VoxelStatus::Unreliable; }

}  // namespace

const std::vector<int64_t>& ShmolliAcquisition::fiveSamples() {
  static const std::vector<int64_t> indices = {0, 3, 4, 5, 6};
  return indices;
}

const std::vector<int64_t>& ShmolliAcquisition::sixSamples() {
  static const std::vector<int64_t> indices = {0, 1, 3, 4, 5, 6};
  return indices;
}

std::string ShmolliAcquisition::timingProblem(const std::vector<double>& t) {
  if (t.size() != 7) return std::to_string(t.size()) + " images (ShMOLLI 5(1)1(1)1 has 7)";
  for (size_t i = 1; i < 3; ++i) {
    const double step = t[i] - t[i - 1];
    if (step < 40 || step > 200) {
      return "the three first inversion times " + listMs({t[0], t[1], t[2]}) +
             " are not three inversions' first images (40-200 ms apart)";
    }
  }
  if (t[3] - t[2] <= 300) return "the fourth inversion time " + listMs({t[3]}) + " is not a heartbeat after the first";
  const double beats[4] = {t[3] - t[0], t[4] - t[3], t[5] - t[4], t[6] - t[5]};
  const double rr = (t[6] - t[0]) / 4;
  if (rr < 250 || rr > 2000) return "the heartbeat from the inversion times, " + listMs({rr}) + ", is outside 250-2000 ms";
  for (double beat : beats) {
    if (std::abs(beat - rr) > 0.3 * rr) {
      return "the first inversion's images " + listMs({t[0], t[3], t[4], t[5], t[6]}) + " are not one heartbeat apart";
    }
  }
  return "";
}

bool ShmolliAcquisition::recognises(const SchemeEvidence& evidence) const {
  if (saysShmolli(evidence)) return true;
  for (const auto& slice : evidence.inversionTimes) {
    if (timingProblem(slice).empty()) return true;
  }
  return false;
}

std::string ShmolliAcquisition::refusal(const SchemeEvidence& evidence) const {
  for (size_t s = 0; s < evidence.inversionTimes.size(); ++s) {
    if (const std::string problem = timingProblem(evidence.inversionTimes[s]); !problem.empty()) {
      return std::string(saysShmolli(evidence) ? "ShMOLLI by its description" : "ShMOLLI timing in some slices") +
             ", but slice " + std::to_string(s + 1) + " has " + problem + " (TIs " + listMs(evidence.inversionTimes[s]) +
             "); not fitted with another model";
    }
  }
  return "";
}

FitResult ShmolliAcquisition::fit(const MapFitter& fitter, const FitInput& input) const {
  if (input.samples != 7) {
    throw FitError("ShMOLLI needs 7 samples per slice, got " + std::to_string(input.samples));
  }
  if (fitter.options().model != "molli") {
    throw FitError("ShMOLLI is fitted with the MOLLI model, not '" + fitter.options().model + "'");
  }
  // All seven first: its background mask and noise levels are every subset's.
  FitResult seven = fitter.fit(input);
  const int64_t total = seven.slices * seven.rows * seven.cols, voxels = seven.rows * seven.cols;
  std::vector<uint8_t> foreground(static_cast<size_t>(total));
  for (int64_t v = 0; v < total; ++v) foreground[v] = seven.status[v] != VoxelStatus::Background;
  std::vector<double> sigma;
  for (const auto& stats : seven.sliceStats) sigma.push_back(stats.noiseSigma);
  const FitResult five = fitter.fit(subset(input, fiveSamples(), foreground, sigma));
  const FitResult six = fitter.fit(subset(input, sixSamples(), foreground, sigma));

  const FitResult* fits[3] = {&five, &six, &seven};
  struct Maps {
    const float *a, *b, *t1star, *rss;
  };
  Maps of[3];
  for (int n = 0; n < 3; ++n) {
    of[n] = {fits[n]->map("A").data(), fits[n]->map("B").data(), fits[n]->map("T1star").data(), fits[n]->map("RSS").data()};
  }
  FitResult result = seven;
  result.fitSeconds = five.fitSeconds + six.fitSeconds + seven.fitSeconds;
  result.iterations = std::max({five.iterations, six.iterations, seven.iterations});
  std::vector<float>& samplesUsed = result.maps["SAMPLES"];
  samplesUsed.assign(static_cast<size_t>(total), 0.0f);
  for (auto& stats : result.sliceStats) stats.validVoxels = 0;

  for (int64_t v = 0; v < total; ++v) {
    if (!foreground[v]) continue;
    const int64_t s = v / voxels;
    const double rr = (static_cast<double>(input.times[s * 7 + 6]) - input.times[s * 7]) / 4;
    bool ok[3];
    double t1[3], chi[3];
    // A floor under chi at float precision of the signal, so that exact (noise-free) data
    // meet the rules in their limit (chi_6 = chi_5: 6 samples when T1_6 < RR) instead of
    // comparing rounding errors.
    const double floor = 1e-4 * std::abs(static_cast<double>(of[2].b[v]));
    for (int n = 0; n < 3; ++n) {
      ok[n] = converged(fits[n]->status[v]);
      t1[n] = static_cast<double>(of[n].t1star[v]) * (static_cast<double>(of[n].b[v]) / of[n].a[v] - 1);
      chi[n] = std::sqrt(static_cast<double>(of[n].rss[v]) / (n + 4)) + floor;  // n + 5 samples, minus 1
    }
    int used = 0;
    double t1Chosen = 0, chiChosen = chi[0];
    if (ok[0]) {
      used = 5;
      t1Chosen = t1[0];
    }
    if (t1Chosen <= rr || !ok[1] || t1[1] <= 0.4 * rr) {
      // A fit 5 that did not converge is no yardstick (the published code compares with its
      // RSS then, "legacy"): fit 6 is taken when it converged.
      if (ok[1] && (!ok[0] || chi[1] * t1[1] < chiChosen * rr)) {
        used = 6;
        t1Chosen = t1[1];
      }
      if (ok[2] && chi[2] * t1[2] < chi[1] * rr * 0.4 && t1Chosen < rr) used = 7;
    }
    // Our addition: where neither the 5- nor the 6-sample fit converged (a short T1 at a
    // fast heart rate leaves one or two samples on the first recovery) the published rules
    // give nothing; the 7-sample fit, if it converged, is then the only description.
    if (used == 0 && !ok[0] && !ok[1] && ok[2]) used = 7;
    samplesUsed[v] = static_cast<float>(used);
    if (used == 0) {
      if (result.status[v] == VoxelStatus::Valid) result.status[v] = VoxelStatus::NonPhysical;
      for (auto& [name, map] : result.maps) {
        if (name != "SAMPLES") map[v] = 0;
      }
      continue;
    }
    const FitResult& chosen = *fits[used - 5];
    result.status[v] = chosen.status[v];
    for (auto& [name, map] : result.maps) {
      if (name != "SAMPLES") map[v] = chosen.maps.at(name)[v];
    }
    if (result.status[v] == VoxelStatus::Valid) ++result.sliceStats[s].validVoxels;
  }
  return result;
}

std::vector<AcquisitionScheme::Reinversion> ShmolliAcquisition::reinversions(const std::vector<double>& t) const {
  if (t.size() != 7) return {};
  const double rr = (t[6] - t[0]) / 4;
  return {{1, 6, std::max(0.0, 2 * rr - t[1])}, {2, 1, std::max(0.0, 2 * rr - t[2])}};
}

uint64_t ShmolliAcquisition::fittedSamples(const FitResult& fit, int64_t v, int64_t samples) const {
  if (samples != 7) return AcquisitionScheme::fittedSamples(fit, v, samples);
  const auto used = fit.maps.find("SAMPLES");
  const int n = used == fit.maps.end() ? 7 : static_cast<int>(used->second[static_cast<size_t>(v)]);
  if (n == 7) return 0x7f;
  if (n != 5 && n != 6) return 0;  // none converged
  uint64_t bits = 0;
  for (int64_t i : n == 5 ? fiveSamples() : sixSamples()) bits |= uint64_t{1} << i;
  return bits;
}

std::string ShmolliAcquisition::method() const {
  return "ShMOLLI conditional fit (Piechnik et al. 2010): 5, 6 or 7 samples per voxel, each a 3-parameter fit "
         "|A - B exp(-t/T1*)|, T1 = T1*(B/A - 1)";
}

}  // namespace torcht1::mapping
