#include "LmStepKernel.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include <ATen/Parallel.h>

#include "TargetClones.h"

namespace torcht1::mapping {

namespace {

constexpr int64_t kMaxParams = 8;

template <typename T>
TORCHT1_TARGET_CLONES void rssRange(const T* prediction, const T* y, T* out, int64_t samples, int64_t voxels,
                                    int64_t begin, int64_t end, T nonFinite) {
  for (int64_t v = begin; v < end; ++v) out[v] = 0;
  for (int64_t i = 0; i < samples; ++i) {
    const T* p = prediction + i * voxels;
    const T* o = y + i * voxels;
    for (int64_t v = begin; v < end; ++v) {
      const T d = p[v] - o[v];
      out[v] += d * d;
    }
  }
  for (int64_t v = begin; v < end; ++v) {
    if (!std::isfinite(out[v])) out[v] = nonFinite;
  }
}

template <typename T>
int64_t updateTyped(std::vector<torch::Tensor>& theta, const torch::Tensor& stepTensor, torch::Tensor& costTensor,
                    const torch::Tensor& trialTensor, torch::Tensor& dampingTensor, torch::Tensor& frozenTensor,
                    const torch::Tensor& scaleTensor, const std::vector<bool>& isLinear,
                    const LmStepKernel::Tolerances& tol) {
  const int64_t params = static_cast<int64_t>(theta.size());
  const int64_t voxels = costTensor.size(0);
  T* th[kMaxParams];
  for (int64_t a = 0; a < params; ++a) th[a] = theta[a].data_ptr<T>();
  const torch::Tensor stepC = stepTensor.contiguous(), trialC = trialTensor.contiguous(),
                      scaleC = scaleTensor.contiguous();
  const T* step = stepC.data_ptr<T>();
  const T* trial = trialC.data_ptr<T>();
  const T* scale = scaleC.data_ptr<T>();
  T* cost = costTensor.data_ptr<T>();
  T* damping = dampingTensor.data_ptr<T>();
  T* frozen = frozenTensor.data_ptr<T>();
  bool linear[kMaxParams];
  for (int64_t a = 0; a < params; ++a) linear[a] = isLinear[a];
  std::atomic<int64_t> frozenCount{0};
  at::parallel_for(0, voxels, 4096, [&](int64_t begin, int64_t end) {
    int64_t count = 0;
    for (int64_t v = begin; v < end; ++v) {
      const bool accept = trial[v] <= cost[v] && frozen[v] == 0;
      T relativeStep = 0;
      for (int64_t a = 0; a < params; ++a) {
        const T s = step[a * voxels + v];
        if (accept) th[a][v] += s;
        T magnitude = std::abs(th[a][v]);
        if (linear[a]) magnitude += scale[v];
        relativeStep = std::max(relativeStep, std::abs(s) / std::max(magnitude, T(1e-30)));
      }
      const T decrease = accept ? cost[v] - trial[v] : T(0);
      cost[v] -= decrease;
      damping[v] = std::max(damping[v] * (accept ? T(0.1) : T(10)), T(tol.minDamping));
      const bool done = relativeStep <= T(tol.step) || damping[v] > T(tol.maxDamping) ||
                        (accept && decrease <= T(tol.cost) * (cost[v] + decrease));
      if (done) frozen[v] = 1;
      count += frozen[v] != 0;
    }
    frozenCount += count;
  });
  return frozenCount.load();
}

}  // namespace

bool LmStepKernel::fused(const torch::Tensor& like) {
  return like.device().is_cpu() && (like.scalar_type() == torch::kFloat || like.scalar_type() == torch::kDouble);
}

torch::Tensor LmStepKernel::residualSumOfSquares(const torch::Tensor& prediction, const torch::Tensor& y,
                                                 double nonFinite) {
  if (!fused(prediction) || prediction.sizes() != y.sizes() || prediction.scalar_type() != y.scalar_type()) {
    return torch::nan_to_num((prediction - y).square().sum(0), nonFinite, nonFinite, nonFinite);
  }
  const int64_t samples = prediction.size(0), voxels = prediction.size(1);
  const torch::Tensor p = prediction.contiguous(), o = y.contiguous();
  torch::Tensor out = torch::empty({voxels}, prediction.options());
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "residualSumOfSquares", [&] {
    const scalar_t* pp = p.data_ptr<scalar_t>();
    const scalar_t* op = o.data_ptr<scalar_t>();
    scalar_t* outp = out.data_ptr<scalar_t>();
    at::parallel_for(0, voxels, 4096, [&](int64_t begin, int64_t end) {
      rssRange<scalar_t>(pp, op, outp, samples, voxels, begin, end, static_cast<scalar_t>(nonFinite));
    });
  });
  return out;
}

