#include "torcht1/mapping/MotionCorrector.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

#include <torch/torch.h>

#include "torcht1/mapping/Device.h"
#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/MolliAcquisition.h"
#include "ImageOps.h"

namespace torcht1::mapping {

namespace F = torch::nn::functional;
using torch::indexing::Slice;
constexpr auto None = torch::indexing::None;

using imageops::imageGradient;
using imageops::normalisedGradient;
using imageops::resize;

namespace {

/// One transform per image, in grid_sample's normalised coordinates (align_corners false):
/// the image is sampled at affine(y) + field(y).
struct Transforms {
  torch::Tensor theta;  // [N, 2, 3]
  torch::Tensor field;  // [N, 2, h, w] displacement (x, y), normalised units; undefined = none
};

/// The n x n matrix M of a 1-D Gaussian blur with replicate borders: blurred = x M, x a row
/// of n values (M[j][i]: the weight of source j in output i). Two products with such banded
/// matrices smooth a field about ten times faster on the CPU than the same convolutions.
torch::Tensor blurMatrix(int64_t size, double sigma, const torch::TensorOptions& opts) {
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * sigma)));
  auto k = torch::arange(-radius, radius + 1, opts);
  k = torch::exp(-0.5 * k * k / (sigma * sigma));
  k = k / k.sum();
  const auto lopts = torch::TensorOptions().dtype(torch::kLong).device(opts.device());
  const auto out = torch::arange(size, lopts).view({1, -1}).expand({2 * radius + 1, size});
  const auto src = (out + torch::arange(-radius, radius + 1, lopts).view({-1, 1})).clamp(0, size - 1);
  auto m = torch::zeros({size, size}, opts);
  m.index_put_({src.reshape(-1), out.reshape(-1)}, k.view({-1, 1}).expand({2 * radius + 1, size}).reshape(-1), true);
  return m;
}

