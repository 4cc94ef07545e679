// torcht1-bench: times the mapping engine on a MOLLI phantom and measures its accuracy
// against the truth and against the double-precision reference fit. Writes the phantom and
// every map into --out, where the Python peers (bench/peers) and bench/summarize.py pick
// them up.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ReferenceFit.h"
#include "torcht1/mapping/MapFitter.h"
#include "torcht1/phantom/PhantomGenerator.h"

namespace fs = std::filesystem;
using namespace torcht1;

namespace {

template <typename T>
void writeRaw(const fs::path& path, const std::vector<T>& values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

/// Raw T1 = T1* (B/A - 1) from the fitted parameters, also where the voxel was flagged, so
/// that the comparison with the reference covers every fitted voxel.
std::vector<float> rawT1(const mapping::FitResult& r) {
  const auto &a = r.map("A"), &b = r.map("B"), &ts = r.map("T1star");
  std::vector<float> t1(a.size(), std::nanf(""));
  for (size_t i = 0; i < a.size(); ++i) {
    if (r.status[i] != mapping::VoxelStatus::Background) t1[i] = ts[i] * (b[i] / a[i] - 1);
  }
  return t1;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

void writeResultJson(const fs::path& path, const std::string& method, const std::string& notes, double secondsPerSlice,
                     int iterations, int64_t voxelsFitted) {
  std::ofstream out(path);
  out << "{\"method\": \"" << method << "\", \"seconds_per_slice_extrapolated\": " << secondsPerSlice
      << ", \"iterations\": " << iterations << ", \"voxels_fitted\": " << voxelsFitted << ", \"notes\": \"" << notes
      << "\"}\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times the T1 fit on a MOLLI phantom and measures its accuracy", "torcht1-bench"};
  phantom::PhantomOptions po;
  std::string out = "bench-out";
  std::string device = "auto";
  int repeats = 9, threads = 0, gridPoints = -1, candidates = -1;
  double secondFactor = -1, stepTolerance = -1, costTolerance = -1;
  int64_t block = -1;
  bool withAdam = true, withReference = true, profile = false, doublePrecision = false;
  app.add_option("--out", out, "Output folder");
  app.add_option("--size", po.size, "Rows and columns");
  app.add_option("--slices", po.slices, "Slices");
  app.add_option("--snr", po.snr, "Myocardium signal / noise sigma");
  app.add_flag("--post", po.postContrast, "Post-contrast phantom (4(1)3(1)2)");
  app.add_option("--seed", po.seed, "Random seed");
  app.add_option("--device", device, "auto, cpu, cuda");
  app.add_option("--threads", threads, "CPU threads (0: one per core)");
  app.add_option("--repeats", repeats, "Timed runs of the default solver (the median is reported)");
  app.add_option("--grid-points", gridPoints, "Override the variable-projection grid size");
  app.add_option("--polarity-candidates", candidates, "Override the sign patterns tried (0: all)");
  app.add_option("--second-pattern-factor", secondFactor, "Override when the second sign pattern is refined");
  app.add_option("--step-tolerance", stepTolerance, "Override the LM step tolerance");
  app.add_option("--cost-tolerance", costTolerance, "Override the LM cost tolerance");
  app.add_option("--cpu-block", block, "Override the CPU block size (voxels)");
  app.add_flag("!--no-adam", withAdam, "Skip the C++ Adam solver");
  app.add_flag("--double", doublePrecision, "Fit in float64");
  app.add_flag("--profile", profile, "Time each stage of the fit (adds device waits)");
  app.add_flag("!--no-reference", withReference, "Skip the reference fit");
  CLI11_PARSE(app, argc, argv);

  const phantom::Phantom ph = phantom::PhantomGenerator(po).generate();
  const int64_t voxels = ph.voxelsPerSlice();
  fs::create_directories(out);
  const fs::path dir(out);

  // The phantom, for the Python peers.
  std::vector<uint8_t> tissue(ph.labels.size());
  for (size_t i = 0; i < tissue.size(); ++i) tissue[i] = ph.labels[i] != 0;
  writeRaw(dir / "signal.f32", ph.pixels);
  writeRaw(dir / "ti.f32", ph.times);
  writeRaw(dir / "tissue.u8", tissue);
  writeRaw(dir / "labels.u8", ph.labels);
  writeRaw(dir / "truth_t1.f32", ph.t1);
  {
    std::ofstream meta(dir / "meta.json");
    meta << "{\"slices\": " << ph.slices << ", \"samples\": " << ph.samples << ", \"rows\": " << ph.rows
         << ", \"cols\": " << ph.cols << ", \"scheme\": \"" << ph.scheme << "\", \"snr\": " << po.snr
         << ", \"post_contrast\": " << (po.postContrast ? "true" : "false") << ", \"noise_sigma\": " << ph.noiseSigma
         << "}\n";
  }

  mapping::FitOptions options;
  options.device = device;
  options.threads = threads;
  if (gridPoints > 0) options.lm.gridPoints = gridPoints;
  if (candidates >= 0) options.lm.polarityCandidates = candidates;
  options.profileStages = profile;
  options.doublePrecision = doublePrecision;
  if (stepTolerance > 0) options.lm.stepTolerance = stepTolerance;
  if (costTolerance >= 0) options.lm.costTolerance = costTolerance;
  if (secondFactor >= 0) options.lm.secondPatternFactor = secondFactor;
  if (block > 0) options.cpuBlockVoxels = block;
  mapping::MapFitter fitter(options);
  const mapping::FitInput input{ph.slices, ph.samples, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}};

  std::printf("phantom: %lld slices of %lldx%lld, MOLLI %s, SNR %.0f, %s; device %s\n",
              static_cast<long long>(ph.slices), static_cast<long long>(ph.rows), static_cast<long long>(ph.cols),
              ph.scheme.c_str(), po.snr, po.postContrast ? "post-contrast" : "native", fitter.device().c_str());

  // Default solver: one warm-up, then the median of the timed runs.
  mapping::FitResult result = fitter.fit(input);
  std::vector<double> seconds;
  for (int r = 0; r < repeats; ++r) {
    result = fitter.fit(input);
    seconds.push_back(result.fitSeconds);
    std::printf("  varpro-lm run %d: %.1f ms for %lld slices", r + 1, result.fitSeconds * 1e3,
                static_cast<long long>(ph.slices));
    for (const auto& [stage, s] : result.stageSeconds) std::printf(", %s %.1f ms", stage.c_str(), s * 1e3);
    std::printf("\n");
  }
  const double perSlice = median(seconds) / static_cast<double>(ph.slices);
  int64_t fitted = 0;
  for (auto s : result.status) fitted += s != mapping::VoxelStatus::Background;
  writeRaw(dir / "t1_varpro_lm.f32", rawT1(result));
  writeRaw(dir / "t1map_varpro_lm.f32", result.primary());
  writeRaw(dir / "rss_varpro_lm.f32", result.map("RSS"));
  writeResultJson(dir / "result_varpro_lm.json", "varpro_lm",
                  "TorchT1 node default: variable-projection grid over all sign patterns + batched LM (autograd "
                  "Jacobian), all slices in one batch, median of " + std::to_string(repeats) + " runs",
                  perSlice, result.iterations, fitted);

  if (withAdam) {
    // Our C++ port of the paper's method, on all fitted voxels of slice 0, to convergence.
    mapping::FitOptions adamOptions = options;
    adamOptions.solver = mapping::Solver::Adam;
    mapping::FitInput slice0{1, ph.samples, ph.rows, ph.cols,
                             std::vector<float>(ph.pixels.begin(), ph.pixels.begin() + ph.samples * voxels),
                             std::vector<float>(ph.times.begin(), ph.times.begin() + ph.samples), {}, {}};
    const auto adam = mapping::MapFitter(adamOptions).fit(slice0);
    std::vector<float> t1 = rawT1(adam);
    t1.resize(ph.t1.size(), std::nanf(""));
    writeRaw(dir / "t1_adam_cpp.f32", t1);
    writeResultJson(dir / "result_adam_cpp.json", "adam_cpp",
                    "TorchT1 node's Adam solver (paper method in C++), slice 0, all fitted voxels, run to convergence",
                    adam.fitSeconds, adam.iterations, adam.sliceStats[0].fittedVoxels);
    std::printf("  adam (C++): %.1f s for slice 0, %d iterations\n", adam.fitSeconds, adam.iterations);
  }

  if (withReference) {
    // The reference on every fitted voxel (it is too slow for the background).
    const auto started = std::chrono::steady_clock::now();
    std::vector<float> reference(ph.t1.size(), std::nanf("")), referenceRss(ph.t1.size(), std::nanf(""));
    for (int64_t s = 0; s < ph.slices; ++s) {
      std::vector<int64_t> index;
      for (int64_t v = 0; v < voxels; ++v) {
        if (result.status[s * voxels + v] != mapping::VoxelStatus::Background || ph.labels[s * voxels + v] != 0) {
          index.push_back(v);
        }
      }
      std::vector<float> y(ph.samples * index.size());
      for (int64_t i = 0; i < ph.samples; ++i) {
        for (size_t j = 0; j < index.size(); ++j) {
          y[i * index.size() + j] = ph.pixels[(s * ph.samples + i) * voxels + index[j]];
        }
      }
      const auto fits = testing::referenceMolliFitBatch(&ph.times[s * ph.samples], y.data(), static_cast<int>(ph.samples),
                                                        static_cast<int>(index.size()), threads > 0 ? threads : 2);
      for (size_t j = 0; j < index.size(); ++j) {
        reference[s * voxels + index[j]] = static_cast<float>(fits[j].t1);
        referenceRss[s * voxels + index[j]] = static_cast<float>(fits[j].rss);
      }
    }
    writeRaw(dir / "t1_reference.f32", reference);
    writeRaw(dir / "rss_reference.f32", referenceRss);
    std::printf("  reference: %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  std::printf("varpro-lm: %.2f ms per slice (median of %d runs), %d iterations at most\n", perSlice * 1e3, repeats,
              result.iterations);
  return 0;
}
