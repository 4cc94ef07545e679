#pragma once

#include <map>
#include <string>
#include <vector>

#include "torcht1/mapping/AcquisitionScheme.h"
#include "torcht1/mapping/FitInput.h"
#include "torcht1/mapping/MapFitter.h"
#include "torcht1/mapping/MotionOptions.h"

namespace torcht1::mapping {

/// What motion correction did to one slice.
struct SliceMotion {
  /// True when the registered images replaced the originals for the fit.
  bool corrected = false;
  /// Why not, when not ("" when corrected).
  std::string reason;
  /// Largest displacement of any image relative to the key image within the tissue, mm
  /// (measured also when the registration was not kept).
  double maxDisplacementMm = 0;
  /// The same per image (inversion-time order).
  std::vector<double> imageDisplacementMm;
  /// Smallest Jacobian determinant of any image's transform within the tissue (1 = no change
  /// of area, <= 0 = folding).
  double minJacobian = 1;
  /// Tissue fit residual (sum of squares) without and with the registration.
  double residualBefore = 0;
  double residualAfter = 0;
  /// How much of the drop resampling's smoothing of the noise explains (k - 3 degrees of
  /// freedom of sigma^2 per voxel, scaled by the interpolation's noise factor): the
  /// registration is kept only when the drop beyond it reaches 1 - max_residual_ratio.
  double residualSmoothing = 0;
  /// Images near the signal null that took a neighbour's transform, and images whose
  /// non-rigid part was dropped because it (nearly) folded.
  int inheritedImages = 0;
  int rigidOnlyImages = 0;
  /// Sample (in inversion-time order) whose position the registered images are in.
  int64_t keySample = 0;
};

struct MotionCorrection {
  /// The input with each corrected slice's images replaced by the registered ones.
  FitInput input;
  /// The scheme's fit of `input`, slice by slice the fit that judged it: no second fit.
  FitResult fit;
  std::vector<SliceMotion> slices;
  double seconds = 0;     // all of it
  double fitSeconds = 0;  // of which the fits it ran
  int fits = 0;
  /// Seconds per stage ("search", "rounds: fit", "rounds: demons", "final fit", ...).
  std::map<std::string, double> stageSeconds;
};

/// Model-based motion correction of every slice of a batch, before the fit (Xue et al., MRM
/// 2012; Gadgetron's T1 MOCO): all images of all slices are registered at once as tensors on
/// the fitter's device. Each round fits the current images with the scheme's fit of the
/// MOLLI model, synthesises every image from the fitted parameters (ShMOLLI's later
/// inversions through their incomplete recovery; the synthetic twin has the image's
/// contrast, including the dark band where a tissue crosses the null, so plain squared
/// differences compare them), and registers each original image to its twin: a global
/// affine Gauss-Newton step, then diffusion-regularised demons, coarse to fine. The images
/// near the null, with little structure, take the transform of their nearest neighbour in
/// inversion time. At the end every transform is re-expressed relative to the key image (the
/// longest inversion time, the most signal) and the originals are warped once into its
/// position. A slice keeps its registered images only when they lower the tissue's fit
/// residual; otherwise the originals are fitted and the reason is reported.
class MotionCorrector {
 public:
  /// Throws FitError for out-of-range options.
  explicit MotionCorrector(MotionOptions options);

  /// `rowSpacingMm` and `colSpacingMm` (pixel spacing) scale the reported displacement and
  /// turn the demons field's smoothness (`demonsSigmaMm`) into pixels. Every fit is the
  /// scheme's (ShMOLLI: its conditional fit); the images it leaves out of a voxel's curve
  /// are synthesised by the scheme's reinversions. `fit` of the result is the scheme's fit.
  /// Throws FitError for invalid input, a model other than MOLLI, or a scheme that refuses.
  MotionCorrection correct(const AcquisitionScheme& scheme, const MapFitter& fitter, const FitInput& input,
                           double rowSpacingMm, double colSpacingMm) const;
  /// The same with the MOLLI scheme of the fitter's options.
  MotionCorrection correct(const MapFitter& fitter, const FitInput& input, double rowSpacingMm,
                           double colSpacingMm) const;

  const MotionOptions& options() const { return options_; }

 private:
  MotionOptions options_;
};

}  // namespace torcht1::mapping