torch::Tensor sample(const torch::Tensor& image, const torch::Tensor& grid) {
  return F::grid_sample(image, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
}

/// The sampling grid [N, h, w, 2] of `t` at size h x w.
torch::Tensor gridOf(const Transforms& t, int64_t h, int64_t w) {
  const int64_t n = t.theta.size(0);
  auto grid = F::affine_grid(t.theta, {n, 1, h, w}, false);
  if (t.field.defined()) grid = grid + resize(t.field, h, w, false).permute({0, 2, 3, 1});
  return grid;
}

/// What the registration needs of one pyramid level, made once per MOCO call (the images
/// and weights never change between rounds, only the twins): the images with their
/// gradients for the affine step, its Gauss-Newton monomials, the demons' blur matrices.
struct Level {
  int level = 0;
  int64_t h = 0, w = 0;
  torch::Tensor moving;       // [N, 1, h, w]
  torch::Tensor weight;       // [N, 1, h, w] the affine step's weight (tissue, dilated)
  torch::Tensor validWeight;  // [N, 1, h, w] the demons' weight (validly fitted tissue)
  torch::Tensor stack;        // [N, 3, h, w] the image and its gradient in normalised units
  torch::Tensor monomials;    // [V, 6]
  torch::Tensor position;     // [V, 3]
  torch::Tensor blurX, blurYT;  // the demons' Gaussian, undefined without demons here

  Level(int lv, const torch::Tensor& full, const torch::Tensor& weightFull, const torch::Tensor& validFull,
        double sigmaPixels, bool demons)
      : level(lv),
        h(std::max<int64_t>(8, full.size(2) >> lv)),
        w(std::max<int64_t>(8, full.size(3) >> lv)),
        moving(resize(full, h, w, true)),
        weight(resize(weightFull, h, w, true)),
        validWeight(resize(validFull, h, w, true)) {
    auto [gx, gy] = imageGradient(moving);
    stack = torch::cat({moving, gx * (0.5 * static_cast<double>(w)), gy * (0.5 * static_cast<double>(h))}, 1);
    const auto base = F::affine_grid(torch::eye(2, 3, moving.options()).unsqueeze(0), {1, 1, h, w}, false);
    const auto bx = base.index({Slice(), Slice(), Slice(), 0}).reshape({1, 1, h * w});
    const auto by = base.index({Slice(), Slice(), Slice(), 1}).reshape({1, 1, h * w});
    const auto one = torch::ones_like(bx);
    monomials = torch::cat({one, bx, by, bx * bx, bx * by, by * by}, 1).view({6, h * w}).t().contiguous();
    position = torch::cat({bx, by, one}, 1).view({3, h * w}).t().contiguous();
    if (demons) {
      blurX = blurMatrix(w, sigmaPixels, moving.options());
      blurYT = blurMatrix(h, sigmaPixels, moving.options()).t().contiguous();
    }
  }
};

/// Weighted Gauss-Newton steps of the affine part with the field held fixed. `translationOnly`
/// keeps the linear part as it is (the coarsest level of the first round).
void affineSteps(Transforms& t, const Level& lv, const torch::Tensor& target, int iterations, bool translationOnly) {
  const auto& moving = lv.moving;
  const int64_t n = moving.size(0), h = lv.h, w = lv.w;
  const auto& stack = lv.stack;
  const auto wt = lv.weight.reshape({n, 1, h * w});
  auto keep = torch::ones({6}, moving.options());
  if (translationOnly) keep = torch::tensor({0.f, 0.f, 1.f, 0.f, 0.f, 1.f}, moving.options());
  const auto eye6 = torch::eye(6, moving.options()).unsqueeze(0);
  // The Gauss-Newton sums without the [N, 6, V] Jacobian: with u = (x, y, 1) the pixel's
  // position, J = (sx u, sy u), so H = sum w (s_i s_j)(u_c u_d) needs only the three gradient
  // products against the six monomials of u (one matrix product), and the gradient
  // sum w r s_i u_c the two weighted residuals against u.
  const auto& monomials = lv.monomials;  // [V, 6]
  const auto& position = lv.position;    // [V, 3]
  // H's 36 entries as (gradient product, monomial) pairs: parameter p = (i, c), i = x or y.
  static const int64_t kMonomial[3][3] = {{3, 4, 1}, {4, 5, 2}, {1, 2, 0}};
  std::vector<int64_t> pick;
  for (int a = 0; a < 6; ++a) {
    for (int b = 0; b < 6; ++b) pick.push_back((a / 3 + b / 3) * 6 + kMonomial[a % 3][b % 3]);
  }
  const auto pickIndex = torch::tensor(pick, torch::TensorOptions().dtype(torch::kLong)).to(moving.device());
  const auto keepOuter = (keep.view({6, 1}) * keep.view({1, 6})).unsqueeze(0);
  const auto fieldGrid = t.field.defined() ? resize(t.field, h, w, false).permute({0, 2, 3, 1}) : torch::Tensor();
  for (int it = 0; it < iterations; ++it) {
    auto grid = F::affine_grid(t.theta, {n, 1, h, w}, false);
    if (fieldGrid.defined()) grid = grid + fieldGrid;
    const auto s = sample(stack, grid).reshape({n, 3, h * w});
    const auto r = s.index({Slice(), Slice(0, 1)}) - target.reshape({n, 1, h * w});
    const auto sx = s.index({Slice(), Slice(1, 2)}), sy = s.index({Slice(), Slice(2, 3)});
    const auto wsx = wt * sx, wsy = wt * sy;
    const auto products = torch::cat({wsx * sx, wsx * sy, wsy * sy}, 1).view({n * 3, h * w});
    auto hess = products.matmul(monomials).view({n, 18}).index_select(1, pickIndex).view({n, 6, 6}) * keepOuter;
    const auto grad = (torch::cat({wsx * r, wsy * r}, 1).view({n * 2, h * w}).matmul(position).view({n, 6}) * keep).unsqueeze(2);
    const auto diag = torch::diagonal(hess, 0, 1, 2);
    const auto scale = diag.mean(1, true).clamp_min(1e-12).unsqueeze(2);
    hess = hess + eye6 * (0.1 * diag.unsqueeze(2) + 1e-4 * scale + (1 - keep).view({1, 6, 1}));
    const auto delta = -torch::linalg_solve(hess, grad).reshape({n, 2, 3});
    t.theta = t.theta + delta;
  }
}

/// Demons steps of the field with the affine part held fixed (Thirion's force with the mean
/// of both gradients, at most `step` pixels per iteration, Gaussian-regularised).
void demonsSteps(Transforms& t, const Level& lv, const torch::Tensor& target, const torch::Tensor& noiseFloor,
                 const MotionOptions& o) {
  const auto& moving = lv.moving;
  const int64_t n = moving.size(0), h = lv.h, w = lv.w;
  if (!t.field.defined()) t.field = torch::zeros({n, 2, h, w}, moving.options());
  t.field = resize(t.field, h, w, false);
  auto [tx, ty] = imageGradient(target);
  const double kappa = 1.0 / (4.0 * o.demonsStepPixels * o.demonsStepPixels);
  const auto toUnit = torch::tensor({2.0f / static_cast<float>(w), 2.0f / static_cast<float>(h)}, moving.options()).view({1, 2, 1, 1});
  // Per iteration only the field changes: the affine grid and the force's gradient term are
  // made once.
  const auto affine = F::affine_grid(t.theta, {n, 1, h, w}, false);
  const auto g = torch::cat({tx, ty}, 1);
  const auto gg = (g * g).sum(1, true) + noiseFloor;
  const auto gw = g * lv.validWeight * toUnit;
  const auto& bx = lv.blurX;
  const auto& byT = lv.blurYT;
  for (int it = 0; it < o.demonsIterations; ++it) {
    const auto r = sample(moving, affine + t.field.permute({0, 2, 3, 1})) - target;
    const auto update = gw * (-r / (gg + kappa * r * r).clamp_min(1e-12));
    auto f = (t.field + update).reshape({n * 2 * h, w}).matmul(bx);
    t.field = torch::matmul(byT, f.view({n * 2, h, w})).view({n, 2, h, w});
  }
}

/// A reinversion (AcquisitionScheme::Reinversion) of every slice of a batch: the same
/// samples in each, the recovery per slice [S, 1, 1].
struct BatchReinversion {
  int64_t sample = 0, previous = 0;
  torch::Tensor recoveryMs;
};

/// Synthetic twins of the images `y` [N, 1, H, W] (N = slices x k) from the fitted curve
/// |A - B exp(-t/T1*)|, each point on it predicted as if its own sample had been left out of
/// the fit: y - r / (1 - h), with r the fit residual and h the sample's leverage (the diagonal
/// of J (J^T J)^-1 J^T, J the model's Jacobian at the fit). The plain fitted value would be
/// pulled towards a misplaced image by its own sample (for the early, high-leverage inversion
/// times by more than half), so that each round would correct only part of the motion. The
/// leverage is capped at 0.75 so that noise is amplified at most 3 times.
/// `onCurve` [S, k, H, W] (undefined: every sample) says which samples the scheme's fit used
/// per voxel; the others are predicted without their own sample anyway: on the curve, or for
/// a reinversion that the fit left out, from the magnetisation of its previous image, which
/// recovers with T1 = T1*(B/A - 1) towards B - A (the equilibrium in the curve's units), is
/// inverted, and recovers with T1* towards A.
torch::Tensor leaveOneOut(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& t1star,
                          const torch::Tensor& times, const torch::Tensor& y, int64_t slices, int64_t k,
                          const torch::Tensor& onCurve, const std::vector<BatchReinversion>& reinversions) {
  const int64_t h = y.size(2), w = y.size(3);
  auto view = [&](const torch::Tensor& x) { return x.reshape({slices, k, h, w}); };
  const auto ts = view(t1star).clamp_min(1e-3), bs = view(b), as = view(a);
  const auto t = times.reshape({slices, k, 1, 1});
  const auto e = torch::exp(-t / ts);
  const auto model = as - bs * e;
  const auto sg = torch::sign(model);
  auto j0 = sg, j1 = -sg * e, j2 = -sg * bs * e * t / (ts * ts);
  if (onCurve.defined()) {
    j0 = j0 * onCurve;
    j1 = j1 * onCurve;
    j2 = j2 * onCurve;
  }
  auto sum = [](const torch::Tensor& x) { return x.sum(1, true); };
  const auto m00 = sum(j0 * j0), m01 = sum(j0 * j1), m02 = sum(j0 * j2);
  const auto m11 = sum(j1 * j1), m12 = sum(j1 * j2), m22 = sum(j2 * j2);
  // Inverse of the symmetric 3x3 by its adjugate.
  const auto c00 = m11 * m22 - m12 * m12, c01 = m02 * m12 - m01 * m22, c02 = m01 * m12 - m02 * m11;
  const auto c11 = m00 * m22 - m02 * m02, c12 = m01 * m02 - m00 * m12, c22 = m00 * m11 - m01 * m01;
  const auto det = m00 * c00 + m01 * c01 + m02 * c02;
  const auto lev = (j0 * j0 * c00 + j1 * j1 * c11 + j2 * j2 * c22 + 2 * (j0 * j1 * c01 + j0 * j2 * c02 + j1 * j2 * c12)) / det;
  const auto hcap = torch::where(torch::isfinite(lev), lev, torch::zeros_like(lev)).clamp(0.0, 0.75);
  const auto fitted = torch::abs(model);
  const auto yy = view(y);
  auto twin = yy - (yy - fitted) / (1 - hcap);
  if (onCurve.defined() && !reinversions.empty()) {
    // Signed magnetisation per image, in acquisition order of the reinversions.
    auto signedM = model.clone();
    const auto a0 = as.index({Slice(), Slice(0, 1)}), b0 = bs.index({Slice(), Slice(0, 1)}), ts0 = ts.index({Slice(), Slice(0, 1)});
    const auto t1 = torch::nan_to_num(ts0 * (b0 / a0 - 1), 1e5, 1e5, 1.0).clamp(1.0, 1e5);
    const auto m0 = b0 - a0;
    for (const auto& r : reinversions) {
      const auto prev = signedM.index({Slice(), Slice(r.previous, r.previous + 1)});
      const auto pre = m0 - (m0 - prev) * torch::exp(-r.recoveryMs.view({slices, 1, 1, 1}) / t1);
      const auto ti = t.index({Slice(), Slice(r.sample, r.sample + 1)});
      const auto chained = a0 - (a0 + pre) * torch::exp(-ti / ts0);
      const auto inFit = onCurve.index({Slice(), Slice(r.sample, r.sample + 1)}) > 0;
      signedM.index_put_({Slice(), Slice(r.sample, r.sample + 1)},
                         torch::where(inFit, model.index({Slice(), Slice(r.sample, r.sample + 1)}), chained));
      twin.index_put_({Slice(), Slice(r.sample, r.sample + 1)},
                      torch::where(inFit, twin.index({Slice(), Slice(r.sample, r.sample + 1)}), torch::abs(chained)));
    }
  }
  return twin.reshape({slices * k, 1, h, w});
}

/// Whole-pixel translations of every image onto its slice's key image by exhaustive search
/// of the normalised-gradient-field similarity (sum over the tissue of the squared dot
/// product of both images' edge directions): contrast- and polarity-free, so that it holds
/// for the early images that the model cannot place (MOLLI's first images come in pairs
/// that alone determine the early curve: the model accepts both shifted together). Coarse
/// to full size, +-`radius` pixels at the coarsest level, +-1 at the finer ones; at full
/// size, the score's peak between whole pixels.
void searchTranslations(Transforms& t, const torch::Tensor& moving, const torch::Tensor& weight, const torch::Tensor& noise,
                        const std::vector<int64_t>& key, int64_t k, int coarsest, int radius) {
  const int64_t n = moving.size(0), rows = moving.size(2), cols = moving.size(3);
  const auto opts = moving.options();
  auto keyIndex = torch::empty({n}, torch::TensorOptions().dtype(torch::kLong));
  for (int64_t i = 0; i < n; ++i) keyIndex[i] = (i / k) * k + key[static_cast<size_t>(i / k)];
  keyIndex = keyIndex.to(opts.device());
  // The translation `shift` (pixels of an h x w level) as grid_sample's affine transforms.
  auto translation = [&](const torch::Tensor& shift, int64_t h, int64_t w) {
    auto theta = torch::eye(2, 3, opts).unsqueeze(0).repeat({n, 1, 1});
    theta.index_put_({Slice(), 0, 2}, shift.index({Slice(), 0}) * (2.0 / static_cast<double>(w)));
    theta.index_put_({Slice(), 1, 2}, shift.index({Slice(), 1}) * (2.0 / static_cast<double>(h)));
    return theta;
  };
  torch::Tensor field, keyField;  // of the current level
  // Each image's field at `shift` (whole pixels: no interpolation), padded by r with flat
  // (zero) field, so that every further whole-pixel shift up to r is a window into it.
  auto placedAt = [&](const torch::Tensor& shift, int64_t h, int64_t w, int r) {
    return F::pad(F::grid_sample(field, F::affine_grid(translation(shift, h, w), {n, 2, h, w}, false),
                                 F::GridSampleFuncOptions().mode(torch::kNearest).padding_mode(torch::kZeros).align_corners(false)),
                  F::PadFuncOptions({r, r, r, r}));
  };
  // The score of the window d = (dx, dy) further (sampling at y + d) [N].
  auto scoreOf = [&](const torch::Tensor& placed, int64_t h, int64_t w, int r, int dx, int dy) {
    const auto s = placed.index({Slice(), Slice(), Slice(r + dy, r + dy + h), Slice(r + dx, r + dx + w)});
    return (s * keyField).sum(1, true).pow(2).sum({1, 2, 3});
  };
  const int64_t h0 = std::max<int64_t>(8, rows), w0 = std::max<int64_t>(8, cols);  // the full size's grid
  auto best = torch::zeros({n, 2}, opts);  // translation in pixels of the current level
  std::vector<torch::Tensor> scores;       // of the full size's window, [N] each
  bool centred = false;                    // every image's best there is the window's centre
  for (int level = coarsest; level >= 0; --level) {
    const int64_t h = std::max<int64_t>(8, rows >> level), w = std::max<int64_t>(8, cols >> level);
    if (level != coarsest) best = best * 2;
    const auto m = resize(moving, h, w, true);
    const auto eps = noise * (3.0 / static_cast<double>(int64_t{1} << level));
    field = normalisedGradient(m, eps);
    // The key image's field with the square root of the weight folded in: the score
    // sum w (s . k)^2 is then sum (s . k')^2.
    keyField = field.index_select(0, keyIndex) * resize(weight, h, w, true).index_select(0, keyIndex).sqrt();
    const int r = level == coarsest ? radius : 1;
    const bool keep = level == 0 && r == 1;
    torch::Tensor bestScore, bestShift;
    const auto placed = placedAt(best, h, w, r);
    for (int dy = -r; dy <= r; ++dy) {
      for (int dx = -r; dx <= r; ++dx) {
        const auto shift = best + torch::tensor({static_cast<float>(dx), static_cast<float>(dy)}, opts).view({1, 2});
        const auto score = scoreOf(placed, h, w, r, dx, dy);
        if (keep) scores.push_back(score);
        if (!bestScore.defined()) {
          bestScore = score;
          bestShift = shift;
        } else {
          const auto better = (score > bestScore).unsqueeze(1);
          bestShift = torch::where(better, shift, bestShift);
          bestScore = torch::max(score, bestScore);
        }
      }
    }
    if (keep) centred = (bestShift == best).all().item<bool>();
    best = bestShift;
  }
  // Sub-pixel: the vertex of a parabola through the scores at the best whole-pixel shift and
  // its neighbours, in x and in y (interpolating the field itself would blur it, and whole
  // pixels would always win). Where every image's best is the centre of the last window, its
  // neighbours' scores are known already.
  torch::Tensor c, left, right, up, down;
  if (centred) {
    c = scores[4];
    left = scores[3];
    right = scores[5];
    up = scores[1];
    down = scores[7];
  } else {
    const auto placed = placedAt(best, h0, w0, 1);
    c = scoreOf(placed, h0, w0, 1, 0, 0);
    left = scoreOf(placed, h0, w0, 1, -1, 0);
    right = scoreOf(placed, h0, w0, 1, 1, 0);
    up = scoreOf(placed, h0, w0, 1, 0, -1);
    down = scoreOf(placed, h0, w0, 1, 0, 1);
  }
  auto offset = [&](const torch::Tensor& lo, const torch::Tensor& hi) {
    const auto curv = lo - 2 * c + hi;
    return torch::where(curv < 0, (0.5 * (lo - hi) / curv.clamp_max(-1e-12)).clamp(-0.5, 0.5), torch::zeros_like(c));
  };
  best = best + torch::stack({offset(left, right), offset(up, down)}, 1);
  t.theta = translation(best, h0, w0);
}

/// Bicubic resampling of `image` [N, 1, H, W] at `grid` [N, h, w, 2] (border padding, magnitude
/// data), each value clamped to the range of the four pixels bilinear interpolation would
/// use. Bicubic keeps edges sharper than bilinear, but its negative lobes ring: beside fat
/// eight times brighter than the myocardium, the overshoot reaches half the myocardium's
/// signal and lowers its T1 (MotionCorrector.BrightFatPostContrast: 79.0% of the myocardium
/// within 5% with plain bicubic, 87.5% clamped). Clamped, it never leaves its neighbours' range.
torch::Tensor clampedBicubic(const torch::Tensor& image, const torch::Tensor& grid) {
  const int64_t h = image.size(2), w = image.size(3);
  const auto cubic = torch::grid_sampler(image, grid, /*bicubic*/ 2, /*border*/ 1, false);
  // The 2x2 block whose top-left pixel is the floor of the sampled position: its max and min
  // (pooled over a replicate-padded image), read at that pixel's centre.
  const auto padded = F::pad(image, F::PadFuncOptions({0, 1, 0, 1}).mode(torch::kReplicate));
  const auto high = F::max_pool2d(padded, F::MaxPool2dFuncOptions(2).stride(1));
  const auto low = -F::max_pool2d(-padded, F::MaxPool2dFuncOptions(2).stride(1));
  const auto px = ((grid.index({"...", 0}) + 1) * (0.5 * static_cast<double>(w)) - 0.5).clamp(0, static_cast<double>(w - 1));
  const auto py = ((grid.index({"...", 1}) + 1) * (0.5 * static_cast<double>(h)) - 0.5).clamp(0, static_cast<double>(h - 1));
  const auto cx = (2 * torch::floor(px) + 1) / static_cast<double>(w) - 1;
  const auto cy = (2 * torch::floor(py) + 1) / static_cast<double>(h) - 1;
  const auto corner = torch::stack({cx, cy}, 3);
  const auto nearest = F::GridSampleFuncOptions().mode(torch::kNearest).padding_mode(torch::kBorder).align_corners(false);
  return torch::max(torch::min(cubic, F::grid_sample(high, corner, nearest)), F::grid_sample(low, corner, nearest));
}

/// Pixel-unit Jacobian determinant of a sampling grid [N, H, W, 2].
torch::Tensor jacobianDeterminant(const torch::Tensor& grid) {
  const int64_t h = grid.size(1), w = grid.size(2);
  const auto px = (grid.index({"...", 0}) * (0.5 * static_cast<double>(w))).unsqueeze(1);
  const auto py = (grid.index({"...", 1}) * (0.5 * static_cast<double>(h))).unsqueeze(1);
  auto [xx, xy] = imageGradient(px);
  auto [yx, yy] = imageGradient(py);
  return (xx * yy - xy * yx).squeeze(1);
}

/// Per pixel of a sampling grid [N, h, w, 2] (grid_sample's normalised coordinates, align_corners
/// false), the factor by which bilinear interpolation there scales the variance of white
/// noise: ((1 - fx)^2 + fx^2) ((1 - fy)^2 + fy^2), fx and fy the fractional parts of the sampled
/// position; 1 on the pixel centres, 1/4 half-way between four of them. [N, h, w].
torch::Tensor interpolationNoiseFactor(const torch::Tensor& grid) {
  const int64_t h = grid.size(1), w = grid.size(2);
  const auto px = (grid.index({"...", 0}) + 1) * (0.5 * static_cast<double>(w)) - 0.5;
  const auto py = (grid.index({"...", 1}) + 1) * (0.5 * static_cast<double>(h)) - 0.5;
  const auto fx = px - torch::floor(px), fy = py - torch::floor(py);
  return ((1 - fx).pow(2) + fx.pow(2)) * ((1 - fy).pow(2) + fy.pow(2));
}

}  // namespace

