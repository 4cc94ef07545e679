#include "torcht1/mapping/MapFitter.h"

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "torcht1/mapping/AdamSolver.h"
#include "torcht1/mapping/BackgroundMask.h"
#include "torcht1/mapping/Device.h"
#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/LevenbergMarquardtSolver.h"
#include "torcht1/mapping/ModelJacobian.h"
#include "torcht1/mapping/NoiseEstimator.h"
#include "torcht1/mapping/SignalModel.h"
#include "torcht1/mapping/VarProInitializer.h"
#include "LmStepKernel.h"
#include "NormalEquationsKernel.h"

namespace torcht1::mapping {

namespace {

/// Process-wide tuning, once. glibc hands tensors above 128 KiB to mmap and back on free, so
/// every tensor operation on a slice page-faults its output in anew; keeping such blocks in
/// the heap made an element-wise op on 3 x 65536 x 96 floats 4x faster here. LibTorch on
/// Debian also starts with one intra-op thread.
void tuneProcess(int threads) {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
  });
  const int wanted = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (at::get_num_threads() != wanted) at::set_num_threads(wanted);
}

/// The default solver on a batch of voxels, sample-major `y` [samples, voxels] grouped by
/// slice (`perSlice` voxels each, slice times `times` [slices, samples]), in blocks of at
/// most `block` voxels. The sign pattern the start-up grid ranks first is refined with the
/// smooth signed model for every voxel; the second-ranked one where the grid's estimate of
/// its residual is within `secondPatternFactor` of the refined first residual. Per voxel the
/// lower residual wins.
SolverSolution fitVarProLM(const SignalModel& model, const FitOptions& options, const torch::Tensor& y,
                           const torch::Tensor& t, const torch::Tensor& times, const std::vector<int64_t>& perSlice,
                           int64_t block) {
  const int64_t nParams = model.parameterCount();
  const VarProInitializer initializer(options.lm.gridPoints, options.lm.polarityCandidates);
  const LevenbergMarquardtSolver solver(options.lm);
  std::vector<std::vector<torch::Tensor>> params(nParams);
  int iterations = 0;

  // Pending start-up results per candidate rank: data (sign-restored for rank 0, as measured
  // for rank 1, whose pattern is applied only to the voxels that refine it), patterns, times,
  // starts (rank 1: the nonlinear parameter only), the grid's residual estimates.
  struct Pending {
    std::vector<torch::Tensor> y, pattern, t, estimate;
    std::vector<std::vector<torch::Tensor>> start;
  };
  std::vector<Pending> pending;
  int64_t pendingVoxels = 0;
  auto refine = [&](size_t rank, const torch::Tensor& subset) {
    Pending& c = pending[rank];
    torch::Tensor yc = torch::cat(c.y, 1), tc = torch::cat(c.t, 1);
    std::vector<torch::Tensor> start(nParams);
    for (int64_t p = 0; p < nParams; ++p) {
      if (c.start[p][0].defined()) start[p] = torch::cat(c.start[p]);
    }
    if (subset.defined()) {
      yc = yc.index_select(1, subset);
      tc = tc.index_select(1, subset);
      for (auto& s : start) {
        if (s.defined()) s = s.index_select(0, subset);
      }
    }
    if (rank > 0) {
      torch::Tensor pattern = torch::cat(c.pattern);
      if (subset.defined()) pattern = pattern.index_select(0, subset);
      yc = VarProInitializer::applyPattern(yc, pattern);
      VarProInitializer::solveLinear(model, yc, tc, start);
    }
    SolverSolution fitted = solver.solve(model, yc, tc, start, /*magnitude=*/false);
    iterations = std::max(iterations, fitted.iterations);
    return fitted;
  };
  auto flush = [&] {
    if (pendingVoxels == 0) return;
    SolverSolution best = refine(0, torch::Tensor());
    if (pending.size() > 1) {
      torch::Tensor estimate = torch::cat(pending[1].estimate);
      torch::Tensor subset = (estimate <= options.lm.secondPatternFactor * best.rss).nonzero().squeeze(1);
      if (subset.numel() > 0) {
        SolverSolution second = refine(1, subset);
        torch::Tensor better = second.rss < best.rss.index_select(0, subset);
        for (int64_t p = 0; p < nParams; ++p) {
          best.params[p].index_copy_(
              0, subset, torch::where(better, second.params[p], best.params[p].index_select(0, subset)));
        }
      }
    }
    for (int64_t p = 0; p < nParams; ++p) params[p].push_back(best.params[p]);
    pending.clear();
    pendingVoxels = 0;
  };

  // Start-up runs never straddle slices (each slice has its own times).
  int64_t offset = 0;
  for (size_t s = 0; s < perSlice.size(); ++s) {
    for (int64_t first = 0; first < perSlice[s]; first += block) {
      const int64_t count = std::min(block, perSlice[s] - first);
      torch::Tensor yr = y.narrow(1, offset + first, count);
      auto starts = initializer.initialize(model, yr, times[static_cast<int64_t>(s)], /*solvedRanks=*/1);
      pending.resize(starts.size());
      for (size_t c = 0; c < starts.size(); ++c) {
        pending[c].y.push_back(c == 0 ? starts[c].signedY : yr);
        pending[c].pattern.push_back(starts[c].pattern);
        pending[c].t.push_back(t.narrow(1, offset + first, count));
        pending[c].estimate.push_back(starts[c].residual);
        pending[c].start.resize(nParams);
        for (int64_t p = 0; p < nParams; ++p) pending[c].start[p].push_back(starts[c].params[p]);
      }
      pendingVoxels += count;
      if (pendingVoxels >= block) flush();
    }
    offset += perSlice[s];
  }
  flush();
  SolverSolution solution;
  for (int64_t p = 0; p < nParams; ++p) solution.params.push_back(torch::cat(params[p]));
  solution.iterations = iterations;
  return solution;
}

