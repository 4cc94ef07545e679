#include "ImageOps.h"

namespace torcht1::mapping::imageops {

namespace F = torch::nn::functional;
using torch::indexing::Slice;
constexpr auto None = torch::indexing::None;

torch::Tensor resize(const torch::Tensor& x, int64_t h, int64_t w, bool area) {
  if (x.size(2) == h && x.size(3) == w) return x;
  if (area) return F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kArea));
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{h, w})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

std::pair<torch::Tensor, torch::Tensor> imageGradient(const torch::Tensor& x) {
  const auto p = F::pad(x, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
  const auto gx = 0.5 * (p.index({Slice(), Slice(), Slice(1, -1), Slice(2, None)}) -
                         p.index({Slice(), Slice(), Slice(1, -1), Slice(0, -2)}));
  const auto gy = 0.5 * (p.index({Slice(), Slice(), Slice(2, None), Slice(1, -1)}) -
                         p.index({Slice(), Slice(), Slice(0, -2), Slice(1, -1)}));
  return {gx, gy};
}

torch::Tensor normalisedGradient(const torch::Tensor& x, const torch::Tensor& epsilon) {
  auto [gx, gy] = imageGradient(x);
  const auto norm = torch::sqrt(gx * gx + gy * gy + epsilon * epsilon);
  return torch::cat({gx / norm, gy / norm}, 1);
}

}  // namespace torcht1::mapping::imageops
