#pragma once

namespace torcht1::mapping {

/// Settings of the motion-correction stage (MotionCorrector), run on every slice before the
/// fit. Model-based: fit, synthesise each image from the model, register each image to its
/// synthetic twin (a global affine step, then a smooth non-rigid demons step), repeat; then
/// warp the original images once, into the position of the slice's key image (the longest
/// inversion time), and fit them.
struct MotionOptions {
  bool enabled = true;
  /// Model-based rounds (fit, synthesise, register).
  int rounds = 3;
  /// Registration resolution: the images are registered at 1/2^coarsestLevel .. 1/2^finestLevel
  /// of their size, the demons field down to 1/2^demonsFinestLevel (it is smooth; finer, it
  /// follows the noise). Each round fits and synthesises at the finest level it registers
  /// at; the rounds before the last stop one level short (they bring the images near, the
  /// last places the edges between blood and myocardium). bench/run-moco, myocardium within
  /// 5% (drift / gasp / warp / ShMOLLI drift + gasp), p95 error: finest level 1 (the last
  /// round at half size, the earlier at a quarter) 93.5 / 93.3 / 88.5 / 93.0 %, p95 9-17 %;
  /// 0 (the default: the last round at full size, the earlier at half) 95.2 / 94.4 / 90.4 /
  /// 93.5 %, p95 5-12 %, for about 1.5x the time of level 1 (one paired run, noisy here).
  int coarsestLevel = 2;
  int finestLevel = 0;
  int demonsFinestLevel = 1;
  /// The demons run in the last this-many rounds only (all of them when >= rounds); the
  /// earlier rounds are affine. A field estimated against the twins of images not yet
  /// aligned follows their blur, and the rounds add it up: on ShMOLLI with 3 mm drift the
  /// map moved 0.75 pixel off the key image with the demons in every round (1.0 with 6
  /// rounds), and the first round's field alone (0.7 mm of noise) kept a still ShMOLLI
  /// series from stopping. bench/run-moco's cases, one run each of
  /// `torcht1-moco-bench --repeats 1` (drift / gasp / warp / ShMOLLI, within 5%, p95):
  /// every round 95.2 / 94.3 / 90.3 / 93.5 %, p95 4.8 / 7.3 / 12.0 / 6.9 %; last round only
  /// 95.1 / 94.5 / 90.7 / 93.4 %, p95 4.9 / 6.2 / 11.0 / 6.7 %, the ShMOLLI still series
  /// stopped after its first round (171 ms against 819 ms).
  int demonsRounds = 1;
  /// Before the first fit, each image's translation onto the key image is searched
  /// exhaustively within +-this many pixels of the coarsest level (x4 at the default level 2:
  /// +-16 pixels, 30 mm at 1.9 mm pixels), by edge directions, whatever the contrast, and
  /// refined down to the pixels of the full size and the score's peak between them.
  int searchRadiusPixels = 4;
  /// Gauss-Newton iterations of the affine step per level.
  int affineIterations = 2;
  /// false: affine only.
  bool nonRigid = true;
  /// Demons iterations per level, their largest step (pixels of that level) and the
  /// Gaussian regularisation of the displacement field (sigma in mm, the same smoothness at
  /// any pixel size: bench/run-moco's warp case loses 1-3 points at 5.6 or 11 mm).
  int demonsIterations = 5;
  double demonsStepPixels = 0.75;
  double demonsSigmaMm = 8.0;
  /// The demons force is damped where the twin's gradient is below this many noise sigmas
  /// (per pixel of that level): noise alone must not move the field.
  double demonsNoiseGradient = 12.0;
  /// Images whose synthetic twin has less structure (RMS gradient in the tissue) than this
  /// fraction of the slice's best are near the signal null: they are not registered on their
  /// own but take the transform of the nearest image (in inversion time) that has enough.
  /// That neighbour comes from another inversion, heartbeats apart: a gasp on the image
  /// itself is lost. 0.05 (was 0.15) registers the weak images beside bright fat on their own
  /// (MotionCorrector.BrightFatPostContrast 87.5% -> 88.9%, ShMOLLI post-contrast with bright
  /// fat 81.7% -> 84.7%, both with 4 affine and 10 demons iterations; the other moving cases
  /// unchanged).
  double nullStructureFraction = 0.05;
  /// A transform whose Jacobian determinant falls below this anywhere in the tissue folds or
  /// nearly folds: its non-rigid part is dropped for that image.
  double minJacobian = 0.2;
  /// Registered images are kept only when they lower the tissue's fit residual (sum of
  /// squares) by at least 1 - this fraction of the unregistered fit's, beyond what resampling
  /// explains: a sub-pixel shift averages neighbouring pixels and lowers the residual of
  /// pure noise by up to 3/4 (that part, from the noise sigma and the interpolation weights,
  /// is credited first). Moving series drop to 10-30%.
  double maxResidualRatio = 0.9;
  /// After the first round, a batch in which no image of any slice moved by this many pixels
  /// (largest displacement from the key image in the valid tissue) is still: no further
  /// rounds, no warp, the unregistered fit (a still series costs a third). 0: never.
  double stillPixels = 0.5;
};

}  // namespace torcht1::mapping
