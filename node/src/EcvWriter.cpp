#include "torcht1/node/EcvWriter.h"

#include <filesystem>

#include "torcht1/dicom/ColourMapWriter.h"
#include "torcht1/dicom/DerivedSeriesWriter.h"
#include "torcht1/dicom/ParametricMapWriter.h"

namespace torcht1::node {

EcvWriter::EcvWriter(std::vector<std::string> maps, std::string programVersion)
    : maps_(std::move(maps)), programVersion_(std::move(programVersion)) {}

dicom::MapSeries EcvWriter::form(const dicom::MapSeries& ecv, const std::string& kind) {
  dicom::MapSeries map = ecv;
  if (kind == "ECV") return map;
  // The values themselves are percent (EcvPairer); the MR form stores them x 10.
  map.kind = kind;
  map.quantity = dicom::MapQuantity::ecvPercent();
  map.scale = 1;
  map.unit = "%";
  map.windowCenter = 50;  // 0-100 %
  map.windowWidth = 100;
  if (kind == "ECV_COLOUR") {
    map.seriesNumberOffset = ecv.seriesNumberOffset + 1;
  } else {
    // Parametric Map: value 3 an image flavour, value 4 a derived pixel contrast, both from
    // the IOD's defined terms, which have no ECV: a ratio of R1 changes is a DIVISION. The
    // content label ECV_MAP and the LUT label ECV say what it is.
    map.seriesNumberOffset = ecv.seriesNumberOffset + 2;
    map.imageType = "DERIVED\\PRIMARY\\CARDIAC\\DIVISION";
    map.description += " (float)";
  }
  return map;
}

std::vector<WrittenMap> EcvWriter::write(const EcvOutcome& outcome, const std::string& dir) const {
  const std::string method = EcvPairer::method();
  std::vector<WrittenMap> written;
  for (const auto& kind : maps_) {
    const dicom::MapSeries map = form(outcome.map, kind);
    WrittenMap out;
    out.kind = kind;
    out.description = map.description;
    if (kind == "ECV_COLOUR") {
      out.files = dicom::ColourMapWriter(programVersion_).write(outcome.source, map, dir);
    } else if (kind == "ECV_PARAMETRIC") {
      out.files = dicom::ParametricMapWriter(programVersion_, method + ", float32 percent").write(outcome.source, map, dir);
    } else {
      out.files = dicom::DerivedSeriesWriter(programVersion_, method + ", stored as percent x 10").write(outcome.source, map, dir);
    }
    out.seriesInstanceUid = out.files.empty() ? "" : std::filesystem::path(out.files.front()).parent_path().filename().string();
    written.push_back(std::move(out));
  }
  return written;
}

}  // namespace torcht1::node
