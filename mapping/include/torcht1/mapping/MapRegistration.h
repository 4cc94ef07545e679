#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torcht1::mapping {

/// A rigid in-plane transform in mm about the image centre: the registered image at p (mm
/// from the centre, x along the rows, y down the columns) takes the moving image's value at
/// R(rotationDeg) p + (shiftXMm, shiftYMm).
struct RigidTransform {
  double shiftXMm = 0, shiftYMm = 0, rotationDeg = 0;
};

struct MapRegistrationResult {
  /// True when the transform is used; false: the moving map is taken where it stands.
  bool kept = false;
  /// Why not, when not ("" when kept).
  std::string reason;
  /// The transform found (also when not kept).
  RigidTransform transform;
  /// Largest displacement |R p + t - p| over the fixed map's tissue, mm.
  double maxDisplacementMm = 0;
  /// Edge alignment (weighted mean squared dot product of the normalised gradient fields,
  /// 0..1) without and with the transform.
  double similarityBefore = 0, similarityAfter = 0;
};

/// Rigid registration of one slice's map from another breath-hold (the post-contrast T1 map)
/// onto a reference map (the native one), with the motion corrector's contrast-free
/// similarity: the two maps have opposite contrast (blood is longer than myocardium before
/// contrast and shorter after), so squared differences cannot compare them, but their edges
/// lie in the same places. Exhaustive coarse-to-fine search of rotation and translation
/// (every candidate of a level evaluated as one batch of tensors), kept only when it aligns
/// the edges better than no transform. Torch only, on the given device.
class MapRegistration {
 public:
  struct Options {
    double maxShiftMm = 15;      // search range of the translation, each axis
    double maxRotationDeg = 10;  // and of the rotation
    double minGain = 0.02;       // relative gain in similarity a transform must bring to be kept
    /// Weighting around the heart: a Gaussian of this sigma (mm) about the given centre;
    /// <= 0 or no centre: every voxel with a value in both maps alike.
    double weightSigmaMm = 50;
  };

  /// Throws FitError for out-of-range options.
  explicit MapRegistration(Options options, std::string device = "cpu");

  /// `fixed` and `moving`: [rows][cols], 0 where there is no value. `centreRow` and
  /// `centreCol` (pixels; negative = none) centre the weighting. Throws FitError for
  /// mismatched sizes.
  MapRegistrationResult align(const std::vector<float>& fixed, const std::vector<float>& moving, int64_t rows,
                              int64_t cols, double rowSpacingMm, double colSpacingMm, double centreRow = -1,
                              double centreCol = -1) const;

  /// `values` ([rows][cols], 0 = none) resampled by `transform` (bilinear); 0 where any of
  /// the four neighbours sampled has no value or lies outside the image.
  std::vector<float> warp(const std::vector<float>& values, const RigidTransform& transform, int64_t rows,
                          int64_t cols, double rowSpacingMm, double colSpacingMm) const;

 private:
  Options options_;
  std::string device_;
};

}  // namespace torcht1::mapping
