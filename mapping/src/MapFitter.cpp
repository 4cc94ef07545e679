#include "torcht1/mapping/MapFitter.h"

#include <malloc.h>

#include <chrono>
#include <limits>
#include <mutex>
#include <thread>

#include <torch/torch.h>

#include "torcht1/mapping/AdamSolver.h"
#include "torcht1/mapping/BackgroundMask.h"
#include "torcht1/mapping/Device.h"
#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/LevenbergMarquardtSolver.h"
#include "torcht1/mapping/ModelJacobian.h"
#include "torcht1/mapping/SignalModel.h"
#include "torcht1/mapping/VarProInitializer.h"
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

  // Pending start-up results per candidate rank: sign-restored data, times, starts, estimates.
  struct Pending {
    std::vector<torch::Tensor> y, t, estimate;
    std::vector<std::vector<torch::Tensor>> start;
  };
  std::vector<Pending> pending;
  int64_t pendingVoxels = 0;
  auto refine = [&](Pending& c, const torch::Tensor& subset) {
    torch::Tensor yc = torch::cat(c.y, 1), tc = torch::cat(c.t, 1);
    std::vector<torch::Tensor> start(nParams);
    for (int64_t p = 0; p < nParams; ++p) start[p] = torch::cat(c.start[p]);
    if (subset.defined()) {
      yc = yc.index_select(1, subset);
      tc = tc.index_select(1, subset);
      for (auto& s : start) s = s.index_select(0, subset);
    }
    SolverSolution fitted = solver.solve(model, yc, tc, start, /*magnitude=*/false);
    iterations = std::max(iterations, fitted.iterations);
    return fitted;
  };
  auto flush = [&] {
    if (pendingVoxels == 0) return;
    SolverSolution best = refine(pending[0], torch::Tensor());
    if (pending.size() > 1) {
      torch::Tensor estimate = torch::cat(pending[1].estimate);
      torch::Tensor subset = (estimate <= options.lm.secondPatternFactor * best.rss).nonzero().squeeze(1);
      if (subset.numel() > 0) {
        SolverSolution second = refine(pending[1], subset);
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
      auto starts = initializer.initialize(model, yr, times[static_cast<int64_t>(s)]);
      pending.resize(starts.size());
      for (size_t c = 0; c < starts.size(); ++c) {
        pending[c].y.push_back(VarProInitializer::applyPattern(yr, starts[c].pattern));
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

  // The batch: every foreground voxel of every slice, [samples, fitted], with its own times.
  torch::Tensor foreground = BackgroundMask(options.mask).foreground(pixels).reshape({-1});
  torch::Tensor fitted = foreground.nonzero().squeeze(1);  // ascending: grouped by slice
  torch::Tensor sliceOf = torch::div(fitted, voxels, "floor");
  torch::Tensor y = pixels.permute({1, 0, 2}).reshape({samples, slices * voxels}).index_select(1, fitted);
  torch::Tensor t = times.index_select(0, sliceOf).t().contiguous();
  const int64_t nFitted = fitted.size(0);
  std::vector<int64_t> perSlice(slices, 0);
  {
    torch::Tensor counts = torch::bincount(sliceOf, {}, slices).to(torch::kCPU, torch::kLong);
    for (int64_t s = 0; s < slices; ++s) perSlice[s] = counts[s].item<int64_t>();
  }

  endStage("prepare", y);
  const int64_t block = impl_->device.is_cpu() ? options.cpuBlockVoxels : std::numeric_limits<int64_t>::max();

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
    solution.rss = (predictImages(model, solution.params, t, model.magnitude()) - y).square().sum(0);
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
  std::vector<int64_t> fittedIndex;
  if (nFitted > 0) {
    torch::Tensor indexCpu = fitted.to(torch::kCPU).contiguous();
    fittedIndex.assign(indexCpu.data_ptr<int64_t>(), indexCpu.data_ptr<int64_t>() + nFitted);
  }
  auto fullMap = [&](const torch::Tensor& values) {
    std::vector<float> full(total, 0.0f);
    if (nFitted == 0) return full;
    torch::Tensor v = values.to(torch::kCPU, torch::kFloat32).contiguous();
    const float* data = v.data_ptr<float>();
    for (int64_t i = 0; i < nFitted; ++i) full[fittedIndex[i]] = data[i];
    return full;
  };
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

    // Status, with 0/1 float masks (x * 0 is 0 only for finite x). Precedence: non-finite,
    // then non-physical, then out of range.
    auto mask = [](const torch::Tensor& b) { return b.to(torch::kFloat32); };
    torch::Tensor zeroIfFinite = value * 0 + solution.rss * 0 + sd * 0;
    for (const auto& p : params) zeroIfFinite = zeroIfFinite + p * 0;
    torch::Tensor finite = mask(zeroIfFinite == 0);
    torch::Tensor physical = mask(model.physical(params));
    torch::Tensor inRange = mask((value >= options.validMin).logical_and(value <= options.validMax));
    torch::Tensor code = static_cast<float>(VoxelStatus::OutOfRange) * (1 - inRange);
    code = code * physical + static_cast<float>(VoxelStatus::NonPhysical) * (1 - physical);
    code = code * finite + static_cast<float>(VoxelStatus::NonFinite) * (1 - finite);
    torch::Tensor valid = mask(code == 0).to(value.dtype());
    torch::Tensor codeCpu = code.to(torch::kCPU).contiguous();
    const float* codes = codeCpu.data_ptr<float>();
    for (int64_t i = 0; i < nFitted; ++i) result.status[fittedIndex[i]] = static_cast<VoxelStatus>(codes[i]);

    // Invalid voxels read 0 in the mapped quantity and its SD; nothing is ever NaN.
    auto finiteOrZero = [](const torch::Tensor& t) { return torch::nan_to_num(t, 0.0, 0.0, 0.0); };
    for (int64_t p = 0; p < nParams; ++p) result.maps[result.parameterNames[p]] = fullMap(finiteOrZero(params[p]));
    result.maps[result.primaryName] = fullMap(finiteOrZero(value) * valid);
    result.maps[result.primaryName + "_SD"] = fullMap(finiteOrZero(sd) * valid);
    result.maps["RSS"] = fullMap(finiteOrZero(solution.rss));
    result.maps["R2"] = fullMap(finiteOrZero(r2));
  } else {
    for (const auto& name : result.parameterNames) result.maps[name] = std::vector<float>(total, 0.0f);
    for (const auto& name : {result.primaryName, result.primaryName + "_SD", std::string("RSS"), std::string("R2")}) {
      result.maps[name] = std::vector<float>(total, 0.0f);
    }
  }
  result.sliceStats.assign(slices, SliceStats{});
  for (int64_t i = 0; i < total; ++i) {
    auto& stats = result.sliceStats[i / voxels];
    if (result.status[i] != VoxelStatus::Background) ++stats.fittedVoxels;
    if (result.status[i] == VoxelStatus::Valid) ++stats.validVoxels;
  }
  endStage("maps", torch::Tensor());
  result.stageSeconds = stageSeconds;
  result.fitSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace torcht1::mapping
