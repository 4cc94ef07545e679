#include "DemoCommand.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "torcht1/config/FitConfig.h"
#include "torcht1/mapping/MapFitter.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "torcht1/phantom/Tissue.h"

namespace torcht1::server {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

void DemoCommand::registerWith(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("demo", "Simulate a MOLLI study, fit it, and compare with the truth");
  command_ = cmd;
  cmd->add_option("--config", config_, "YAML configuration (its fit: section); flags below override it")
      ->check(CLI::ExistingFile);
  cmd->add_option("--size", size_, "Rows and columns")->check(CLI::Range(8, 2048));
  cmd->add_option("--slices", slices_, "Slices")->check(CLI::Range(1, 256));
  cmd->add_option("--snr", snr_, "Myocardium signal / noise sigma")->check(CLI::PositiveNumber);
  cmd->add_flag("--post", post_, "Post-contrast T1 values (scheme 4(1)3(1)2)");
  cmd->add_option("--scheme", scheme_, "MOLLI scheme: 5(3)3, 4(1)3(1)2 or 3(3)3(3)5");
  cmd->add_option("--seed", seed_, "Random seed");
  cmd->add_option("--device", device_, "auto, cpu, cuda or cuda:N");
  cmd->add_option("--solver", solver_, "varpro-lm (default) or adam");
  cmd->add_option("--threads", threads_, "CPU threads (0: one per core)")->check(CLI::NonNegativeNumber);
}

int DemoCommand::run() const {
  phantom::PhantomOptions po;
  po.size = size_;
  po.slices = slices_;
  po.snr = snr_;
  po.postContrast = post_;
  po.scheme = scheme_;
  po.seed = seed_;
  const phantom::Phantom ph = phantom::PhantomGenerator(po).generate();

  mapping::FitOptions fo = config_.empty() ? mapping::FitOptions{} : config::FitConfig::fromFile(config_);
  if (command_->count("--device")) fo.device = device_;
  if (command_->count("--solver")) fo.solver = mapping::solverFromString(solver_);
  if (command_->count("--threads")) fo.threads = threads_;
  mapping::MapFitter fitter(fo);

  mapping::FitInput input{ph.slices, ph.samples, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}};
  std::printf("torcht1 demo: %lld slices of %lldx%lld, MOLLI %s, %lld images, SNR %.0f, %s, solver %s on %s\n",
              static_cast<long long>(ph.slices), static_cast<long long>(ph.rows),
              static_cast<long long>(ph.cols), ph.scheme.c_str(), static_cast<long long>(ph.samples),
              snr_, post_ ? "post-contrast" : "native", mapping::toString(fo.solver).c_str(), fitter.device().c_str());
  const mapping::FitResult result = fitter.fit(input);

  const auto& t1 = result.primary();
  const int64_t voxels = ph.voxelsPerSlice();
  std::printf("%5s %16s %10s %10s %14s %14s\n", "slice", "TI range (ms)", "fitted", "valid %",
              "myo T1 (true)", "blood T1 (true)");
  for (int64_t s = 0; s < ph.slices; ++s) {
    std::vector<double> myo, myoTrue, blood, bloodTrue;
    for (int64_t v = 0; v < voxels; ++v) {
      const auto label = static_cast<phantom::TissueLabel>(ph.labels[s * voxels + v]);
      if (label == phantom::TissueLabel::Myocardium) {
        myo.push_back(t1[s * voxels + v]);
        myoTrue.push_back(ph.t1[s * voxels + v]);
      } else if (label == phantom::TissueLabel::Blood) {
        blood.push_back(t1[s * voxels + v]);
        bloodTrue.push_back(ph.t1[s * voxels + v]);
      }
    }
    const auto& stats = result.sliceStats[s];
    std::printf("%5lld %7.0f..%-7.0f %10lld %10.1f %6.0f (%5.0f) %6.0f (%5.0f)\n", static_cast<long long>(s),
                ph.times[s * ph.samples], ph.times[(s + 1) * ph.samples - 1],
                static_cast<long long>(stats.fittedVoxels),
                stats.fittedVoxels ? 100.0 * static_cast<double>(stats.validVoxels) / static_cast<double>(stats.fittedVoxels) : 0.0,
                median(myo), median(myoTrue), median(blood), median(bloodTrue));
  }
  std::printf("fit: %.1f ms for %lld slices (%.1f ms per slice), %d iterations, device %s\n",
              result.fitSeconds * 1e3, static_cast<long long>(ph.slices),
              result.fitSeconds * 1e3 / static_cast<double>(ph.slices), result.iterations, result.device.c_str());
  return 0;
}

}  // namespace torcht1::server
