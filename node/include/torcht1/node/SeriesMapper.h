#pragma once

#include <string>
#include <vector>

#include "torcht1/config/OutputConfig.h"
#include "torcht1/dicom/DerivedSeriesWriter.h"
#include "torcht1/dicom/MolliSeries.h"
#include "torcht1/mapping/FitInput.h"
#include "torcht1/mapping/FitOptions.h"
#include "torcht1/mapping/MapFitter.h"
#include "torcht1/mapping/MotionCorrector.h"
#include "torcht1/mapping/SchemeCatalog.h"

namespace torcht1::node {

/// A series decoded and ready for the device: its slices grouped by image count, each
/// group one FitInput (slices with the same number of images are fitted as one batch).
struct PreparedSeries {
  dicom::MolliSeries series;
  /// The acquisition scheme it is fitted as (SeriesMapper::identify); never null.
  const mapping::AcquisitionScheme* scheme = nullptr;
  struct Group {
    std::vector<size_t> slices;  // indices into series.slices
    mapping::FitInput input;
  };
  std::vector<Group> groups;
};

/// One line's worth per fitted slice.
struct SliceSummary {
  size_t slice = 0;             // 0-based
  double t1MedianMs = 0;        // valid T1 values in the central half of the image
  double validPercent = 0;      // of the fitted (foreground) voxels
  long long fittedVoxels = 0;
  size_t inversionTimes = 0;
  double firstTiMs = 0, lastTiMs = 0;
  double fitMs = 0;             // this slice's share of its batch
  double invalidPercent = 0;    // of the fitted voxels: fitted, but no value
  double noiseSigma = 0;        // the slice's noise level (signal units)
  std::string noiseSource;      // background, residuals, given, none
  std::string scheme;           // MOLLI, ShMOLLI
  /// Motion correction: whether it ran, whether its registered images were fitted, why not,
  /// the largest displacement it found (mm, relative to the key image) and the smallest
  /// Jacobian determinant of its transforms.
  bool motionRun = false;
  bool motionCorrected = false;
  std::string motionReason;
  double maxDisplacementMm = 0;
  double minJacobian = 1;
  double motionMs = 0;          // this slice's share of its batch
};

/// The fitted maps of one series, not yet written.
struct MappedSeries {
  std::vector<dicom::MapSeries> maps;
  std::vector<SliceSummary> slices;
  /// The T1 map of every source slice (ms, 0 where no value), whatever maps are written:
  /// what an ECV pairing needs of the series.
  std::vector<std::vector<float>> t1;
  double fitSeconds = 0;         // the fit, and the motion correction when it ran
  std::string device;
  /// Motion correction over the series: slices corrected, and the largest displacement
  /// found (mm); -1 when it did not run.
  int motionCorrectedSlices = 0;
  double maxDisplacementMm = -1;
  /// "MOCO 6.2 mm, 3 of 3 slices", "no MOCO: <reason>", or "" when it did not run.
  std::string motionSummary() const;
};

/// One written map series.
struct WrittenMap {
  std::string kind;
  std::string description;
  std::string seriesInstanceUid;
  std::vector<std::string> files;
};

/// Source series in, derived map series out, in three steps that can run on different
/// threads: prepare (DICOM decode), fit (the device; one caller at a time), write (DICOM
/// encode). `torcht1 fit` runs them in a row; the node's worker runs them as a pipeline.
class SeriesMapper {
 public:
  SeriesMapper(mapping::FitOptions fit, config::OutputConfig::Output output, std::string programVersion);

  /// Which scheme fits `series`, or why none does (then `scheme` is null and `reason` says why
  /// in one line): never a model that does not describe the series.
  mapping::SchemeCatalog::Identification identify(const dicom::MolliSeries& series) const;

  /// Throws dicom::DicomError naming the file, mapping::FitError when no scheme fits it (the
  /// reason of identify).
  PreparedSeries prepare(const dicom::MolliSeries& series) const;
  /// Throws mapping::FitError.
  MappedSeries fit(const PreparedSeries& prepared) const;
  /// Writes every configured map into `dir` (one sub-folder per map series). Version 2, 3...
  /// are re-fits after late instances: new UIDs and "(v2)" in the description.
  std::vector<WrittenMap> write(const PreparedSeries& prepared, const MappedSeries& mapped, const std::string& dir,
                                int version = 1) const;

  /// Fits a small synthetic slice once, so that the first real series does not pay for
  /// thread pools, allocator and kernel start-up. Returns the seconds it took.
  double warmUp() const;

  /// "cpu" or "cuda:N".
  std::string device() const { return fitter_.device(); }
  /// One human line for a fitted slice.
  static std::string describe(const dicom::MolliSeries& series, const SliceSummary& slice, const std::string& device);
  /// The source values the maps do not inherit as they stand (invalid or missing ones that
  /// the writers repair), joined by "; "; empty for a clean source.
  static std::string notInherited(const dicom::MolliSeries& series);

 private:
  mapping::MapFitter fitter_;
  mapping::MotionCorrector motion_;
  mapping::SchemeCatalog schemes_;
  config::OutputConfig::Output output_;
  std::string programVersion_;
};

}  // namespace torcht1::node
