#pragma once

#include <cstdint>
#include <string>
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
  /// Optional: which voxels to fit, [slice][row][col], non-zero = fit, and each slice's noise
  /// sigma (for the report). Empty: the background rule decides (MaskOptions). A scheme that
  /// fits subsets of the samples passes the mask of the whole set, so every subset fits the
  /// same voxels.
  std::vector<uint8_t> foreground;
  std::vector<double> noiseSigma;
  /// Optional, with noiseSigma: where each slice's sigma came from, for the report ("given"
  /// when empty). Motion correction passes on the unregistered images' mask and noise.
  std::vector<std::string> noiseSource;

  int64_t voxelsPerSlice() const { return rows * cols; }

  /// Throws FitError naming the problem: empty or mismatched shapes, fewer than
  /// `minSamples` samples, non-finite pixels or times, duplicate times within a slice, a
  /// foreground or noise list of the wrong size.
  void validate(int64_t minSamples = 3) const;
};

}  // namespace torcht1::mapping
