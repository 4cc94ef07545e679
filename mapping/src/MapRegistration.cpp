#include "torcht1/mapping/MapRegistration.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "torcht1/mapping/Device.h"
#include "torcht1/mapping/FitError.h"
#include "ImageOps.h"

namespace torcht1::mapping {

namespace F = torch::nn::functional;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Geometry {
  int64_t rows, cols;
  double rowSpacing, colSpacing;
  double halfWidthMm() const { return 0.5 * static_cast<double>(cols) * colSpacing; }
  double halfHeightMm() const { return 0.5 * static_cast<double>(rows) * rowSpacing; }
};

/// grid_sample's theta (normalised coordinates, align_corners false) of `t`: q = S^-1 (R S p + t).
std::vector<float> thetaOf(const RigidTransform& t, const Geometry& g) {
  const double a = t.rotationDeg * kPi / 180.0, c = std::cos(a), s = std::sin(a);
  const double sx = g.halfWidthMm(), sy = g.halfHeightMm();
  return {static_cast<float>(c), static_cast<float>(-s * sy / sx), static_cast<float>(t.shiftXMm / sx),
          static_cast<float>(s * sx / sy), static_cast<float>(c), static_cast<float>(t.shiftYMm / sy)};
}

torch::Tensor thetas(const std::vector<RigidTransform>& ts, const Geometry& g, const torch::Device& device) {
  std::vector<float> all;
  all.reserve(ts.size() * 6);
  for (const auto& t : ts) {
    const auto th = thetaOf(t, g);
    all.insert(all.end(), th.begin(), th.end());
  }
  return torch::tensor(all).view({static_cast<int64_t>(ts.size()), 2, 3}).to(device);
}

torch::Tensor sampleBilinear(const torch::Tensor& image, const torch::Tensor& theta, int64_t h, int64_t w) {
  const auto grid = F::affine_grid(theta, {theta.size(0), image.size(1), h, w}, false);
  return F::grid_sample(image.expand({theta.size(0), image.size(1), image.size(2), image.size(3)}), grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
}

}  // namespace

MapRegistration::MapRegistration(Options options, std::string device) : options_(options), device_(std::move(device)) {
  if (!(options_.maxShiftMm > 0 && options_.maxShiftMm <= 100)) throw FitError("map registration: max shift must be 0..100 mm");
  if (!(options_.maxRotationDeg >= 0 && options_.maxRotationDeg <= 45)) {
    throw FitError("map registration: max rotation must be 0..45 degrees");
  }
  if (!(options_.minGain >= 0 && options_.minGain < 1)) throw FitError("map registration: min gain must be 0..1");
  resolveDevice(device_);
}

MapRegistrationResult MapRegistration::align(const std::vector<float>& fixed, const std::vector<float>& moving,
                                              int64_t rows, int64_t cols, double rowSpacingMm, double colSpacingMm,
                                              double centreRow, double centreCol) const {
  const size_t voxels = static_cast<size_t>(rows * cols);
  if (rows < 8 || cols < 8 || fixed.size() != voxels || moving.size() != voxels) {
    throw FitError("map registration: the maps must both be rows x cols (at least 8 x 8)");
  }
  if (!(rowSpacingMm > 0 && colSpacingMm > 0)) throw FitError("map registration: pixel spacing must be > 0");
  torch::NoGradGuard noGrad;
  const torch::Device device = resolveDevice(device_);
  const Geometry g{rows, cols, rowSpacingMm, colSpacingMm};
  auto toTensor = [&](const std::vector<float>& v) {
    return torch::from_blob(const_cast<float*>(v.data()), {1, 1, rows, cols}, torch::kFloat32).clone().to(device);
  };
  // Each map on its own scale (its median value 1): the contrast differs, the edges count.
  auto normalised = [&](const torch::Tensor& x) {
    const auto valid = x.gt(0);
    const auto values = x.masked_select(valid);
    const double median = values.numel() > 0 ? values.median().item<double>() : 1.0;
    return x / std::max(median, 1e-6);
  };
  const auto f = normalised(toTensor(fixed));
  const auto m = normalised(toTensor(moving));
  const auto fixedValid = f.gt(0).to(torch::kFloat32);
  auto weight = fixedValid;
  if (options_.weightSigmaMm > 0 && centreRow >= 0 && centreCol >= 0) {
    const auto opts = f.options();
    const auto y = (torch::arange(rows, opts) - centreRow) * rowSpacingMm;
    const auto x = (torch::arange(cols, opts) - centreCol) * colSpacingMm;
    const auto d2 = y.view({rows, 1}).pow(2) + x.view({1, cols}).pow(2);
    weight = weight * torch::exp(-0.5 * d2 / (options_.weightSigmaMm * options_.weightSigmaMm)).view({1, 1, rows, cols});
  }
  const auto eps = torch::full({1, 1, 1, 1}, 0.05, f.options());

  // Similarity of each candidate at one level: warp the moving map, then compare the
  // normalised gradient fields; candidates in chunks so that memory stays bounded.
  auto scores = [&](const std::vector<RigidTransform>& candidates, int64_t h, int64_t w) {
    const auto fl = imageops::resize(f, h, w, true);
    const auto ml = imageops::resize(m, h, w, true);
    const auto wl = imageops::resize(weight, h, w, true);
    const auto fixedField = imageops::normalisedGradient(fl, eps);
    const double norm = std::max(wl.sum().item<double>(), 1e-12);
    const Geometry gl{h, w, rowSpacingMm * static_cast<double>(rows) / static_cast<double>(h),
                      colSpacingMm * static_cast<double>(cols) / static_cast<double>(w)};
    std::vector<double> out;
    const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 21) / (h * w));
    for (size_t begin = 0; begin < candidates.size(); begin += static_cast<size_t>(chunk)) {
      const size_t end = std::min(candidates.size(), begin + static_cast<size_t>(chunk));
      const std::vector<RigidTransform> part(candidates.begin() + static_cast<std::ptrdiff_t>(begin),
                                             candidates.begin() + static_cast<std::ptrdiff_t>(end));
      const auto warped = sampleBilinear(ml, thetas(part, gl, device), h, w);
      const auto field = imageops::normalisedGradient(warped, eps);
      const auto s = ((field * fixedField).sum(1, true).pow(2) * wl).sum({1, 2, 3}) / norm;
      const auto cpu = s.to(torch::kCPU).to(torch::kFloat64).contiguous();
      out.insert(out.end(), cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel());
    }
    return out;
  };

  // Coarse to fine: the coarsest level has pixels of about 5 mm.
  const double pixelMm = std::max(rowSpacingMm, colSpacingMm);
  int coarsest = 0;
  while (coarsest < 3 && pixelMm * static_cast<double>(int64_t{2} << coarsest) <= 6.0 &&
         std::min(rows, cols) / (int64_t{2} << coarsest) >= 32) {
    ++coarsest;
  }
  RigidTransform best;
  double stepMm = pixelMm * static_cast<double>(int64_t{1} << coarsest);
  int radius = static_cast<int>(std::ceil(options_.maxShiftMm / stepMm));
  double rotStep = options_.maxRotationDeg > 0 ? 2.0 : 0.0;
  int rotRadius = options_.maxRotationDeg > 0 ? static_cast<int>(std::ceil(options_.maxRotationDeg / 2.0)) : 0;
  // Levels: the coarsest, every finer one, then three refinements at full resolution.
  for (int pass = 0; pass <= coarsest + 3; ++pass) {
    const int level = std::max(0, coarsest - pass);
    const int64_t h = std::max<int64_t>(8, rows >> level), w = std::max<int64_t>(8, cols >> level);
    std::vector<RigidTransform> candidates;
    for (int r = -rotRadius; r <= rotRadius; ++r) {
      for (int dy = -radius; dy <= radius; ++dy) {
        for (int dx = -radius; dx <= radius; ++dx) {
          RigidTransform t{best.shiftXMm + dx * stepMm, best.shiftYMm + dy * stepMm, best.rotationDeg + r * rotStep};
          if (std::abs(t.shiftXMm) > options_.maxShiftMm + 1e-9 || std::abs(t.shiftYMm) > options_.maxShiftMm + 1e-9 ||
              std::abs(t.rotationDeg) > options_.maxRotationDeg + 1e-9) {
            continue;
          }
          candidates.push_back(t);
        }
      }
    }
    const auto s = scores(candidates, h, w);
    best = candidates[static_cast<size_t>(std::max_element(s.begin(), s.end()) - s.begin())];
    // The next pass searches +-1 step of this one at half the step.
    stepMm *= 0.5;
    radius = 2;
    rotStep *= 0.5;
    rotRadius = options_.maxRotationDeg > 0 ? 2 : 0;
  }

  MapRegistrationResult result;
  result.transform = best;
  const auto final = scores({RigidTransform{}, best}, rows, cols);
  result.similarityBefore = final[0];
  result.similarityAfter = final[1];
  // Largest displacement over the fixed map's tissue.
  {
    const double a = best.rotationDeg * kPi / 180.0, c = std::cos(a), sn = std::sin(a);
    double largest = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t col = 0; col < cols; ++col) {
        if (!(fixed[static_cast<size_t>(r * cols + col)] > 0)) continue;
        const double x = (static_cast<double>(col) + 0.5) * colSpacingMm - g.halfWidthMm();
        const double y = (static_cast<double>(r) + 0.5) * rowSpacingMm - g.halfHeightMm();
        const double dx = c * x - sn * y + best.shiftXMm - x, dy = sn * x + c * y + best.shiftYMm - y;
        largest = std::max(largest, std::hypot(dx, dy));
      }
    }
    result.maxDisplacementMm = largest;
  }
  if (result.similarityAfter >= result.similarityBefore * (1.0 + options_.minGain)) {
    result.kept = true;
  } else {
    char buffer[160];
    std::snprintf(buffer, sizeof buffer, "the registration did not align the edges better (similarity %.3f -> %.3f)",
                  result.similarityBefore, result.similarityAfter);
    result.reason = buffer;
  }
  return result;
}

std::vector<float> MapRegistration::warp(const std::vector<float>& values, const RigidTransform& transform,
                                         int64_t rows, int64_t cols, double rowSpacingMm, double colSpacingMm) const {
  const size_t voxels = static_cast<size_t>(rows * cols);
  if (values.size() != voxels) throw FitError("map registration: the map to warp must be rows x cols");
  torch::NoGradGuard noGrad;
  const torch::Device device = resolveDevice(device_);
  const auto x = torch::from_blob(const_cast<float*>(values.data()), {1, 1, rows, cols}, torch::kFloat32).clone().to(device);
  const auto valid = x.gt(0).to(torch::kFloat32);
  const auto theta = thetas({transform}, Geometry{rows, cols, rowSpacingMm, colSpacingMm}, device);
  const auto warpedValues = sampleBilinear(x, theta, rows, cols);
  const auto warpedValid = sampleBilinear(valid, theta, rows, cols);
  const auto out = torch::where(warpedValid.gt(0.999), warpedValues, torch::zeros_like(warpedValues))
                       .to(torch::kCPU)
                       .contiguous();
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

}  // namespace torcht1::mapping
