#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "torcht1/dicom/DerivedSeriesWriter.h"
#include "torcht1/dicom/MolliSeries.h"

namespace torcht1::dicom {

/// A map (T1, ECV: MapSeries::quantity) as colour pictures for viewers without colour lookup tables: Secondary
/// Capture Image Storage, 8-bit RGB. Values between the map's window limits follow the
/// perceptually uniform viridis scale (dark blue to yellow), invalid voxels are black, and a
/// colour bar with its limits and midpoint (in the map's unit) is burnt in at the right.
class ColourMapWriter {
 public:
  explicit ColourMapWriter(std::string programVersion);

  /// `map` is the map series (its window, in the values' unit, gives the colour range). Returns the files
  /// written into `dir`; throws DicomError naming the file.
  std::vector<std::string> write(const MolliSeries& source, const MapSeries& map, const std::string& dir) const;

  /// viridis at `fraction` in [0, 1], as RGB.
  static std::array<uint8_t, 3> viridis(double fraction);

 private:
  std::string programVersion_;
};

}  // namespace torcht1::dicom
