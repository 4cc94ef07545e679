#include "torcht1/mapping/VarProInitializer.h"

#include <cmath>

#include "torcht1/mapping/FitError.h"
#include "GridScanKernel.h"
#include "NormalEquationsKernel.h"

namespace torcht1::mapping {

namespace {

/// The model's basis functions, one per linear parameter (that parameter 1, the others 0),
/// at the nonlinear parameter's values `nonlinear` [1, n]: [samples, n] each. `t` is
/// [samples, 1] or [samples, n].
std::vector<torch::Tensor> linearBasis(const SignalModel& model, const torch::Tensor& nonlinear, const torch::Tensor& t) {
  const auto linear = model.linearParameters();
  std::vector<torch::Tensor> basis;
  for (int l : linear) {
    std::vector<torch::Tensor> unit(model.parameterCount());
    for (int other : linear) unit[other] = torch::full_like(nonlinear, other == l ? 1.0 : 0.0);
    unit[model.nonlinearParameter()] = nonlinear;
    basis.push_back(model.signal(unit, t));
  }
  return basis;
}

/// Orthonormal bases of the model's linear span at each grid value of the nonlinear
/// parameter, [grid, samples, linear], computed in float64 on the CPU (it is tiny).
torch::Tensor gridBases(const SignalModel& model, const torch::Tensor& grid, const torch::Tensor& t) {
  torch::Tensor phi = torch::stack(linearBasis(model, grid.reshape({1, -1}), t.reshape({-1, 1})), -1).permute({1, 0, 2}).contiguous();
  auto [q, r] = torch::linalg_qr(phi);
  // A direction whose basis function depends on the earlier ones (exp(-t/T) ~ 0 for a tiny
  // T) adds nothing to the span: drop it instead of projecting on an arbitrary vector.
  torch::Tensor diag = r.diagonal(0, -2, -1).abs();
  torch::Tensor keep = diag > 1e-9 * diag.max();
  return q * keep.unsqueeze(1);
}

}  // namespace

VarProInitializer::VarProInitializer(int gridPoints, int polarityCandidates, bool cpuKernel)
    : gridPoints_(gridPoints), polarityCandidates_(polarityCandidates), cpuKernel_(cpuKernel) {
  if (gridPoints_ < 3) throw FitError("variable projection needs at least 3 grid points");
  if (polarityCandidates_ < 0) throw FitError("polarity candidates must be >= 0");
}

std::vector<VarProInitializer::Start> VarProInitializer::initialize(const SignalModel& model,
                                                                    const torch::Tensor& y, const torch::Tensor& t,
                                                                    int64_t solvedRanks) const {
  torch::NoGradGuard noGrad;
  const int64_t samples = y.size(0);
  const int64_t voxels = y.size(1);
  const auto linear = model.linearParameters();
  const int64_t nLinear = static_cast<int64_t>(linear.size());
  const int nonlinear = model.nonlinearParameter();
  const auto [lo, hi] = model.nonlinearRange();
  const int64_t g = gridPoints_;

  auto cpu64 = torch::dtype(torch::kFloat64);
  torch::Tensor grid = torch::logspace(std::log10(lo), std::log10(hi), g, 10.0, cpu64);
  const double logStep = std::log(hi / lo) / static_cast<double>(g - 1);
  torch::Tensor q = gridBases(model, grid, t.to(torch::kCPU, torch::kFloat64));
  // A direction the same at every grid point (MOLLI's constant term) is scored once per
  // pattern instead of once per grid point; it shifts all of a voxel's scores equally.
  std::vector<torch::Tensor> sharedRows, varyingRows;
  for (int64_t l = 0; l < nLinear; ++l) {
    torch::Tensor column = q.select(2, l);  // [grid, samples]
    const bool shared = torch::matmul(column, column[0]).abs().min().item<double>() > 1 - 1e-12;
    if (shared) {
      sharedRows.push_back(column[0].unsqueeze(0));
    } else {
      varyingRows.push_back(column.unsqueeze(1));  // [grid, 1, samples]
    }
  }
  const int64_t nVarying = static_cast<int64_t>(varyingRows.size());
  if (nVarying == 0) throw FitError("model '" + model.name() + "': its basis does not depend on the nonlinear parameter");
  // Rows (grid point, direction), columns samples: projections = W y.
  torch::Tensor w = torch::cat(varyingRows, 1).reshape({g * nVarying, samples}).to(y.options());
  torch::Tensor wShared = sharedRows.empty() ? torch::Tensor() : torch::cat(sharedRows).to(y.options());

  // Sign patterns: the first k samples negated. Magnitude data: every k (k = N is k = 0
  // with every linear parameter negated, the same fit, so it is skipped), or n patterns
  // around the smallest sample; otherwise only k = 0.
  const bool exhaustive = model.magnitude() && (polarityCandidates_ == 0 || polarityCandidates_ >= samples);
  const int64_t patternCount = !model.magnitude() ? 1 : exhaustive ? samples : polarityCandidates_;

  // Keep the two best patterns per voxel, each with its best grid point and neighbours.
  struct Candidate {
    torch::Tensor score, peak, index, prev, next, pattern;
  };
  std::vector<Candidate> best;
  const bool useKernel = cpuKernel_ && y.device().is_cpu() && (exhaustive || !model.magnitude()) &&
                         nVarying == 1 && g <= 64 && static_cast<int64_t>(sharedRows.size()) <= 4;
  if (useKernel) {
    GridScanResult r = GridScanKernel::scan(y, w, wShared, patternCount);
    for (int c = 0; c < std::min<int64_t>(2, patternCount); ++c) {
      best.push_back({r.score[c], r.peak[c], r.index[c], r.prev[c], r.next[c], r.pattern[c]});
    }
  } else {
    std::vector<torch::Tensor> patterns;
    if (!model.magnitude()) {
      patterns.push_back(torch::zeros({voxels}, y.options().dtype(torch::kLong)));
    } else if (exhaustive) {
      for (int64_t k = 0; k < samples; ++k) {
        patterns.push_back(torch::full({voxels}, k, y.options().dtype(torch::kLong)));
      }
    } else {
      torch::Tensor smallest = y.argmin(0);
      const int64_t first = -(polarityCandidates_ - 2) / 2;
      for (int64_t j = 0; j < polarityCandidates_; ++j) {
        patterns.push_back((smallest + (first + j)).clamp(0, samples));
      }
    }
    auto choose = [](const torch::Tensor& pick, const Candidate& a, const Candidate& b) {
      return Candidate{torch::where(pick, a.score, b.score), torch::where(pick, a.peak, b.peak),
                       torch::where(pick, a.index, b.index), torch::where(pick, a.prev, b.prev),
                       torch::where(pick, a.next, b.next), torch::where(pick, a.pattern, b.pattern)};
    };
    for (const auto& k : patterns) {
      torch::Tensor signedY = applyPattern(y, k);
      torch::Tensor scores = torch::matmul(w, signedY).square_();
      if (nVarying > 1) scores = scores.reshape({g, nVarying, voxels}).sum(1);
      torch::Tensor shared = wShared.defined() ? torch::matmul(wShared, signedY).square_().sum(0)
                                               : torch::zeros({voxels}, y.options());
      auto [peak, index] = scores.max(0);
      peak += shared;
      torch::Tensor prev = scores.gather(0, (index - 1).clamp_min(0).unsqueeze(0)).squeeze(0) + shared;
      torch::Tensor next = scores.gather(0, (index + 1).clamp_max(g - 1).unsqueeze(0)).squeeze(0) + shared;
      // Rank patterns by the top of the parabola through the peak and its neighbours: a
      // pattern with a narrow optimum between grid points is not penalised by the grid.
      torch::Tensor curvature = 2 * peak - prev - next;
      torch::Tensor interior = (index > 0).logical_and(index < g - 1).logical_and(curvature > 0);
      torch::Tensor score = torch::where(interior, peak + (next - prev).square() / (8 * curvature), peak);
      Candidate c{score, peak, index, prev, next, k};
      if (best.empty()) {
        best.push_back(c);
      } else if (best.size() == 1) {
        // Clamping near the first or last sample can repeat a pattern: a repeat is no second.
        torch::Tensor repeat = c.pattern == best[0].pattern;
        c.score = torch::where(repeat, torch::full_like(c.score, -1), c.score);
        torch::Tensor first = c.score > best[0].score;
        best = {choose(first, c, best[0]), choose(first, best[0], c)};
      } else {
        torch::Tensor first = c.score > best[0].score;
        torch::Tensor second = first.logical_not().logical_and(c.score > best[1].score)
                                   .logical_and(c.pattern != best[0].pattern);
        best[1] = choose(first, best[0], choose(second, c, best[1]));
        best[0] = choose(first, c, best[0]);
      }
    }
  }

  torch::Tensor gridOnDevice = grid.to(y.options());
  torch::Tensor energy = y.square().sum(0);  // ||y||^2: RSS = energy - projection score
  std::vector<Start> starts;
  for (const auto& c : best) {
    // Parabola through the best grid point and its neighbours, in log of the parameter.
    torch::Tensor curvature = 2 * c.peak - c.prev - c.next;
    torch::Tensor interior = (c.index > 0).logical_and(c.index < g - 1).logical_and(curvature > 0);
    torch::Tensor offset =
        torch::where(interior, 0.5 * (c.next - c.prev) / curvature, torch::zeros_like(curvature)).clamp(-0.5, 0.5);
    torch::Tensor theta = gridOnDevice.index_select(0, c.index) * torch::exp(offset * logStep);

    std::vector<torch::Tensor> params(model.parameterCount());
    params[nonlinear] = theta;
    // The linear parameters at that point, for the ranks asked for.
    torch::Tensor signedY;
    if (static_cast<int64_t>(starts.size()) < solvedRanks) {
      signedY = applyPattern(y, c.pattern);
      solveLinear(model, signedY, t, params);
    }
    starts.push_back({params, c.pattern, (energy - c.score).clamp_min(0), signedY});
  }
  return starts;
}

void VarProInitializer::solveLinear(const SignalModel& model, const torch::Tensor& signedY, const torch::Tensor& t,
                                    std::vector<torch::Tensor>& params) {
  const auto linear = model.linearParameters();
  const torch::Tensor times = t.dim() == 1 ? t.reshape({-1, 1}) : t;
  const auto basis = linearBasis(model, params[model.nonlinearParameter()].unsqueeze(0), times);
  // Least squares with the basis in the role of a Jacobian: (B^T B) c = B^T y.
  torch::Tensor coefficients =
      NormalEquationsKernel::solve(torch::stack(basis), -signedY, torch::Tensor(), torch::Tensor()).x;
  for (size_t l = 0; l < linear.size(); ++l) params[linear[l]] = coefficients[static_cast<int64_t>(l)].contiguous();
}

torch::Tensor VarProInitializer::applyPattern(const torch::Tensor& y, const torch::Tensor& pattern) {
  // y * (1 - 2 [i < k]): a multiply, several times faster than torch::where on the CPU here.
  torch::Tensor sampleIndex = torch::arange(y.size(0), y.options()).unsqueeze(1);
  torch::Tensor negated = (sampleIndex < pattern.to(y.dtype()).unsqueeze(0)).to(y.dtype());
  return y * (1 - 2 * negated);
}

}  // namespace torcht1::mapping
