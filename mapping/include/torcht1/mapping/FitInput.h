#pragma once

#include <cstdint>
#include <vector>

namespace torcht1::mapping {

/// One batch of slices to fit, as plain data: the DICOM side fills it without seeing Torch.
///
/// Every slice has the same number of samples (images), but its own sample times: MOLLI
/// inversion times differ per slice and per heart rate.
struct FitInput {
  int64_t slices = 0;
  int64_t samples = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  /// Magnitude pixel values, [slice][sample][row][col].
  std::vector<float> pixels;
  /// Sample times in ms (inversion times for MOLLI, echo times for T2), [slice][sample].
  std::vector<float> times;

  int64_t voxelsPerSlice() const { return rows * cols; }

  /// Throws FitError naming the problem: empty or mismatched shapes, fewer than
  /// `minSamples` samples, non-finite pixels or times, duplicate times within a slice.
  void validate(int64_t minSamples = 3) const;
};

}  // namespace torcht1::mapping