MotionCorrector::MotionCorrector(MotionOptions options) : options_(options) {
  const auto& o = options_;
  if (o.rounds < 1 || o.rounds > 10) throw FitError("motion_correction.rounds must be 1..10");
  if (o.finestLevel < 0 || o.coarsestLevel < o.finestLevel || o.coarsestLevel > 5) {
    throw FitError("motion_correction levels must satisfy 0 <= finest_level <= coarsest_level <= 5");
  }
  if (o.demonsFinestLevel < 0 || o.demonsFinestLevel > 5) throw FitError("motion_correction.demons_finest_level must be 0..5");
  if (o.demonsRounds < 1 || o.demonsRounds > 10) throw FitError("motion_correction.demons_rounds must be 1..10");
  if (o.affineIterations < 0 || o.affineIterations > 100) throw FitError("motion_correction.affine_iterations must be 0..100");
  if (o.demonsIterations < 0 || o.demonsIterations > 500) throw FitError("motion_correction.demons_iterations must be 0..500");
  if (!(o.demonsStepPixels > 0 && o.demonsStepPixels <= 5)) throw FitError("motion_correction.demons_step_pixels must be in (0, 5]");
  if (!(o.demonsSigmaMm >= 1 && o.demonsSigmaMm <= 40)) throw FitError("motion_correction.demons_sigma_mm must be 1..40");
  if (!(o.nullStructureFraction >= 0 && o.nullStructureFraction < 1)) {
    throw FitError("motion_correction.null_structure_fraction must be in [0, 1)");
  }
  if (!(o.minJacobian > 0 && o.minJacobian < 1)) throw FitError("motion_correction.min_jacobian must be in (0, 1)");
  if (!(o.maxResidualRatio > 0 && o.maxResidualRatio <= 1)) throw FitError("motion_correction.max_residual_ratio must be in (0, 1]");
  if (!(o.stillPixels >= 0 && o.stillPixels <= 5)) throw FitError("motion_correction.still_pixels must be 0..5");
  if (o.searchRadiusPixels < 0 || o.searchRadiusPixels > 16) throw FitError("motion_correction.search_radius_pixels must be 0..16");
  if (!(o.demonsNoiseGradient >= 0 && o.demonsNoiseGradient <= 100)) {
    throw FitError("motion_correction.demons_noise_gradient must be 0..100");
  }
}

