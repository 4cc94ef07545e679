#include "torcht1/node/EcvStore.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "torcht1/node/NodeError.h"
#include "DurableFile.h"

namespace fs = std::filesystem;

namespace torcht1::node {

namespace {

const char kMagic[8] = {'T', '1', 'M', 'A', 'P', 'S', '1', '\n'};

std::string path(const Spool& spool, const std::string& key, const char* name) {
  return (fs::path(spool.seriesDir(key)) / name).string();
}

}  // namespace

EcvStore::EcvStore(const Spool& spool) : spool_(spool) {}

void EcvStore::saveT1(const std::string& key, int rows, int cols, const std::vector<std::vector<float>>& t1) const {
  const size_t voxels = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  std::string out(kMagic, sizeof kMagic);
  const uint32_t header[3] = {static_cast<uint32_t>(t1.size()), static_cast<uint32_t>(rows), static_cast<uint32_t>(cols)};
  out.append(reinterpret_cast<const char*>(header), sizeof header);
  for (const auto& slice : t1) {
    if (slice.size() != voxels) throw NodeError("series " + key + ": a T1 map of " + std::to_string(slice.size()) + " values, not " + std::to_string(voxels));
    out.append(reinterpret_cast<const char*>(slice.data()), voxels * sizeof(float));
  }
  writeFileDurably(path(spool_, key, "t1maps"), out);
}

std::optional<std::vector<std::vector<float>>> EcvStore::loadT1(const std::string& key, int rows, int cols) const {
  const std::string data = readSmallFile(path(spool_, key, "t1maps"));
  uint32_t header[3];
  if (data.size() < sizeof kMagic + sizeof header || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
  std::memcpy(header, data.data() + sizeof kMagic, sizeof header);
  if (static_cast<int>(header[1]) != rows || static_cast<int>(header[2]) != cols) return std::nullopt;
  const size_t voxels = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  const size_t offset = sizeof kMagic + sizeof header;
  if (data.size() != offset + static_cast<size_t>(header[0]) * voxels * sizeof(float)) return std::nullopt;
  std::vector<std::vector<float>> t1(header[0], std::vector<float>(voxels));
  for (size_t s = 0; s < t1.size(); ++s) {
    std::memcpy(t1[s].data(), data.data() + offset + s * voxels * sizeof(float), voxels * sizeof(float));
  }
  return t1;
}

EcvState EcvStore::readState(const std::string& key) const {
  EcvState s;
  readKeyValues(path(spool_, key, "ecv"), [&](const std::string& name, const std::string& value) {
    try {
      if (name == "outcome") s.outcome = value;
      if (name == "reason") s.reason = value;
      if (name == "version") s.version = std::stoi(value);
      if (name == "signature") s.signature = value;
      if (name == "native_uid") s.nativeUid = value;
      if (name == "native_description") s.nativeDescription = value;
      if (name == "hematocrit") s.hematocrit = value;
      if (name == "blood_t1") s.bloodT1 = value;
      if (name == "map_series_uid") s.mapSeriesUid = value;
      if (name == "slices") s.slices = std::stoi(value);
      if (name == "slices_made") s.slicesMade = std::stoi(value);
      if (name == "max_displacement_mm") s.maxDisplacementMm = std::stod(value);
    } catch (const std::exception&) {
      // a damaged number reads as its default; a damaged signature makes the maps again
    }
  });
  if (fs::exists(previewFile(key))) s.previewFile = previewFile(key);
  return s;
}

void EcvStore::writeState(const std::string& key, const EcvState& s) const {
  std::ostringstream out;
  out << "outcome=" << oneLine(s.outcome) << "\nreason=" << oneLine(s.reason) << "\nversion=" << s.version
      << "\nsignature=" << oneLine(s.signature) << "\nnative_uid=" << oneLine(s.nativeUid)
      << "\nnative_description=" << oneLine(s.nativeDescription) << "\nhematocrit=" << oneLine(s.hematocrit)
      << "\nblood_t1=" << oneLine(s.bloodT1) << "\nmap_series_uid=" << oneLine(s.mapSeriesUid) << "\nslices=" << s.slices
      << "\nslices_made=" << s.slicesMade << "\nmax_displacement_mm=" << s.maxDisplacementMm << "\n";
  writeFileDurably(path(spool_, key, "ecv"), out.str());
}

std::string EcvStore::previewFile(const std::string& key) const { return path(spool_, key, "ecv-preview.png"); }

}  // namespace torcht1::node
