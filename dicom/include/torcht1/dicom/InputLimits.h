#pragma once

#include <cstdint>

namespace torcht1::dicom {

/// What the node takes from a received image at most: far beyond any real MOLLI series
/// (matrices up to 512, about 11 inversion times, a few slices), far below what would
/// exhaust the memory or the time of the node. Every limit is checked before anything of
/// that size is allocated, and a series beyond one is rejected with the limit in its reason.
struct InputLimits {
  /// Rows and Columns of one image.
  static constexpr int kMaxMatrix = 4096;
  /// Rows x Columns x frames of one object: what decoding it may allocate.
  static constexpr int64_t kMaxObjectPixels = int64_t{1} << 27;
  /// Images x Rows x Columns of one series: the floats handed to the fit (512 MiB).
  static constexpr int64_t kMaxSeriesPixels = int64_t{1} << 27;
  /// Images per slice (the fit's cost grows with the square of this).
  static constexpr int kMaxInversionTimes = 64;
  /// An inversion, trigger or comment time above this (ms) is not one.
  static constexpr double kMaxTimeMs = 100000;
  /// Text attributes are cut to this many characters (the longest VR, LT, allows 10240).
  static constexpr unsigned kMaxTextLength = 10240;
};

}  // namespace torcht1::dicom
