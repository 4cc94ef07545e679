#pragma once

#include <string>
#include <vector>

#include "torcht1/dicom/MapQuantity.h"
#include "torcht1/dicom/MolliSeries.h"

namespace torcht1::dicom {

/// One map of one slice, in the slice's row-major pixel order.
struct SliceMap {
  std::vector<float> values;  // already 0 where invalid
  /// Instead of one map: one image per source image of the slice (inversion-time order),
  /// e.g. the motion-corrected images. Each is written as its own instance with its source
  /// image's inversion and trigger time, referencing that image.
  std::vector<std::vector<float>> images = {};
  /// Further source images of this slice's map beyond the source series' own (an ECV map:
  /// the post-contrast slice's images), referenced in SourceImageSequence too.
  std::vector<DicomInstance> alsoDerivedFrom = {};
  /// Appended to DerivationDescription after the method (an ECV map: its blood values, Hct).
  std::string derivationNote = {};
};

/// A map series to write, e.g. T1 or its standard deviation, for every slice of a source.
struct MapSeries {
  std::string kind;         // "T1", "T1_SD", ...: part of the UIDs
  std::string description;  // appended to the source description, e.g. "T1 map"
  std::string imageType;    // e.g. "DERIVED\\PRIMARY\\T1 MAP"
  std::string unit;         // for the window explanation, e.g. "ms"
  int seriesNumberOffset = 100;
  double windowCenter = 1300, windowWidth = 1300;
  double scale = 1;         // stored value = scale x map value (R2 is stored x1000)
  /// 1 for the first fit of a source series; a re-fit after late instances is version 2, 3...
  /// with its own UIDs (PACS keeps both) and a version mark in the description.
  int version = 1;
  /// A map of a pair of series (ECV): the partner's series UID, part of the UIDs so that each
  /// pairing has its own deterministic series.
  std::string pairedSeriesUid;
  std::vector<SliceMap> slices = {};
  /// What the values are (T1 in ms, ECV in %), for the Parametric Map and colour writers.
  MapQuantity quantity = MapQuantity::t1();

  /// The name the map series' UIDs derive from: source series, map kind, variant (the
  /// writer's: colour, pmap), paired series, version.
  std::string uidName(const std::string& sourceSeriesUid, const std::string& variant = "") const {
    return sourceSeriesUid + "/torcht1/" + kind + (variant.empty() ? "" : "/" + variant) +
           (pairedSeriesUid.empty() ? "" : "/" + pairedSeriesUid) + (version > 1 ? "/v" + std::to_string(version) : "");
  }
};

/// Writes map series as DICOM MR Image Storage: ImageType DERIVED\PRIMARY\..., unsigned
/// 16-bit values (ms for T1), the source slice's patient, study, frame of reference and geometry, a new
/// series whose UIDs derive from the source series and the map kind (writing again gives
/// the same UIDs), references to the source images, and a DerivationDescription naming
/// the method and program version.
class DerivedSeriesWriter {
 public:
  explicit DerivedSeriesWriter(std::string programVersion, std::string method);

  /// Returns the files written into `dir`. Throws DicomError naming the file.
  std::vector<std::string> write(const MolliSeries& source, const MapSeries& map, const std::string& dir) const;

  /// What the maps of `source` do not inherit as it stands, one line per attribute (e.g.
  /// "PatientSex 'X' not valid, written empty"): invalid or missing source values that
  /// the writers repair, so that the operator sees them once per series. Judged on the
  /// first image; empty when the source is clean.
  static std::vector<std::string> notInherited(const MolliSeries& source);

 private:
  std::string programVersion_;
  std::string method_;
};

}  // namespace torcht1::dicom
