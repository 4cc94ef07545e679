#include "torcht1/phantom/PhantomGenerator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "torcht1/phantom/LookLockerSimulator.h"
#include "torcht1/phantom/MolliScheme.h"
#include "torcht1/phantom/Tissue.h"

namespace torcht1::phantom {

namespace {

bool insideEllipse(double x, double y, double cx, double cy, double rx, double ry) {
  const double dx = (x - cx) / rx, dy = (y - cy) / ry;
  return dx * dx + dy * dy <= 1.0;
}

/// Short-axis anatomy at normalised position (x, y) in [-1, 1]^2. `apex` runs from 0 at the
/// base to 1 at the apex and shrinks the heart.
TissueLabel anatomy(double x, double y, double apex) {
  if (!insideEllipse(x, y, 0, 0, 0.88, 0.68)) return TissueLabel::Background;
  if (!insideEllipse(x, y, 0, 0, 0.82, 0.62)) return TissueLabel::Fat;
  const double shrink = 1.0 - 0.35 * apex;
  const double hx = 0.12, hy = 0.02;  // left-ventricle centre
  const double lvBlood = 0.13 * shrink, lvWall = 0.21 * shrink;
  const double r = std::hypot(x - hx, y - hy);
  if (r <= lvBlood) return TissueLabel::Blood;
  if (r <= lvWall) return TissueLabel::Myocardium;
  // Right ventricle: a crescent beside the septum.
  if (insideEllipse(x, y, hx - 0.26 * shrink, hy + 0.02, 0.16 * shrink, 0.2 * shrink)) return TissueLabel::Blood;
  if (insideEllipse(x, y, -0.45, -0.05, 0.24, 0.36) || insideEllipse(x, y, 0.52, -0.08, 0.22, 0.34)) {
    return TissueLabel::Lung;
  }
  if (insideEllipse(x, y, -0.3, 0.45, 0.38, 0.16)) return TissueLabel::Liver;
  return TissueLabel::Muscle;
}

/// The lateral-wall segment of the myocardium with the scar's ECV (angles about the
/// left-ventricle centre, image coordinates: x right, y down).
bool inScar(double x, double y) {
  const double angle = std::atan2(y - 0.02, x - 0.12);
  return angle > -0.6 && angle < 0.5;
}

}  // namespace

PhantomGenerator::PhantomGenerator(PhantomOptions options) : options_(std::move(options)) {
  if (options_.size < 8 || options_.size > 2048) throw std::invalid_argument("phantom size must be 8..2048");
  if (options_.slices < 1 || options_.slices > 256) throw std::invalid_argument("phantom slices must be 1..256");
  if (options_.noise && !(options_.snr > 0)) throw std::invalid_argument("phantom SNR must be > 0");
  if (options_.scheme.empty()) options_.scheme = options_.postContrast ? "4(1)3(1)2" : "5(3)3";
  if (options_.recovery != "auto" && options_.recovery != "ideal" && options_.recovery != "piecewise") {
    throw std::invalid_argument("phantom recovery must be auto, ideal or piecewise, got '" + options_.recovery + "'");
  }
  for (const double mm : {options_.motionMm, options_.gaspMm, options_.warpMm}) {
    if (!(mm >= 0 && mm <= 50)) throw std::invalid_argument("phantom motion, gasp and warp must be 0..50 mm");
  }
  if (!(options_.fieldOfViewMm > 0)) throw std::invalid_argument("phantom field of view must be > 0 mm");
  if (options_.hematocrit != 0 && !(options_.hematocrit >= 0.1 && options_.hematocrit <= 0.7)) {
    throw std::invalid_argument("phantom hematocrit must be 0 (none) or 0.1..0.7");
  }
  for (const double e : {options_.myocardialEcv, options_.scarEcv}) {
    if (!(e > 0 && e < 1)) throw std::invalid_argument("phantom ECV must be between 0 and 1");
  }
  if (!(options_.bloodPostT1Ms >= 50 && options_.bloodPostT1Ms < tissue(TissueLabel::Blood).t1Native)) {
    throw std::invalid_argument("phantom post-contrast blood T1 must be 50 ms .. native blood T1");
  }
  for (const double mm : {options_.poseShiftXMm, options_.poseShiftYMm}) {
    if (!(std::abs(mm) <= 50)) throw std::invalid_argument("phantom pose shift must be -50..50 mm");
  }
  if (options_.partialVolume < 1 || options_.partialVolume > 8) throw std::invalid_argument("phantom partial volume must be 1..8");
  if (!(std::abs(options_.poseRotationDeg) <= 45)) throw std::invalid_argument("phantom pose rotation must be -45..45 degrees");
}

Phantom PhantomGenerator::generate() const {
  const MolliScheme scheme = MolliScheme::parse(options_.scheme);
  // The post-contrast half of an ECV pair (same seed, same study) has noise of its own.
  std::mt19937_64 rng(options_.hematocrit > 0 && options_.postContrast ? options_.seed ^ 0x9e3779b97f4a7c15ULL : options_.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);

  Phantom ph;
  ph.slices = options_.slices;
  ph.samples = scheme.imageCount();
  ph.rows = ph.cols = options_.size;
  ph.scheme = scheme.name();
  ph.piecewiseRecovery = options_.recovery == "piecewise" || (options_.recovery == "auto" && scheme.isShmolli());
  const int64_t voxels = ph.voxelsPerSlice();
  constexpr double m0 = 1000.0;
  const double myoA = m0 * tissue(TissueLabel::Myocardium).protonDensity *
                      tissue(TissueLabel::Myocardium).t1StarRatio;
  ph.noiseSigma = options_.noise ? myoA / options_.snr : 0.0;

  ph.pixels.assign(ph.slices * ph.samples * voxels, 0.0f);
  ph.times.resize(ph.slices * ph.samples);
  ph.labels.assign(ph.slices * voxels, 0);
  ph.t1.assign(ph.slices * voxels, 0.0f);
  ph.t1star = ph.a = ph.b = ph.t1;

  const bool ecvStudy = options_.hematocrit > 0;
  if (ecvStudy) {
    ph.ecv.assign(ph.slices * voxels, 0.0f);
    ph.hematocrit = options_.hematocrit;
  }
  const double bloodDeltaR1 = 1.0 / options_.bloodPostT1Ms - 1.0 / tissue(TissueLabel::Blood).t1Native;
  auto ecvAt = [&](double px, double py) { return inScar(px, py) ? options_.scarEcv : options_.myocardialEcv; };
  // The breath-hold's pose: the image at p shows the reference anatomy at R^-1 (p - t).
  const double poseAngle = options_.poseRotationDeg * 3.14159265358979 / 180.0;
  const double poseCos = std::cos(poseAngle), poseSin = std::sin(poseAngle);
  const double poseTx = options_.poseShiftXMm * 2.0 / options_.fieldOfViewMm;
  const double poseTy = options_.poseShiftYMm * 2.0 / options_.fieldOfViewMm;
  const bool posed = poseTx != 0 || poseTy != 0 || poseAngle != 0;

  ph.keySample.assign(ph.slices, 0);
  ph.trueDisplacementMm.assign(ph.slices * ph.samples, 0.0f);
  ph.pixelSpacingMm = options_.fieldOfViewMm / static_cast<double>(ph.cols);
  const double mmToUnit = 2.0 / options_.fieldOfViewMm;  // normalised coordinates span 2
  const bool moving = options_.motionMm != 0 || options_.gaspMm != 0 || options_.warpMm != 0;
  // Partial volume: the sub-sample positions of a pixel, relative to its centre (normalised units).
  const int pv = options_.partialVolume;
  std::vector<std::pair<double, double>> subOffsets;
  for (int j = 0; j < pv; ++j) {
    for (int i = 0; i < pv; ++i) {
      subOffsets.emplace_back(2.0 * ((i + 0.5) / pv - 0.5) / static_cast<double>(ph.cols),
                              2.0 * ((j + 0.5) / pv - 0.5) / static_cast<double>(ph.rows));
    }
  }
  ph.purity.assign(ph.slices * voxels, 1.0f);

  for (int64_t s = 0; s < ph.slices; ++s) {
    // Each slice is its own breath-hold: its own heart rate and trigger timing.
    const double heartRate = options_.heartRate + 4.0 * gauss(rng);
    const double firstTi = 100.0 + 5.0 * static_cast<double>(s % 4);
    const SchemeTimeline line = scheme.timeline(firstTi, 80.0, 60000.0 / heartRate, options_.rrJitter, rng);
    // Images in inversion-time order: the order of the samples.
    std::vector<size_t> order(line.images.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) {
      return line.images[i].inversionTime < line.images[j].inversionTime;
    });
    std::vector<double> ti;
    for (size_t i : order) ti.push_back(line.images[i].inversionTime);
    for (int64_t i = 0; i < ph.samples; ++i) ph.times[s * ph.samples + i] = static_cast<float>(ti[i]);
    const double apex = ph.slices > 1 ? static_cast<double>(s) / static_cast<double>(ph.slices - 1) : 0.0;

    // Motion of each sample relative to the key image (the longest TI, the last sample).
    const int64_t key = ph.samples - 1;
    ph.keySample[s] = key;
    const double keyTime = line.images[order[key]].time;
    double span = 1.0;
    for (const auto& image : line.images) span = std::max(span, std::abs(image.time - keyTime));
    size_t gasp = 0;  // acquisition index nearest the middle of the breath-hold
    const double middle = 0.5 * (line.images.front().time + line.images.back().time);
    for (size_t i = 0; i < line.images.size(); ++i) {
      if (std::abs(line.images[i].time - middle) < std::abs(line.images[gasp].time - middle)) gasp = i;
    }
    if (options_.gaspSample >= 0 && options_.gaspSample < ph.samples) gasp = order[options_.gaspSample];
    if (gasp == order[key]) gasp = (gasp + 1) % line.images.size();
    struct Motion {
      double dx = 0, dy = 0, warp = 0;  // normalised units
    };
    std::vector<Motion> motion(ph.samples);
    for (int64_t i = 0; i < ph.samples; ++i) {
      const double rel = (line.images[order[i]].time - keyTime) / span;  // -1..1
      const double drift = options_.motionMm * mmToUnit * std::abs(rel);
      motion[i].dx = drift * 0.287;  // direction (0.287, 0.958): mostly along the rows
      motion[i].dy = drift * 0.958;
      if (order[i] == gasp) {
        motion[i].dx += options_.gaspMm * mmToUnit * 0.447;
        motion[i].dy += options_.gaspMm * mmToUnit * 0.894;
      }
      motion[i].warp = options_.warpMm * mmToUnit * std::sin(3.14159265358979 * rel);
    }
    constexpr double warpCx = 0.12, warpCy = 0.02, warpSigma = 0.25;  // around the left ventricle
    const double warpPeak = warpSigma * std::exp(-0.5);                 // max of r exp(-r^2/2s^2)
    auto displacement = [&](int64_t i, double x, double y, double& dx, double& dy) {
      const double rx = x - warpCx, ry = y - warpCy;
      const double g = std::exp(-(rx * rx + ry * ry) / (2 * warpSigma * warpSigma)) / warpPeak;
      dx = motion[i].dx + motion[i].warp * rx * g;
      dy = motion[i].dy + motion[i].warp * ry * g;
    };

    for (int64_t row = 0; row < ph.rows; ++row) {
      for (int64_t col = 0; col < ph.cols; ++col) {
        const double x = 2.0 * (static_cast<double>(col) + 0.5) / static_cast<double>(ph.cols) - 1.0;
        const double y = 2.0 * (static_cast<double>(row) + 0.5) / static_cast<double>(ph.rows) - 1.0;
        const int64_t v = row * ph.cols + col;
        const double coil = 1.0 + 0.25 * x - 0.15 * y;  // smooth receive-coil sensitivity; it does not move
        // The tissue found at (px, py) of the reference anatomy, and its signal at each sample.
        struct Voxel {
          TissueLabel label = TissueLabel::Background;
          double t1 = 0, t1star = 0, a = 0, b = 0;
          double signal[64] = {0};
        };
        auto voxelAt = [&](double px, double py) {
          Voxel out;
          out.label = anatomy(px, py, apex);
          if (out.label == TissueLabel::Background) return out;
          const Tissue& tis = tissue(out.label);
          const double gain = !options_.brightFat                 ? 1.0
                              : out.label == TissueLabel::Fat   ? 8.0
                              : out.label == TissueLabel::Blood ? 4.0
                                                                : 1.0;
          const double variation = 1.0 + 0.02 * std::sin(5.0 * px + 1.3 * static_cast<double>(s)) * std::cos(4.0 * py);
          out.t1 = (options_.postContrast ? tis.t1Post : tis.t1Native) * variation;
          if (ecvStudy && options_.postContrast &&
              (out.label == TissueLabel::Blood || out.label == TissueLabel::Myocardium)) {
            const double native = tis.t1Native * variation;
            const double dr1 = out.label == TissueLabel::Blood ? bloodDeltaR1
                                                               : ecvAt(px, py) / (1.0 - options_.hematocrit) * bloodDeltaR1;
            out.t1 = 1.0 / (1.0 / native + dr1);
          }
          out.t1star = tis.t1StarRatio * out.t1;
          out.a = m0 * gain * tis.protonDensity * coil * tis.t1StarRatio;
          out.b = out.a * (1.0 + out.t1 / out.t1star);
          if (ph.piecewiseRecovery) {
            const auto m = LookLockerSimulator::signal(line, out.t1, out.t1star, out.a * out.t1 / out.t1star);
            for (int64_t i = 0; i < ph.samples; ++i) out.signal[i] = m[order[static_cast<size_t>(i)]];
          } else {
            for (int64_t i = 0; i < ph.samples; ++i) out.signal[i] = out.a - out.b * std::exp(-ti[i] / out.t1star);
          }
          return out;
        };
        const Voxel reference = voxelAt(x, y);
        if (reference.label != TissueLabel::Background) {
          ph.labels[s * voxels + v] = static_cast<uint8_t>(reference.label);
          ph.t1[s * voxels + v] = static_cast<float>(reference.t1);
          ph.t1star[s * voxels + v] = static_cast<float>(reference.t1star);
          ph.a[s * voxels + v] = static_cast<float>(reference.a);
          ph.b[s * voxels + v] = static_cast<float>(reference.b);
          if (ecvStudy && reference.label == TissueLabel::Myocardium) ph.ecv[s * voxels + v] = static_cast<float>(ecvAt(x, y));
        }
        if (pv > 1) {
          int same = 0;
          for (const auto& [ox, oy] : subOffsets) same += anatomy(x + ox, y + oy, apex) == reference.label;
          ph.purity[s * voxels + v] = static_cast<float>(same) / static_cast<float>(subOffsets.size());
        }
        // Where the anatomy that image i shows at image position (ix, iy) sits in the
        // reference position: the breath-hold's pose, then the motion within it.
        auto sourceOf = [&](int64_t i, double ix, double iy, double& sx, double& sy) {
          sx = ix;
          sy = iy;
          if (posed) {
            sx = poseCos * (ix - poseTx) + poseSin * (iy - poseTy);
            sy = -poseSin * (ix - poseTx) + poseCos * (iy - poseTy);
          }
          if (moving) {
            // The image shows at (x, y) the anatomy that was at (x, y) - d.
            double dx = 0, dy = 0;
            displacement(i, sx, sy, dx, dy);
            sx -= dx;
            sy -= dy;
            if (ix == x && iy == y && reference.label != TissueLabel::Background) {
              float& largest = ph.trueDisplacementMm[s * ph.samples + i];
              largest = std::max(largest, static_cast<float>(std::hypot(dx, dy) / mmToUnit));
            }
          }
        };
        Voxel posedVoxel;  // a still image's anatomy in this breath-hold's pose
        if (posed && !moving) {
          double px = x, py = y;
          sourceOf(0, x, y, px, py);
          posedVoxel = voxelAt(px, py);
        }
        for (int64_t i = 0; i < ph.samples; ++i) {
          double cx = x, cy = y;
          if (posed || moving) sourceOf(i, x, y, cx, cy);
          double signal = !posed && !moving ? reference.signal[i] : posed && !moving ? posedVoxel.signal[i]
                                                                                     : voxelAt(cx, cy).signal[i];
          if (pv > 1) {
            // Partial volume: the mean signed signal of the pixel's volume, where it mixes
            // tissues (a pixel of one tissue keeps its centre's signal).
            const TissueLabel centre = anatomy(cx, cy, apex);
            std::vector<std::pair<double, double>> sources;
            sources.reserve(subOffsets.size());
            bool mixed = false;
            for (const auto& [ox, oy] : subOffsets) {
              double qx = 0, qy = 0;
              sourceOf(i, x + ox, y + oy, qx, qy);
              sources.emplace_back(qx, qy);
              mixed = mixed || anatomy(qx, qy, apex) != centre;
            }
            if (mixed) {
              double sum = 0;
              for (const auto& [qx, qy] : sources) sum += voxelAt(qx, qy).signal[i];
              signal = sum / static_cast<double>(sources.size());
            }
          }
          double value = std::abs(signal);
          if (options_.noise) value = std::hypot(signal + ph.noiseSigma * gauss(rng), ph.noiseSigma * gauss(rng));
          ph.pixels[(s * ph.samples + i) * voxels + v] = static_cast<float>(value);
        }
      }
    }
  }
  return ph;
}

}  // namespace torcht1::phantom