int64_t LmStepKernel::update(std::vector<torch::Tensor>& theta, const torch::Tensor& step, torch::Tensor& cost,
                             const torch::Tensor& trialCost, torch::Tensor& damping, torch::Tensor& frozen,
                             const torch::Tensor& signalScale, const std::vector<bool>& isLinear,
                             const Tolerances& tolerances) {
  const int64_t params = static_cast<int64_t>(theta.size());
  bool inPlace = fused(cost) && params <= kMaxParams && cost.is_contiguous() && damping.is_contiguous() &&
                 frozen.is_contiguous();
  for (const auto& t : theta) {
    inPlace = inPlace && t.is_contiguous() && t.scalar_type() == cost.scalar_type() && t.device() == cost.device();
  }
  for (const torch::Tensor& t : {step, trialCost, damping, frozen, signalScale}) {
    inPlace = inPlace && t.scalar_type() == cost.scalar_type() && t.device() == cost.device();
  }
  if (inPlace) {
    if (cost.scalar_type() == torch::kDouble) {
      return updateTyped<double>(theta, step, cost, trialCost, damping, frozen, signalScale, isLinear, tolerances);
    }
    return updateTyped<float>(theta, step, cost, trialCost, damping, frozen, signalScale, isLinear, tolerances);
  }
  return updateWithTensors(theta, step, cost, trialCost, damping, frozen, signalScale, isLinear, tolerances);
}

int64_t LmStepKernel::updateWithTensors(std::vector<torch::Tensor>& theta, const torch::Tensor& step,
                                        torch::Tensor& cost, const torch::Tensor& trialCost, torch::Tensor& damping,
                                        torch::Tensor& frozen, const torch::Tensor& signalScale,
                                        const std::vector<bool>& isLinear, const Tolerances& tolerances) {
  const int64_t params = static_cast<int64_t>(theta.size());
  // Arithmetic blends instead of torch::where (several
  // times faster on the CPU); every operand is finite, so a 0/1 mask selects exactly.
  torch::Tensor accept = (trialCost <= cost).to(cost.dtype()) * (1 - frozen);
  torch::Tensor relativeStep = torch::zeros_like(cost);
  for (int64_t a = 0; a < params; ++a) {
    theta[a] = theta[a] + accept * step[a];
    torch::Tensor scale = theta[a].abs();
    if (isLinear[a]) scale = scale + signalScale;
    relativeStep = torch::maximum(relativeStep, step[a].abs() / scale.clamp_min(1e-30));
  }
  torch::Tensor decrease = accept * (cost - trialCost);
  cost = cost - decrease;
  damping = (damping * (0.1 * accept + 10 * (1 - accept))).clamp_min(tolerances.minDamping);
  torch::Tensor done = (relativeStep <= tolerances.step)
                           .logical_or(damping > tolerances.maxDamping)
                           .logical_or((accept > 0).logical_and(decrease <= tolerances.cost * (cost + decrease)));
  frozen = torch::maximum(frozen, done.to(frozen.dtype()));
  return frozen.sum().item<int64_t>();
}

}  // namespace torcht1::mapping
