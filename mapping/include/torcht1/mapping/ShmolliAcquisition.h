#pragma once

#include <vector>

#include "torcht1/mapping/AcquisitionScheme.h"

namespace torcht1::mapping {

/// ShMOLLI, 5(1)1(1)1 (Piechnik et al., JCMR 2010;12:69): five images after the first
/// inversion (TI1 + n RR), then one after a second and one after a third inversion (about
/// TI1 + 80 and TI1 + 160 ms), each after a single recovery beat. For long T1 the sixth and
/// seventh images start from an incompletely recovered magnetisation and do not lie on the
/// first curve, so the published method fits conditionally, voxel by voxel:
/// - fit 5: the first inversion's samples (sorted indices 0, 3, 4, 5, 6); fit 6 adds index 1,
///   fit 7 all; each the 3-parameter MOLLI fit. RR is the mean of the four spacings
///   t3 - t0, t4 - t3, t5 - t4, t6 - t5; chi_n = sqrt(RSS_n / (n - 1)).
/// - 5 samples when fit 5 converged. Only when T1_5 <= RR, or fit 6 did not converge, or
///   T1_6 <= 0.4 RR, are more considered: 6 when fit 6 converged and chi_6 T1_6 < chi_5 RR;
///   then 7 when fit 7 converged, chi_7 T1_7 < 0.4 chi_6 RR and the T1 chosen so far < RR.
/// - Our additions where fit 5 did not converge (a short T1 at a fast heart rate leaves one
///   sample on the first recovery): fit 6 when it converged, without comparing with fit 5's
///   residual (the published code compares with fit 5's RSS instead of chi there, "legacy");
///   fit 7 when neither 5 nor 6 converged but 7 did (the published rules give no value).
/// "Converged" is: physical parameters and T1 within the valid range (the published code
/// tests A > 1); chi has a floor of 1e-4 |B| so that exact data meet the rules in their limit.
/// All three fits run on every fitted voxel at once (one batch each); the choice is a
/// per-voxel pass. The number of samples used is the map "SAMPLES" (0: none converged).
class ShmolliAcquisition : public AcquisitionScheme {
 public:
  std::string name() const override { return "ShMOLLI"; }
  /// The description or protocol says ShMOLLI, or some slice has ShMOLLI timing.
  bool recognises(const SchemeEvidence& evidence) const override;
  /// Every slice must have ShMOLLI timing (see timingProblem).
  std::string refusal(const SchemeEvidence& evidence) const override;
  FitResult fit(const MapFitter& fitter, const FitInput& input) const override;
  std::string method() const override;
  /// The second inversion's image (sorted sample 1) starts from the magnetisation read at the
  /// first inversion's last image (sample 6), the third's (sample 2) from the second's, each
  /// after two heartbeats less its own inversion time without readouts (5(1)1(1)1: the image,
  /// one recovery beat, the next image).
  std::vector<Reinversion> reinversions(const std::vector<double>& times) const override;
  /// From the map SAMPLES: 5 (fiveSamples), 6 (sixSamples), 7 (all) or 0 (none).
  uint64_t fittedSamples(const FitResult& fit, int64_t v, int64_t samples) const override;
  std::vector<std::string> extraMaps() const override { return {"SAMPLES"}; }

  /// Why `times` (ascending, ms) are not a ShMOLLI slice, or "": 7 images; the three first
  /// 40-200 ms apart (the three inversions' first images); the fourth more than 300 ms after
  /// the third; the four spacings t3 - t0, t4 - t3, t5 - t4, t6 - t5 (heartbeats) each within
  /// 30% of their mean, which lies between 250 and 2000 ms (30-240 bpm).
  static std::string timingProblem(const std::vector<double>& times);

  /// Sorted sample indices of the 5- and 6-sample fits.
  static const std::vector<int64_t>& fiveSamples();
  static const std::vector<int64_t>& sixSamples();
};

}  // namespace torcht1::mapping
