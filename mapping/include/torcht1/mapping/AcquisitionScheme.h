#pragma once

#include <string>
#include <vector>

#include "torcht1/mapping/FitInput.h"
#include "torcht1/mapping/FitOptions.h"
#include "torcht1/mapping/FitResult.h"
#include "torcht1/mapping/MapFitter.h"

namespace torcht1::mapping {

/// What a series shows of its acquisition, as plain data (the DICOM side fills it in).
struct SchemeEvidence {
  std::string description;   // SeriesDescription
  std::string protocolName;
  /// Per slice, the inversion times of its images, ascending, ms.
  std::vector<std::vector<double>> inversionTimes;
};

/// An acquisition scheme the node can fit: how to recognise it, when to refuse a series that
/// claims it, and how to turn its images into maps. The pipeline asks the SchemeCatalog which
/// scheme a series is and then only talks to that object: a new scheme (T2, T2*) is a new
/// small class here, not string comparisons in the node or the DICOM code.
class AcquisitionScheme {
 public:
  virtual ~AcquisitionScheme() = default;

  /// "MOLLI", "ShMOLLI".
  virtual std::string name() const = 0;
  /// True when the series says it is this scheme, by its description or by its timing.
  virtual bool recognises(const SchemeEvidence& evidence) const = 0;
  /// Why this scheme cannot fit the series, in one line naming the slice; "" when it can.
  virtual std::string refusal(const SchemeEvidence& evidence) const = 0;
  /// Fits one batch of slices (every slice with the same number of images, ascending times).
  /// Throws FitError.
  virtual FitResult fit(const MapFitter& fitter, const FitInput& input) const = 0;
  /// Where this scheme's fit is the fitter's own fit of the input followed by a step on its
  /// result (MOLLI: fit.molli.t1_scale), applies that step to `result` and returns true, so
  /// that a fit already made (the motion corrector's) is not repeated. False: the scheme
  /// fits otherwise (ShMOLLI), and `result` is left as it is.
  virtual bool finishFitterFit(FitResult& result) const {
    (void)result;
    return false;
  }
  /// The method in words, for DerivationDescription.
  virtual std::string method() const = 0;
  /// Why motion correction cannot run in front of this scheme's fit, "" when it can. The
  /// corrector synthesises every image from the 3-parameter MOLLI curve, so a scheme whose
  /// images do not all lie on it (ShMOLLI's later inversions, for long T1) is not corrected.
  virtual std::string motionRefusal() const { return ""; }
  /// Maps beyond the fitter's own that this scheme's results carry (ShMOLLI: "SAMPLES").
  virtual std::vector<std::string> extraMaps() const { return {}; }
};

}  // namespace torcht1::mapping
