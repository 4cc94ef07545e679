#pragma once

#include <optional>
#include <string>
#include <vector>

#include "torcht1/dicom/DerivedSeriesWriter.h"
#include "torcht1/dicom/MolliSeries.h"
#include "torcht1/mapping/EcvCalculator.h"
#include "torcht1/mapping/EcvOptions.h"

namespace torcht1::node {

/// What an ECV pairing needs of a fitted T1 series: the series (its slices' images for
/// geometry and references) and its T1 map per slice (ms, 0 = no value).
struct FittedT1Series {
  dicom::MolliSeries series;
  std::vector<std::vector<float>> t1;
};

/// One post-contrast series matched to the native series of its study.
struct EcvPairing {
  /// The latest native series a slice pairs with (the ECV series' source); null: no partner
  /// (see reason).
  const FittedT1Series* native = nullptr;
  const FittedT1Series* post = nullptr;
  /// Per post slice, the native series and its slice it pairs with (null / -1: none, see
  /// sliceReasons): the latest native series before the post-contrast one that has the slice.
  std::vector<const FittedT1Series*> nativeOf;
  std::vector<int> nativeSlice;
  /// Every native series some slice pairs with, latest first.
  std::vector<const FittedT1Series*> natives;
  std::vector<std::string> sliceReasons;
  /// Why there is no pairing at all, or which native series was chosen among several.
  std::string reason;
  std::string note;
};

/// The ECV maps of one pairing: the map series (in the native slices' position) and, per
/// post slice, what the calculator did.
struct EcvOutcome {
  /// The ECV map series with one slice per paired slice whose map was made; `source` holds
  /// those native slices (the writer's source); empty when no slice made a map.
  dicom::MapSeries map;
  dicom::MolliSeries source;
  std::vector<mapping::EcvSlice> slices;  // per post slice
  std::vector<std::string> lines;         // one human line per post slice
  int made = 0;
};

/// Pairs native and post-contrast T1 series of one study slice by slice (position along the
/// normal within a tolerance, the same orientation), each post slice with the latest native
/// series acquired before the post-contrast one that has that slice, and makes the ECV maps
/// with EcvCalculator.
/// No Torch here beyond the calculator; no DICOM beyond the plain series structs.
class EcvPairer {
 public:
  EcvPairer(mapping::EcvOptions options, std::string device = "cpu");

  /// The native series `post` pairs with among `candidates` (other series of any study; the
  /// post-contrast ones and other studies are skipped).
  EcvPairing pair(const FittedT1Series& post, const std::vector<const FittedT1Series*>& candidates) const;

  /// The ECV maps of `pairing`; `measuredHct` the study's measured hematocrit if known.
  /// `version` > 1: a re-make (a later hematocrit value), with its own UIDs.
  EcvOutcome make(const EcvPairing& pairing, std::optional<double> measuredHct, int version = 1) const;

  const mapping::EcvOptions& options() const { return calculator_.options(); }

  /// The method in words, for the writer's DerivationDescription.
  static std::string method();

 private:
  mapping::EcvCalculator calculator_;
};

}  // namespace torcht1::node
