#pragma once

#include <vector>

#include <torch/torch.h>

#include "torcht1/mapping/SignalModel.h"

namespace torcht1::mapping {

/// A model's fitted signal and its Jacobian, both sample-major.
struct ModelEvaluation {
  torch::Tensor value;     // [samples, voxels]
  torch::Tensor jacobian;  // [parameters, samples, voxels]: d value(i, v) / d param_p(v)
};

/// What a model predicts for the images: its signal, or |signal| when `magnitude` (the data
/// are magnitudes whose sign has not been restored). `params` are [voxels] each; `t` is
/// [samples, voxels] or [samples, 1].
torch::Tensor predictImages(const SignalModel& model, const std::vector<torch::Tensor>& params,
                            const torch::Tensor& t, bool magnitude);

/// The prediction and its Jacobian from autograd, for every voxel at once with one backward
/// pass: each parameter is expanded to a [samples, voxels] leaf, so that, the model being
/// element-wise, the gradient of sum(prediction) with respect to that leaf is exactly the
/// Jacobian column of that parameter.
ModelEvaluation predictImagesWithJacobian(const SignalModel& model,
                                          const std::vector<torch::Tensor>& params,
                                          const torch::Tensor& t, bool magnitude);

/// d mapped(v) / d param_p(v) from autograd, [parameters, voxels].
torch::Tensor mappedGradient(const SignalModel& model, const std::vector<torch::Tensor>& params);

}  // namespace torcht1::mapping
