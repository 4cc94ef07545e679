#pragma once

#include "torcht1/mapping/AcquisitionScheme.h"

namespace torcht1::mapping {

/// MOLLI 5(3)3, 4(1)3(1)2, 3(3)3(3)5 and the like: one 3-parameter fit of every image
/// (with enough recovery beats between inversions, they all lie on one curve). T1 is the
/// Look-Locker correction T1*(B/A - 1), times MolliOptions::t1Scale (1 unless a site matches
/// vendor maps). Also the scheme for any series no other scheme claims, with the configured
/// model (t2: no scale).
class MolliAcquisition : public AcquisitionScheme {
 public:
  explicit MolliAcquisition(const FitOptions& options);

  std::string name() const override { return "MOLLI"; }
  bool recognises(const SchemeEvidence& evidence) const override;
  std::string refusal(const SchemeEvidence& evidence) const override;
  FitResult fit(const MapFitter& fitter, const FitInput& input) const override;
  std::string method() const override;

 private:
  /// fit.molli.t1_scale on the fitter's result.
  void scale(FitResult& result) const;

  std::string model_;
  double t1Scale_ = 1.0;
  double validMin_ = 0, validMax_ = 0;
};

}  // namespace torcht1::mapping
