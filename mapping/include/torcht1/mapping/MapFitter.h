#pragma once

#include <memory>
#include <string>

#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/FitInput.h"
#include "torcht1/mapping/FitOptions.h"
#include "torcht1/mapping/FitResult.h"

namespace torcht1::mapping {

/// The mapping engine's front door: plain data in, plain maps out, no Torch in sight.
///
/// Fits every foreground voxel of every slice of the input as one batch on the device
/// chosen once at construction, then derives the mapped quantity (T1 for MOLLI), its
/// standard deviation from the fit covariance (noise estimated from the residuals, delta
/// method with the gradient from autograd), the residual and R^2, and a status per voxel.
class MapFitter {
 public:
  /// Validates the options and resolves the device; throws FitError.
  explicit MapFitter(FitOptions options);
  ~MapFitter();
  MapFitter(MapFitter&&) noexcept;
  MapFitter& operator=(MapFitter&&) noexcept;

  /// Throws FitError on invalid input.
  FitResult fit(const FitInput& input) const;

  const FitOptions& options() const;
  /// "cpu" or "cuda:N".
  std::string device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace torcht1::mapping
