#pragma once

#include <string>

namespace torcht1::node {

/// What became of a post-contrast series' ECV maps (series/<key>/ecv; /api/series and the
/// status page show it).
struct EcvState {
  /// "made", "waiting" (for a partner or a measured hematocrit), "none" (no map can be made:
  /// see reason), "failed"; "" when no ECV job ran for the series yet.
  std::string outcome;
  std::string reason;     // one line
  int version = 0;        // last made version of the ECV maps; 0: none made
  /// The inputs of the last outcome (partner and its fit version, this fit's version, the
  /// hematocrit): a job with the same inputs changes nothing.
  std::string signature;
  /// The native series paired with (several, comma-separated, latest first, when slices
  /// paired with different ones) and the description of the latest.
  std::string nativeUid, nativeDescription;
  std::string hematocrit;  // "measured Hct 0.40", "synthetic Hct 0.42"
  std::string bloodT1;     // per made slice, native/post ms: "1598/301; 1602/299"
  std::string mapSeriesUid;  // every series written (ECV, colour, parametric), comma-separated
  int slices = 0, slicesMade = 0;
  double maxDisplacementMm = -1;  // of the post-contrast map's registration; -1: none kept
  std::string previewFile;        // not stored: the PNG's path when it exists
};

}  // namespace torcht1::node
