#pragma once

#include <cstdint>
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
  /// The method in words, for DerivationDescription.
  virtual std::string method() const = 0;
  /// Why motion correction cannot run in front of this scheme's fit, "" when it can.
  virtual std::string motionRefusal() const { return ""; }

  /// An image whose inversion started from an incompletely recovered magnetisation (ShMOLLI's
  /// second and third inversions, after a single recovery beat): for long T1 it lies off the
  /// first inversion's curve. Motion correction synthesises it from the fitted curve instead:
  /// the magnetisation read at `previous` (sorted sample index, the last image before this
  /// one's inversion) recovers with T1 for `recoveryMs` without readouts, is inverted, and
  /// recovers with T1* until this image's inversion time.
  struct Reinversion {
    int64_t sample = 0;
    int64_t previous = 0;
    double recoveryMs = 0;
  };
  /// The reinversions of one slice whose sorted inversion times are `times`, in acquisition
  /// order (a reinversion's `previous` may be an earlier one); none for MOLLI, whose recovery
  /// beats let every image lie on one curve.
  virtual std::vector<Reinversion> reinversions(const std::vector<double>& times) const {
    (void)times;
    return {};
  }
  /// The sorted samples (bit i: sample i) that this scheme's fit `fit` used at voxel `v` of
  /// its batch, with `samples` images per slice; those are the points on its fitted curve.
  virtual uint64_t fittedSamples(const FitResult& fit, int64_t v, int64_t samples) const {
    (void)fit;
    (void)v;
    return samples >= 64 ? ~uint64_t{0} : (uint64_t{1} << samples) - 1;
  }
  /// Maps beyond the fitter's own that this scheme's results carry (ShMOLLI: "SAMPLES").
  virtual std::vector<std::string> extraMaps() const { return {}; }
};

}  // namespace torcht1::mapping
