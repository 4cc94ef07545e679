#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace torcht1::mapping {

/// A per-voxel signal model, written in LibTorch tensor operations only.
///
/// A model names its parameters and computes its signal; the solvers get the Jacobian from
/// autograd (see ModelJacobian), so a new model is a new small class and never a set of
/// hand-derived derivatives.
///
/// Tensor conventions. Samples are the leading dimension: data are [samples, voxels].
/// `signal` receives one tensor per parameter and the sample times, all broadcastable to a
/// common shape, and must compute element by element: the value at (sample i, voxel v) may
/// depend only on t(i, v) and on the parameters at the same broadcast position. Every
/// relaxation model does; it is what lets one backward pass produce the whole Jacobian.
///
/// Variable projection. The default solver starts from a grid over the model's one
/// nonlinear parameter with the linear parameters solved exactly, so a model declares which
/// parameters it is linear in (the signal is a sum of linear parameter times basis function
/// of the nonlinear one) and the grid range of the nonlinear one.
class SignalModel {
 public:
  virtual ~SignalModel() = default;

  virtual std::string name() const = 0;
  virtual std::vector<std::string> parameterNames() const = 0;
  int parameterCount() const { return static_cast<int>(parameterNames().size()); }

  /// The model's (signed) signal at times `t`.
  virtual torch::Tensor signal(const std::vector<torch::Tensor>& params,
                               const torch::Tensor& t) const = 0;

  /// True when the images are magnitudes of a signal that changes sign once along t
  /// (inversion recovery): the fit then models |signal| and restores the polarity.
  virtual bool magnitude() const { return false; }

  virtual std::vector<int> linearParameters() const = 0;
  virtual int nonlinearParameter() const = 0;
  /// Range of the nonlinear parameter covered by the start-up grid (log-spaced), ms.
  virtual std::pair<double, double> nonlinearRange() const = 0;

  /// Maps each voxel's parameters to one representative of those giving the same fitted
  /// data (for a magnitude model, negating all linear parameters changes nothing).
  virtual void canonicalize(std::vector<torch::Tensor>& params) const { (void)params; }

  /// The quantity a reader looks at (T1 for MOLLI), computed from the parameters in tensor
  /// operations; its standard deviation comes from autograd and the fit covariance.
  virtual std::string mappedName() const = 0;
  virtual torch::Tensor mapped(const std::vector<torch::Tensor>& params) const = 0;

  /// Typical parameter values, linear ones relative to the voxel's largest sample. The Adam
  /// solver starts every voxel here, as the TorchT1 paper does, and scales each parameter by
  /// this value (times the voxel's largest sample for linear ones).
  virtual std::vector<double> typicalValues() const = 0;

  /// Per voxel: do the parameters have physical meaning? Default: all finite.
  virtual torch::Tensor physical(const std::vector<torch::Tensor>& params) const;
};

/// "molli" or "t2"; throws FitError for any other name.
std::unique_ptr<SignalModel> makeModel(const std::string& name);
std::vector<std::string> modelNames();

}  // namespace torcht1::mapping
