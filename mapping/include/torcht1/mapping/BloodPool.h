#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torcht1::mapping {

/// The left-ventricular blood pool of one slice, as the ECV map needs it.
struct BloodPool {
  bool found = false;
  /// Why not, in one line ("" when found).
  std::string reason;
  /// [rows][cols], 1 inside the (eroded) region.
  std::vector<uint8_t> mask;
  int64_t voxels = 0;
  /// Robust (median) T1 of the region, ms; post 0 when found from the native map alone.
  double nativeT1Ms = 0, postT1Ms = 0;
  /// The region's centroid, pixels.
  double centreRow = -1, centreCol = -1;
};

/// Finds the blood pool: voxels with a long native T1 (and, when a post-contrast map is given,
/// a short post-contrast one: blood takes up contrast more than any tissue), the largest such
/// connected region near the image centre (the heart; the left ventricle is larger than the
/// right in short axis), eroded away from the myocardium so that partial volume does not pull
/// its T1 values. Plain C++ on the host (a connected-component search), no device.
class BloodPoolFinder {
 public:
  struct Options {
    double nativeMinMs = 1300;      // native T1 of blood at least (1.5 T; about 1550 at 3 T)
    double postToNativeMax = 0.5;   // post-contrast T1 / native T1 of blood at most
    double erosionMm = 3;           // eroded this far from the region's edge
    int64_t minVoxels = 12;         // what must remain
    double centreSigmaFraction = 0.25;  // nearness weight: Gaussian of this share of the field of view
  };

  explicit BloodPoolFinder(Options options);

  /// `native` and `post` ([rows][cols] T1 in ms, 0 = no value); `post` may be empty.
  BloodPool find(const std::vector<float>& native, const std::vector<float>& post, int64_t rows, int64_t cols,
                 double rowSpacingMm, double colSpacingMm) const;

  const Options& options() const { return options_; }

 private:
  Options options_;
};

}  // namespace torcht1::mapping