MotionCorrection MotionCorrector::correct(const MapFitter& fitter, const FitInput& input, double rowSpacingMm,
                                          double colSpacingMm) const {
  return correct(MolliAcquisition(fitter.options()), fitter, input, rowSpacingMm, colSpacingMm);
}

MotionCorrection MotionCorrector::correct(const AcquisitionScheme& scheme, const MapFitter& fitter, const FitInput& input,
                                          double rowSpacingMm, double colSpacingMm) const {
  const auto start = std::chrono::steady_clock::now();
  input.validate();
  if (fitter.options().model != "molli") throw FitError("motion correction needs the MOLLI model");
  if (const std::string refusal = scheme.motionRefusal(); !refusal.empty()) {
    throw FitError("no motion correction for " + scheme.name() + ": " + refusal);
  }
  const int64_t slices = input.slices, k = input.samples, rows = input.rows, cols = input.cols;
  const int64_t n = slices * k, voxels = rows * cols;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(resolveDevice(fitter.device()));
  torch::NoGradGuard noGrad;
  const auto& o = options_;

  MotionCorrection out;
  out.input = input;
  out.slices.resize(static_cast<size_t>(slices));
  const auto original =
      torch::from_blob(const_cast<float*>(input.pixels.data()), {n, 1, rows, cols}, torch::kFloat32).to(opts);
  const auto times = torch::from_blob(const_cast<float*>(input.times.data()), {n, 1, 1, 1}, torch::kFloat32).to(opts);

  // The unregistered fit: its tissue (fitted voxels) weighs the registration and judges it.
  auto lap = std::chrono::steady_clock::now();
  auto stage = [&](const char* name) {
    const auto now = std::chrono::steady_clock::now();
    out.stageSeconds[name] += std::chrono::duration<double>(now - lap).count();
    lap = now;
  };
  auto timedFit = [&](const FitInput& in) {
    const auto t0 = std::chrono::steady_clock::now();
    FitResult r = scheme.fit(fitter, in);
    out.fitSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++out.fits;
    return r;
  };
  const FitResult before = timedFit(input);
  std::vector<uint8_t> fitted(static_cast<size_t>(slices * voxels));
  std::vector<uint8_t> valid(fitted.size());
  for (size_t v = 0; v < fitted.size(); ++v) {
    fitted[v] = before.status[v] != VoxelStatus::Background;
    valid[v] = before.status[v] == VoxelStatus::Valid;
  }
  // The registration looks at the tissue the unregistered fit could map: noise-level voxels
  // (lungs, the edge of the air) have twins that are noise too, and would pull the field.
  const auto tissue = torch::from_blob(fitted.data(), {slices, 1, rows, cols}, torch::kUInt8).to(opts).to(torch::kFloat32);
  const auto validTissue =
      torch::from_blob(valid.data(), {slices, 1, rows, cols}, torch::kUInt8).to(opts).to(torch::kFloat32).repeat_interleave(k, 0);
  const auto near = F::max_pool2d(tissue, F::MaxPool2dFuncOptions(5).stride(1).padding(2));
  const auto weightFull = near.repeat_interleave(k, 0);

  // Per slice, its key image: the longest inversion time.
  std::vector<int64_t> key(static_cast<size_t>(slices));
  for (int64_t s = 0; s < slices; ++s) {
    const auto* t = &input.times[static_cast<size_t>(s * k)];
    key[static_cast<size_t>(s)] = std::max_element(t, t + k) - t;
    out.slices[static_cast<size_t>(s)].keySample = key[static_cast<size_t>(s)];
  }
  // The scheme's reinversions (ShMOLLI's later inversions), the same samples in every slice.
  std::vector<BatchReinversion> reinversions;
  for (int64_t s = 0; s < slices; ++s) {
    const std::vector<double> times(input.times.begin() + s * k, input.times.begin() + (s + 1) * k);
    const auto list = scheme.reinversions(times);
    if (s == 0) reinversions.resize(list.size());
    if (list.size() != reinversions.size()) throw FitError("the slices of a motion-correction batch differ in their inversions");
    for (size_t r = 0; r < list.size(); ++r) {
      if (s == 0) {
        reinversions[r].sample = list[r].sample;
        reinversions[r].previous = list[r].previous;
        reinversions[r].recoveryMs = torch::empty({slices}, torch::kFloat32);
      } else if (list[r].sample != reinversions[r].sample || list[r].previous != reinversions[r].previous) {
        throw FitError("the slices of a motion-correction batch differ in their inversions");
      }
      if (list[r].sample < 0 || list[r].sample >= k || list[r].previous < 0 || list[r].previous >= k) {
        throw FitError("a reinversion names a sample outside the slice");
      }
      reinversions[r].recoveryMs[s] = static_cast<float>(list[r].recoveryMs);
    }
  }
  for (auto& r : reinversions) r.recoveryMs = r.recoveryMs.to(opts);
  // Per voxel of a fit of this batch's shape, which samples the scheme's fit used (undefined:
  // all, MOLLI).
  auto onCurveOf = [&](const FitResult& fit) {
    if (reinversions.empty()) return torch::Tensor();
    const int64_t v = fit.rows * fit.cols;
    std::vector<float> mask(static_cast<size_t>(slices * k * v));
    for (int64_t s = 0; s < slices; ++s) {
      for (int64_t p = 0; p < v; ++p) {
        const uint64_t bits = scheme.fittedSamples(fit, s * v + p, k);
        for (int64_t i = 0; i < k; ++i) mask[static_cast<size_t>((s * k + i) * v + p)] = (bits >> i) & 1 ? 1.0f : 0.0f;
      }
    }
    return torch::from_blob(mask.data(), {slices, k, fit.rows, fit.cols}, torch::kFloat32).to(opts).clone();
  };

  // Intensities scaled per slice so that the damping and the demons force are scale-free.
  const auto scale = original.reshape({slices, -1}).amax(1).clamp_min(1e-6).repeat_interleave(k).view({n, 1, 1, 1});
  const auto moving = original / scale;
  std::vector<float> sigma;
  for (const auto& st : before.sliceStats) sigma.push_back(static_cast<float>(st.noiseSigma));
  const auto noiseScaled =
      torch::tensor(sigma, torch::kFloat32).to(opts).repeat_interleave(k).view({n, 1, 1, 1}) / scale;

  Transforms t;
  t.theta = torch::eye(2, 3, opts).unsqueeze(0).repeat({n, 1, 1});
  stage("prepare");
  // Down to the pixels of the full size, and between them: the model cannot place MOLLI's
  // paired early images, and the rounds keep what the search leaves (bench/run-moco's
  // myocardium within 5%, drift / gasp / warp / ShMOLLI: 91.8 / 90.9 / 90.9 / 86.8 % with the
  // search stopping at whole pixels of half size, 94.3 / 93.8 / 90.2 / 92.8 % now).
  searchTranslations(t, moving, weightFull, noiseScaled, key, k, o.coarsestLevel, o.searchRadiusPixels);
  stage("search");
  FitResult current;
  std::vector<int> inherited(static_cast<size_t>(slices), 0);

  // Registered or not, the scheme fits the voxels the unregistered fit chose, with its noise.
  auto keepMaskAndNoise = [&](FitInput& in) {
    in.foreground = fitted;
    in.noiseSigma.clear();
    in.noiseSource.clear();
    for (const auto& st : before.sliceStats) {
      in.noiseSigma.push_back(st.noiseSigma);
      in.noiseSource.push_back(st.noiseSource);
    }
  };
  keepMaskAndNoise(out.input);
  // The originals warped with `grid` as fit input, fitting the unregistered fit's voxels.
  auto warpedInput = [&](const torch::Tensor& grid) {
    FitInput warped = input;
    // Bicubic: sharper edges than bilinear, where blood meets myocardium; clamped to its
    // neighbours' range (no ringing beside bright fat; never below 0).
    const auto pixels = clampedBicubic(original, grid)
                            .clamp_min(0)
                            .contiguous()
                            .to(torch::kCPU);
    std::copy(pixels.data_ptr<float>(), pixels.data_ptr<float>() + n * voxels, warped.pixels.begin());
    keepMaskAndNoise(warped);
    return warped;
  };

  // Each round fits and synthesises at the finest level it registers at: the twins are never
  // needed finer, and a fit of 2x2-averaged images costs less (their noise is halved).
  struct FitGrid {
    int64_t h = 0, w = 0;
    double shrink = 1;
    torch::Tensor tissue, tissueImages, weight;  // [S, 1, h, w] bool, [N, 1, h, w] bool, [N, 1, h, w]
    std::vector<uint8_t> foreground;
  };
  std::map<int, FitGrid> fitGrids;
  auto fitGridAt = [&](int level) -> const FitGrid& {
    auto [it, inserted] = fitGrids.try_emplace(level);
    FitGrid& g = it->second;
    if (!inserted) return g;
    g.h = std::max<int64_t>(8, rows >> level);
    g.w = std::max<int64_t>(8, cols >> level);
    g.shrink = std::sqrt(static_cast<double>(rows * cols) / static_cast<double>(g.h * g.w));
    g.tissue = resize(tissue, g.h, g.w, true) >= 0.5;
    g.tissueImages = g.tissue.repeat_interleave(k, 0);
    g.weight = resize(weightFull, g.h, g.w, true);
    const auto cpu = g.tissue.to(torch::kUInt8).contiguous().to(torch::kCPU);
    g.foreground.assign(cpu.data_ptr<uint8_t>(), cpu.data_ptr<uint8_t>() + slices * g.h * g.w);
    return g;
  };
  // The originals sampled at `grid`, at the fit grid's size: the fit's input (and, scaled, the
  // images the twins replace where they are not defined).
  auto lowInput = [&](const FitGrid& g, const torch::Tensor& grid, torch::Tensor& images) {
    FitInput low;
    low.slices = slices;
    low.samples = k;
    low.rows = g.h;
    low.cols = g.w;
    images = resize(sample(original, grid), g.h, g.w, true).contiguous();
    const auto pixels = images.to(torch::kCPU);
    low.pixels.assign(pixels.data_ptr<float>(), pixels.data_ptr<float>() + n * g.h * g.w);
    low.times = input.times;
    low.foreground = g.foreground;
    for (const auto& st : before.sliceStats) low.noiseSigma.push_back(st.noiseSigma / g.shrink);
    return low;
  };

  // Into the key image's position: sample each image at T_i(T_key^-1(y)).
  auto finalGridAt = [&](const Transforms& tr, int64_t gh, int64_t gw) {
    const auto keyIndex = torch::tensor(std::vector<int64_t>(key.begin(), key.end()), torch::kLong).to(opts.device()) +
                          torch::arange(slices, torch::TensorOptions().dtype(torch::kLong).device(opts.device())) * k;
    const auto thetaKey = tr.theta.index_select(0, keyIndex);           // [S, 2, 3]
    const auto aKey = thetaKey.index({Slice(), Slice(), Slice(0, 2)});  // [S, 2, 2]
    const auto aInv = torch::linalg_inv(aKey);
    const auto tKey = thetaKey.index({Slice(), Slice(), 2});            // [S, 2]
    const auto y = F::affine_grid(torch::eye(2, 3, opts).unsqueeze(0).repeat({slices, 1, 1}), {slices, 1, gh, gw}, false);
    auto solve = [&](const torch::Tensor& rhs) {  // A^-1 rhs, rhs [S, H, W, 2]
      return torch::einsum("sij,shwj->shwi", {aInv, rhs});
    };
    auto z = solve(y - tKey.view({slices, 1, 1, 2}));
    torch::Tensor fieldKey;
    if (tr.field.defined()) {
      fieldKey = tr.field.index_select(0, keyIndex);
      for (int it = 0; it < 8; ++it) {
        const auto u = sample(fieldKey, z).permute({0, 2, 3, 1});
        z = solve(y - tKey.view({slices, 1, 1, 2}) - u);
      }
    }
    const auto zi = z.repeat_interleave(k, 0);  // [N, H, W, 2]
    auto grid = torch::einsum("nij,nhwj->nhwi", {tr.theta.index({Slice(), Slice(), Slice(0, 2)}), zi}) +
                tr.theta.index({Slice(), Slice(), 2}).view({n, 1, 1, 2});
    if (tr.field.defined()) grid = grid + sample(tr.field, zi).permute({0, 2, 3, 1});
    return grid;
  };

  auto finalGrid = [&](const Transforms& tr) { return finalGridAt(tr, rows, cols); };
  // Each image's displacement (mm) from the key image's position, largest in the valid tissue
  // [S, k], of a grid at any size.
  const auto spacing = torch::tensor({static_cast<float>(0.5 * static_cast<double>(cols) * colSpacingMm),
                                      static_cast<float>(0.5 * static_cast<double>(rows) * rowSpacingMm)},
                                     opts);
  auto displacementOf = [&](const torch::Tensor& g) {
    const int64_t gh = g.size(1), gw = g.size(2);
    const auto at = F::affine_grid(torch::eye(2, 3, opts).unsqueeze(0), {1, 1, gh, gw}, false);
    const auto mm = ((g - at) * spacing).pow(2).sum(3).sqrt();
    // Read where the fit was valid: the field's spill into noise at the tissue's edge is
    // no motion of anything a reader looks at.
    const auto inValid = (gh == rows && gw == cols ? validTissue : resize(validTissue, gh, gw, true)).squeeze(1) > 0.5;
    return torch::where(inValid, mm, torch::zeros_like(mm)).amax({1, 2}).view({slices, k});
  };
  // A batch in which the first round finds no image of any slice moved by stillPixels (half a
  // pixel by default) is still: a warp would only resample (and blur) it, so it is not registered further.
  const double stillMm = o.stillPixels * std::min(rowSpacingMm, colSpacingMm);

  // The pyramid, made level by level when a round first reaches it (full size only in the
  // last round: a still batch stops before); the demons run down to demonsFinestLevel (the
  // field is smooth: finer, it would follow the noise), the affine step to finestLevel.
  std::map<int, Level> levels;
  auto levelAt = [&](int level) -> const Level& {
    if (const auto it = levels.find(level); it != levels.end()) return it->second;
    const double reduce = static_cast<double>(int64_t{1} << level);
    // The field's smoothness in mm, whatever the pixel size (at least half a pixel).
    const double sigmaPixels = std::max(0.5, o.demonsSigmaMm / (0.5 * (rowSpacingMm + colSpacingMm) * reduce));
    const bool demons = o.nonRigid && o.demonsIterations > 0 && level >= o.demonsFinestLevel;
    return levels.try_emplace(level, level, moving, weightFull, validTissue, sigmaPixels, demons).first->second;
  };

  for (int round = 0; round < o.rounds; ++round) {
    // The earlier rounds stop a level short of the finest: they bring the images near, the
    // last one places the edges (the same maps as every round at the finest level, for less).
    const int finest = round + 1 == o.rounds ? o.finestLevel : std::min(o.coarsestLevel, o.finestLevel + 1);
    const FitGrid& fg = fitGridAt(finest);
    // Every round fits the images as registered so far (the first: after the search).
    const auto grid = gridOf(t, rows, cols);
    stage("rounds: other");
    torch::Tensor sampled;
    current = timedFit(lowInput(fg, grid, sampled));
    stage("rounds: fit");
    const auto currentImages = sampled / scale;
    // Synthetic twins |A - B exp(-t/T1*)|; outside the fitted tissue, the image itself.
    auto mapOf = [&](const char* name) {
      return torch::from_blob(const_cast<float*>(current.map(name).data()), {slices, 1, fg.h, fg.w}, torch::kFloat32)
          .to(opts)
          .repeat_interleave(k, 0);
    };
    const auto a = mapOf("A"), b = mapOf("B"), t1star = mapOf("T1star");
    auto synth = leaveOneOut(a, b, t1star, times, sampled, slices, k, onCurveOf(current), reinversions) / scale;
    stage("rounds: synthesis");
    synth = torch::where(torch::isfinite(synth) & fg.tissueImages & (t1star > 0), synth, currentImages);

    // Structure of each twin in the tissue: images near the null take a neighbour's transform.
    auto [sx, sy] = imageGradient(synth);
    const auto structure = ((sx * sx + sy * sy) * fg.weight).sum({1, 2, 3}) / fg.weight.sum({1, 2, 3}).clamp_min(1);
    const auto structureCpu = structure.sqrt().to(torch::kCPU);

    for (int level = o.coarsestLevel; level >= finest; --level) {
      const Level& lv = levelAt(level);
      const auto target = resize(synth, lv.h, lv.w, true);
      stage("rounds: other");
      affineSteps(t, lv, target, o.affineIterations, round == 0 && lv.level == o.coarsestLevel);
      stage("rounds: affine");
      if (lv.blurX.defined() && round >= o.rounds - o.demonsRounds) {
        // Where the twin's gradient does not stand clear of the noise, the force is damped:
        // a gradient of noise alone would otherwise move the field at random.
        const double reduce = static_cast<double>(int64_t{1} << lv.level);
        demonsSteps(t, lv, target, (noiseScaled * (o.demonsNoiseGradient / reduce)).pow(2), o);
      }
      stage("rounds: demons");
    }

    // Near-null images: the transform of the nearest image in inversion time with structure.
    const float* st = structureCpu.data_ptr<float>();
    for (int64_t s = 0; s < slices; ++s) {
      float best = 0;
      for (int64_t i = 0; i < k; ++i) best = std::max(best, st[s * k + i]);
      inherited[static_cast<size_t>(s)] = 0;
      for (int64_t i = 0; i < k; ++i) {
        if (st[s * k + i] >= o.nullStructureFraction * best) continue;
        int64_t donor = -1;
        for (int64_t j = 0; j < k; ++j) {
          if (st[s * k + j] < o.nullStructureFraction * best) continue;
          const float dj = std::abs(input.times[static_cast<size_t>(s * k + j)] - input.times[static_cast<size_t>(s * k + i)]);
          if (donor < 0 ||
              dj < std::abs(input.times[static_cast<size_t>(s * k + donor)] - input.times[static_cast<size_t>(s * k + i)])) {
            donor = j;
          }
        }
        if (donor < 0) continue;
        t.theta[s * k + i] = t.theta[s * k + donor];
        if (t.field.defined()) t.field[s * k + i] = t.field[s * k + donor];
        ++inherited[static_cast<size_t>(s)];
      }
    }
    if (round == 0 && o.stillPixels > 0) {
      const auto found = displacementOf(finalGridAt(t, fg.h, fg.w)).to(torch::kCPU).contiguous();
      if (found.max().item<float>() < stillMm) {
        stage("rounds: other");
        for (int64_t s = 0; s < slices; ++s) {
          auto& sm = out.slices[static_cast<size_t>(s)];
          sm.imageDisplacementMm.assign(found.data_ptr<float>() + s * k, found.data_ptr<float>() + (s + 1) * k);
          sm.maxDisplacementMm = *std::max_element(sm.imageDisplacementMm.begin(), sm.imageDisplacementMm.end());
          sm.inheritedImages = inherited[static_cast<size_t>(s)];
          char reason[160];
          std::snprintf(reason, sizeof reason,
                        "no motion found: at most %.1f mm after the first round, less than %.2g pixel (%.1f mm)",
                        sm.maxDisplacementMm, o.stillPixels, stillMm);
          sm.reason = reason;
        }
        out.fit = before;
        out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return out;
      }
    }
  }

  stage("rounds: other");
  auto grid = finalGrid(t);
  stage("final grid");
  auto jac = jacobianDeterminant(grid);
  const auto inTissue = weightFull.squeeze(1) > 0;
  auto minJac = torch::where(inTissue, jac, torch::full_like(jac, 1e9)).amin({1, 2});  // [N]
  std::vector<int> rigidOnly(static_cast<size_t>(slices), 0);
  if (t.field.defined()) {
    const auto folds = (minJac < o.minJacobian).to(torch::kCPU);
    if (folds.any().item<bool>()) {
      const auto* f = folds.data_ptr<bool>();
      for (int64_t i = 0; i < n; ++i) {
        if (!f[i]) continue;
        t.field[i].zero_();
        ++rigidOnly[static_cast<size_t>(i / k)];
      }
      grid = finalGrid(t);
      jac = jacobianDeterminant(grid);
      minJac = torch::where(inTissue, jac, torch::full_like(jac, 1e9)).amin({1, 2});
    }
  }
  const auto imageDisplacement = displacementOf(grid);
  const auto maxDisplacement = imageDisplacement.amax(1).to(torch::kCPU);
  const auto imageDisplacementCpu = imageDisplacement.to(torch::kCPU).contiguous();
  const auto minJacSlice = minJac.view({slices, k}).amin(1).to(torch::kCPU);

  // Warp the originals once, fit, and keep a slice's registration only where it helps.
  stage("jacobian, displacement");
  const FitInput registeredInput = warpedInput(grid);
  stage("final warp");
  const FitResult after = timedFit(registeredInput);
  stage("final fit");
  const auto& rssBefore = before.map("RSS");
  const auto& rssAfter = after.map("RSS");
  // Resampling averages neighbouring pixels, and with them their noise: a sub-pixel shift
  // lowers the residual of pure noise by up to 3/4 without aligning anything. What the noise
  // alone would leave, k - 3 degrees of freedom of sigma^2 per voxel, scaled by each image's
  // interpolation factor, is credited to the unregistered fit before the two are compared.
  const auto noiseFactor = interpolationNoiseFactor(grid).view({slices, k, rows, cols}).mean(1).contiguous().to(torch::kCPU);
  const float* factor = noiseFactor.data_ptr<float>();
  for (int64_t s = 0; s < slices; ++s) {
    auto& sm = out.slices[static_cast<size_t>(s)];
    double sumBefore = 0, sumAfter = 0, smoothing = 0;
    const double noiseRss = static_cast<double>(k - 3) * std::pow(before.sliceStats[static_cast<size_t>(s)].noiseSigma, 2);
    for (int64_t v = s * voxels; v < (s + 1) * voxels; ++v) {
      if (!fitted[static_cast<size_t>(v)]) continue;
      // A scheme that fits some voxels with fewer samples (ShMOLLI: 5, 6 or 7, perhaps not the
      // same before and after) has its residuals brought to k samples' degrees of freedom.
      const int usedBefore = __builtin_popcountll(scheme.fittedSamples(before, v, k));
      const int usedAfter = __builtin_popcountll(scheme.fittedSamples(after, v, k));
      if (usedBefore <= 3 || usedAfter <= 3) continue;
      const double b0 = rssBefore[static_cast<size_t>(v)] * static_cast<double>(k - 3) / (usedBefore - 3);
      const double a0 = rssAfter[static_cast<size_t>(v)] * static_cast<double>(k - 3) / (usedAfter - 3);
      if (std::isfinite(b0) && std::isfinite(a0)) {
        sumBefore += b0;
        sumAfter += a0;
        smoothing += noiseRss * (1.0 - static_cast<double>(factor[v]));
      }
    }
    sm.residualBefore = sumBefore;
    sm.residualAfter = sumAfter;
    sm.residualSmoothing = smoothing;
    // The part of the drop that aligned something.
    const double aligned = sumBefore - sumAfter - smoothing;
    sm.maxDisplacementMm = maxDisplacement[s].item<float>();
    sm.imageDisplacementMm.assign(imageDisplacementCpu.data_ptr<float>() + s * k, imageDisplacementCpu.data_ptr<float>() + (s + 1) * k);
    sm.minJacobian = minJacSlice[s].item<float>();
    sm.inheritedImages = inherited[static_cast<size_t>(s)];
    sm.rigidOnlyImages = rigidOnly[static_cast<size_t>(s)];
    char reason[160] = "";
    if (!(sm.minJacobian > 0)) {
      std::snprintf(reason, sizeof reason, "the registration folds (Jacobian %.2f)", sm.minJacobian);
    } else if (!(aligned > (1.0 - o.maxResidualRatio) * sumBefore)) {
      std::snprintf(reason, sizeof reason,
                    "the registration lowered the tissue residual by %.1f%% beyond resampling's smoothing, not the %.0f%% required",
                    sumBefore > 0 ? 100.0 * aligned / sumBefore : 0.0, 100.0 * (1.0 - o.maxResidualRatio));
    }
    sm.reason = reason;
    sm.corrected = sm.reason.empty();
    if (sm.corrected) {
      std::copy(registeredInput.pixels.begin() + s * k * voxels, registeredInput.pixels.begin() + (s + 1) * k * voxels,
                out.input.pixels.begin() + s * k * voxels);
    }
  }
  // The fit of `out.input`, slice by slice the one that judged it: no need to fit it again.
  out.fit = after;
  for (int64_t s = 0; s < slices; ++s) {
    if (out.slices[static_cast<size_t>(s)].corrected) continue;
    const auto from = s * voxels, to = (s + 1) * voxels;
    for (auto& [name, values] : out.fit.maps) {
      const auto& src = before.map(name);
      std::copy(src.begin() + from, src.begin() + to, values.begin() + from);
    }
    std::copy(before.status.begin() + from, before.status.begin() + to, out.fit.status.begin() + from);
    out.fit.sliceStats[static_cast<size_t>(s)] = before.sliceStats[static_cast<size_t>(s)];
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace torcht1::mapping