/// `plane` [rows, columns] with the columns `index` (ascending) picked, [rows, picked]. On the
/// CPU a plain loop: index_select along the last dimension took 3 ms for a series here.
torch::Tensor gatherColumns(const torch::Tensor& plane, const torch::Tensor& index) {
  if (!plane.device().is_cpu() || plane.scalar_type() != torch::kFloat || !plane.is_contiguous()) {
    return plane.index_select(1, index);
  }
  const int64_t rows = plane.size(0), columns = plane.size(1), picked = index.size(0);
  torch::Tensor out = torch::empty({rows, picked}, plane.options());
  const torch::Tensor indexCpu = index.contiguous();
  const int64_t* pick = indexCpu.data_ptr<int64_t>();
  const float* in = plane.data_ptr<float>();
  float* o = out.data_ptr<float>();
  at::parallel_for(0, rows, 1, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {
      for (int64_t j = 0; j < picked; ++j) o[r * picked + j] = in[r * columns + pick[j]];
    }
  });
  return out;
}

}  // namespace

struct MapFitter::Impl {
  FitOptions options;
  torch::Device device{torch::kCPU};
  std::unique_ptr<SignalModel> model;
  torch::Dtype dtype = torch::kFloat32;
};

MapFitter::MapFitter(FitOptions options) : impl_(std::make_unique<Impl>()) {
  options.validate();
  impl_->options = options;
  impl_->device = resolveDevice(options.device);
  impl_->model = makeModel(options.model);
  impl_->dtype = options.doublePrecision ? torch::kFloat64 : torch::kFloat32;
  tuneProcess(options.threads);
}

MapFitter::~MapFitter() = default;
MapFitter::MapFitter(MapFitter&&) noexcept = default;
MapFitter& MapFitter::operator=(MapFitter&&) noexcept = default;

const FitOptions& MapFitter::options() const { return impl_->options; }
std::string MapFitter::device() const { return deviceName(impl_->device); }

