#pragma once

#include <string>
#include <vector>

#include "torcht1/node/EcvPairer.h"
#include "torcht1/node/SeriesMapper.h"

namespace torcht1::node {

/// Writes the ECV maps of one pairing in every form `ecv.maps` asks for: ECV (MR, 16-bit,
/// percent x 10), ECV_COLOUR (viridis 0-100 % pictures) and ECV_PARAMETRIC (one float32
/// Parametric Map, UCUM "%"). Each form is its own series with UIDs from the pair (and the
/// version), numbered from the ECV map's series number on.
class EcvWriter {
 public:
  EcvWriter(std::vector<std::string> maps, std::string programVersion);

  /// Throws DicomError naming the file.
  std::vector<WrittenMap> write(const EcvOutcome& outcome, const std::string& dir) const;

  /// The form `kind` (of ecv.maps) of the ECV map series `ecv` (as EcvPairer::make gives it).
  static dicom::MapSeries form(const dicom::MapSeries& ecv, const std::string& kind);

 private:
  std::vector<std::string> maps_;
  std::string programVersion_;
};

}  // namespace torcht1::node
