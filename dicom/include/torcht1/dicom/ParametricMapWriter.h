#pragma once

#include <string>
#include <vector>

#include "torcht1/dicom/DerivedSeriesWriter.h"
#include "torcht1/dicom/MolliSeries.h"

namespace torcht1::dicom {

/// A map (T1 in ms, ECV in %: MapSeries::quantity) as one DICOM Parametric Map object (SOP
/// class 1.2.840.10008.5.1.4.1.1.30) per source series, written with DCMTK's dcmpmap: one
/// frame per slice, 32-bit float values (FloatPixelData), 0 where there is no value. A Real
/// World Value Mapping gives the quantity and its UCUM unit; each frame carries its slice's
/// position, orientation and pixel measures, and references the slice's source images and
/// those of a paired series (Derivation Image, with the slice's derivation note). Patient, study and
/// frame of reference are the source's; the series and instance UIDs derive from the source
/// series, so writing again gives the same UIDs.
class ParametricMapWriter {
 public:
  explicit ParametricMapWriter(std::string programVersion, std::string method);

  /// `map` is the map series (values in its quantity's unit; its window becomes the frames' VOI). Returns
  /// the one file written into `dir`; throws DicomError naming the file.
  std::vector<std::string> write(const MolliSeries& source, const MapSeries& map, const std::string& dir) const;

 private:
  std::string programVersion_;
  std::string method_;
};

}  // namespace torcht1::dicom