FitResult MapFitter::fit(const FitInput& input) const {
  const SignalModel& model = *impl_->model;
  const FitOptions& options = impl_->options;
  const int64_t nParams = model.parameterCount();
  input.validate(std::max<int64_t>(3, nParams));
  tuneProcess(options.threads);
  torch::NoGradGuard noGrad;
  const auto started = std::chrono::steady_clock::now();
  std::map<std::string, double> stageSeconds;
  auto stageStart = started;
  auto endStage = [&](const char* name, const torch::Tensor& last) {
    if (!options.profileStages) return;
    if (last.defined() && last.numel() > 0) last.sum().item<double>();  // wait for the device
    const auto now = std::chrono::steady_clock::now();
    stageSeconds[name] += std::chrono::duration<double>(now - stageStart).count();
    stageStart = now;
  };

  const int64_t slices = input.slices, samples = input.samples, voxels = input.voxelsPerSlice();
  auto tensorOptions = torch::TensorOptions().dtype(impl_->dtype).device(impl_->device);
  torch::Tensor pixels =
      torch::from_blob(const_cast<float*>(input.pixels.data()), {slices, samples, voxels}, torch::kFloat32)
          .to(tensorOptions);
  torch::Tensor times =
      torch::from_blob(const_cast<float*>(input.times.data()), {slices, samples}, torch::kFloat32)
          .to(tensorOptions);

  const int64_t block = impl_->device.is_cpu() ? options.cpuBlockVoxels : std::numeric_limits<int64_t>::max();

  // A slice without air: its noise from the residuals of up to 4096 of its non-zero voxels
  // (evenly spread), fitted first; only the physical fits count.
  auto residualNoise = [&](const torch::Tensor& plane, const torch::Tensor& sliceTimes, int64_t blockVoxels) {
    torch::Tensor candidates = (plane.amax(0) > 0).nonzero().squeeze(1);
    if (candidates.numel() < 16 || samples <= nParams) return 0.0;
    const int64_t stride = std::max<int64_t>(1, candidates.numel() / 4096);
    candidates = candidates.slice(0, 0, candidates.numel(), stride);
    const int64_t n = candidates.numel();
    torch::Tensor ys = plane.index_select(1, candidates).contiguous();
    torch::Tensor ts = sliceTimes.unsqueeze(1).expand({samples, n}).contiguous();
    SolverSolution sample = fitVarProLM(model, options, ys, ts, sliceTimes.unsqueeze(0), {n}, blockVoxels);
    model.canonicalize(sample.params);
    torch::Tensor rss = LmStepKernel::residualSumOfSquares(predictImages(model, sample.params, ts, model.magnitude()), ys,
                                                           std::numeric_limits<double>::quiet_NaN());
    return NoiseEstimator::fromResiduals(rss.masked_select(model.physical(sample.params)), samples - nParams);
  };

  // Which voxels are fitted: the caller's mask, or the noise rule (MaskOptions).
  std::vector<double> sigma(static_cast<size_t>(slices), 0.0);
  std::vector<std::string> noiseSource(static_cast<size_t>(slices), "none");
  torch::Tensor foreground;
  if (!input.foreground.empty()) {
    foreground = torch::from_blob(const_cast<uint8_t*>(input.foreground.data()), {slices * voxels}, torch::kUInt8)
                     .to(impl_->device)
                     .to(torch::kBool);
    for (int64_t s = 0; s < slices && !input.noiseSigma.empty(); ++s) {
      sigma[s] = input.noiseSigma[s];
      noiseSource[s] = static_cast<size_t>(s) < input.noiseSource.size() ? input.noiseSource[s] : "given";
    }
  } else {
    if (options.mask.enabled) {
      for (int64_t s = 0; s < slices; ++s) {
        const NoiseEstimate estimate = NoiseEstimator::fromBackground(pixels[s]);
        if (estimate.found) {
          sigma[s] = estimate.sigma;
          noiseSource[s] = "background";
        } else if (const double fromFit = residualNoise(pixels[s], times[s], block); fromFit > 0) {
          sigma[s] = fromFit;
          noiseSource[s] = "residuals";
        }
      }
    }
    foreground = BackgroundMask(options.mask)
                     .foreground(pixels, torch::tensor(sigma, torch::kFloat64).to(impl_->device))
                     .reshape({-1});
  }
  torch::Tensor fitted = foreground.nonzero().squeeze(1);  // ascending: grouped by slice
  torch::Tensor sliceOf = torch::div(fitted, voxels, "floor");
  const int64_t nFitted = fitted.size(0);
  std::vector<int64_t> perSlice(slices, 0);
  {
    torch::Tensor counts = torch::bincount(sliceOf, {}, slices).to(torch::kCPU, torch::kLong);
    for (int64_t s = 0; s < slices; ++s) perSlice[s] = counts[s].item<int64_t>();
  }
  // Gathered slice by slice from [samples, voxels] planes (no transposed copy of the series),
  // each voxel with its slice's times.
  torch::Tensor y, t;
  if (nFitted > 0) {
    std::vector<torch::Tensor> values, sampleTimes;
    for (int64_t s = 0, first = 0; s < slices; first += perSlice[s], ++s) {
      if (perSlice[s] == 0) continue;
      values.push_back(gatherColumns(pixels[s], fitted.narrow(0, first, perSlice[s]) - s * voxels));
      sampleTimes.push_back(times[s].unsqueeze(1).expand({samples, perSlice[s]}));
    }
    y = torch::cat(values, 1);
    t = torch::cat(sampleTimes, 1);
  } else {
    y = torch::empty({samples, 0}, tensorOptions);
    t = torch::empty({samples, 0}, tensorOptions);
  }

  endStage("prepare", y);

  SolverSolution solution;
  if (nFitted > 0) {
    if (options.solver == Solver::Adam) {
      solution = AdamSolver(options.adam).solve(model, y, t);
      endStage("solve", solution.params[0]);
    } else {
      solution = fitVarProLM(model, options, y, t, times, perSlice, block);
      endStage("start+solve", solution.params[0]);
    }
    model.canonicalize(solution.params);
    solution.rss = LmStepKernel::residualSumOfSquares(predictImages(model, solution.params, t, model.magnitude()), y,
                                                      std::numeric_limits<double>::quiet_NaN());
  }

  FitResult result;
  result.slices = slices;
  result.rows = input.rows;
  result.cols = input.cols;
  result.modelName = model.name();
  result.primaryName = model.mappedName();
  result.parameterNames = model.parameterNames();
  result.device = deviceName(impl_->device);
  result.solver = toString(options.solver);
  result.iterations = solution.iterations;

  // Maps are assembled on the CPU: the fitted voxels' values scattered into zeroed images.
  const int64_t total = slices * voxels;
  result.status.assign(total, VoxelStatus::Background);
  result.sliceStats.assign(slices, SliceStats{});
  for (int64_t s = 0; s < slices; ++s) {
    result.sliceStats[s].noiseSigma = sigma[s];
    result.sliceStats[s].noiseSource = noiseSource[s];
  }
  const std::string sdName = result.primaryName + "_SD";
  for (const auto& name : result.parameterNames) result.maps[name] = std::vector<float>(total, 0.0f);
  for (const auto& name : {result.primaryName, sdName, std::string("RSS"), std::string("R2")}) {
    result.maps[name] = std::vector<float>(total, 0.0f);
  }
  if (nFitted > 0) {
    const auto& params = solution.params;
    torch::Tensor value = model.mapped(params);

    // Uncertainty: Cov = sigma^2 (J^T J)^-1 with sigma^2 = RSS / (samples - parameters);
    // var(mapped) = grad^T Cov grad, grad from autograd.
    // In blocks on the CPU, as the fit: one batch of every voxel runs slower per voxel.
    torch::Tensor gradient = mappedGradient(model, params);
    std::vector<torch::Tensor> covX, covOk;
    for (int64_t first = 0; first < nFitted; first += block) {
      const int64_t count = std::min(block, nFitted - first);
      std::vector<torch::Tensor> part;
      for (const auto& p : params) part.push_back(p.narrow(0, first, count));
      ModelEvaluation ev = predictImagesWithJacobian(model, part, t.narrow(1, first, count), model.magnitude());
      NormalEquationsKernel::Solution s =
          NormalEquationsKernel::solve(ev.jacobian, torch::Tensor(), gradient.narrow(1, first, count), torch::Tensor());
      covX.push_back(s.x);
      covOk.push_back(s.ok);
    }
    NormalEquationsKernel::Solution covariance{torch::cat(covX, 1), torch::cat(covOk)};
    const int64_t dof = samples - nParams;
    torch::Tensor sd = torch::zeros_like(value);
    if (dof > 0) {
      torch::Tensor variance = solution.rss / dof * (gradient * covariance.x).sum(0);
      sd = variance.clamp_min(0).sqrt() * covariance.ok.to(variance.dtype());
    }
    torch::Tensor tss = (y - y.mean(0, true)).square().sum(0);
    torch::Tensor r2 = (1 - solution.rss / tss.clamp_min(1e-30)) * (tss > 0).to(tss.dtype());

    // One pass over the fitted voxels: status, then the maps. Status precedence: non-finite,
    // then non-physical, then out of range. Invalid voxels read 0 in the mapped quantity and
    // its SD; a value that is not finite (in float) reads 0; nothing is ever NaN.
    auto cpu = [](const torch::Tensor& x) { return x.to(torch::kCPU, torch::kFloat64).contiguous(); };
    torch::Tensor indexCpu = fitted.to(torch::kCPU).contiguous();
    torch::Tensor physicalCpu = model.physical(params).to(torch::kCPU, torch::kBool).contiguous();
    std::vector<torch::Tensor> paramCpu;
    for (const auto& p : params) paramCpu.push_back(cpu(p));
    const torch::Tensor valueCpu = cpu(value), sdCpu = cpu(sd), rssCpu = cpu(solution.rss), r2Cpu = cpu(r2);
    const torch::Tensor covOkCpu = covariance.ok.to(torch::kCPU, torch::kBool).contiguous();
    const bool* determined = covOkCpu.data_ptr<bool>();
    const double maxRelativeSd = options.quality.maxRelativeSd, minR2 = options.quality.minR2;
    const int64_t* index = indexCpu.data_ptr<int64_t>();
    const bool* physical = physicalCpu.data_ptr<bool>();
    const double* valueOf = valueCpu.data_ptr<double>();
    const double* sdOf = sdCpu.data_ptr<double>();
    const double* rssOf = rssCpu.data_ptr<double>();
    const double* r2Of = r2Cpu.data_ptr<double>();
    std::vector<const double*> paramOf;
    std::vector<float*> paramMap;
    for (int64_t p = 0; p < nParams; ++p) {
      paramOf.push_back(paramCpu[p].data_ptr<double>());
      paramMap.push_back(result.maps[result.parameterNames[p]].data());
    }
    float* primaryMap = result.maps[result.primaryName].data();
    float* sdMap = result.maps[sdName].data();
    float* rssMap = result.maps["RSS"].data();
    float* r2Map = result.maps["R2"].data();
    auto asFloat = [](double x) {
      const auto f = static_cast<float>(x);
      return std::isfinite(f) ? f : 0.0f;
    };
    std::mutex statsMutex;
    at::parallel_for(0, nFitted, 16384, [&](int64_t begin, int64_t end) {
      std::vector<SliceStats> stats(slices);
      for (int64_t i = begin; i < end; ++i) {
        bool finite = std::isfinite(valueOf[i]) && std::isfinite(rssOf[i]) && std::isfinite(sdOf[i]);
        for (int64_t p = 0; p < nParams; ++p) finite = finite && std::isfinite(paramOf[p][i]);
        VoxelStatus status = VoxelStatus::Valid;
        if (!finite) {
          status = VoxelStatus::NonFinite;
        } else if (!physical[i]) {
          status = VoxelStatus::NonPhysical;
        } else if (!(valueOf[i] >= options.validMin && valueOf[i] <= options.validMax)) {
          status = VoxelStatus::OutOfRange;
        } else if ((dof > 0 && (!determined[i] || sdOf[i] > maxRelativeSd * std::abs(valueOf[i]))) || r2Of[i] < minR2) {
          status = VoxelStatus::Unreliable;
        }
        const int64_t where = index[i];
        result.status[where] = status;
        auto& sliceStats = stats[where / voxels];
        ++sliceStats.fittedVoxels;
        for (int64_t p = 0; p < nParams; ++p) paramMap[p][where] = asFloat(paramOf[p][i]);
        rssMap[where] = asFloat(rssOf[i]);
        r2Map[where] = asFloat(r2Of[i]);
        if (status == VoxelStatus::Valid) {
          ++sliceStats.validVoxels;
          primaryMap[where] = asFloat(valueOf[i]);
          sdMap[where] = asFloat(sdOf[i]);
        }
      }
      const std::lock_guard<std::mutex> lock(statsMutex);
      for (int64_t s = 0; s < slices; ++s) {
        result.sliceStats[s].fittedVoxels += stats[s].fittedVoxels;
        result.sliceStats[s].validVoxels += stats[s].validVoxels;
      }
    });
  }
  endStage("maps", torch::Tensor());
  result.stageSeconds = stageSeconds;
  result.fitSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace torcht1::mapping
