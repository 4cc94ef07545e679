#include "torcht1/mapping/FitInput.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "torcht1/mapping/FitError.h"

namespace torcht1::mapping {

void FitInput::validate(int64_t minSamples) const {
  if (slices <= 0 || rows <= 0 || cols <= 0) {
    throw FitError("fit input has no voxels (" + std::to_string(slices) + " slices of " +
                   std::to_string(rows) + "x" + std::to_string(cols) + ")");
  }
  if (samples < minSamples) {
    throw FitError("fit input has " + std::to_string(samples) + " samples per voxel; at least " +
                   std::to_string(minSamples) + " are needed");
  }
  const int64_t expectedPixels = slices * samples * rows * cols;
  if (static_cast<int64_t>(pixels.size()) != expectedPixels) {
    throw FitError("fit input has " + std::to_string(pixels.size()) + " pixel values; " +
                   std::to_string(slices) + "x" + std::to_string(samples) + "x" +
                   std::to_string(rows) + "x" + std::to_string(cols) + " needs " +
                   std::to_string(expectedPixels));
  }
  if (static_cast<int64_t>(times.size()) != slices * samples) {
    throw FitError("fit input has " + std::to_string(times.size()) + " sample times; " +
                   std::to_string(slices) + " slices of " + std::to_string(samples) +
                   " samples need " + std::to_string(slices * samples));
  }
  if (!foreground.empty() && static_cast<int64_t>(foreground.size()) != slices * rows * cols) {
    throw FitError("fit input has a foreground mask of " + std::to_string(foreground.size()) + " voxels; " +
                   std::to_string(slices * rows * cols) + " expected");
  }
  if (!noiseSigma.empty() && static_cast<int64_t>(noiseSigma.size()) != slices) {
    throw FitError("fit input has " + std::to_string(noiseSigma.size()) + " noise levels for " +
                   std::to_string(slices) + " slices");
  }
  for (int64_t s = 0; s < slices; ++s) {
    std::vector<float> sliceTimes(times.begin() + s * samples, times.begin() + (s + 1) * samples);
    for (int64_t i = 0; i < samples; ++i) {
      if (!std::isfinite(sliceTimes[i])) {
        throw FitError("slice " + std::to_string(s) + ": sample time " + std::to_string(i) +
                       " is not finite");
      }
    }
    std::sort(sliceTimes.begin(), sliceTimes.end());
    auto dup = std::adjacent_find(sliceTimes.begin(), sliceTimes.end());
    if (dup != sliceTimes.end()) {
      throw FitError("slice " + std::to_string(s) + ": sample time " + std::to_string(*dup) +
                     " ms occurs more than once");
    }
  }
  auto bad = std::find_if(pixels.begin(), pixels.end(), [](float v) { return !std::isfinite(v); });
  if (bad != pixels.end()) {
    const int64_t at = bad - pixels.begin();
    throw FitError("pixel value at slice " + std::to_string(at / (samples * rows * cols)) +
                   ", sample " + std::to_string((at / (rows * cols)) % samples) + " is not finite");
  }
}

}  // namespace torcht1::mapping
