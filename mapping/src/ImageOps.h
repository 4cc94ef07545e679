#pragma once

#include <cstdint>
#include <utility>

#include <torch/torch.h>

namespace torcht1::mapping::imageops {

/// Image operations shared by the registrations (MotionCorrector, MapRegistration), on
/// [N, C, h, w] tensors.

/// Resized to h x w: area averaging (shrinking images) or bilinear (fields), align_corners false.
torch::Tensor resize(const torch::Tensor& x, int64_t h, int64_t w, bool area);

/// Central differences per pixel, [N, 1, h, w] -> ([N, 1, h, w] d/dx, d/dy), replicate borders.
std::pair<torch::Tensor, torch::Tensor> imageGradient(const torch::Tensor& x);

/// Normalised gradient field of [N, 1, h, w] images: the gradient's direction where it stands
/// clear of `epsilon` (broadcast against [N, 1, 1, 1]), fading to 0 in flat regions. Its
/// squared dot product with another image's compares edges whatever their contrast or
/// polarity.
torch::Tensor normalisedGradient(const torch::Tensor& x, const torch::Tensor& epsilon);

}  // namespace torcht1::mapping::imageops
