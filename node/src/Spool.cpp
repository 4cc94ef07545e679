#include "torcht1/node/Spool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/node/NodeError.h"
#include "DurableFile.h"

namespace fs = std::filesystem;

namespace torcht1::node {

namespace {

const char kStateFile[] = "state";

SeriesState parseState(const std::string& path) {
  SeriesState state;
  readKeyValues(path, [&](const std::string& name, const std::string& value) {
    try {
      if (name == "series_uid") state.seriesUid = value;
      if (name == "description") state.description = value;
      if (name == "version") state.version = std::stoi(value);
      if (name == "fitted_instances") state.fittedInstances = std::stoul(value);
      if (name == "outcome") state.outcome = value;
      if (name == "reason") state.reason = value;
      if (name == "study_uid") state.studyUid = value;
      if (name == "accession") state.accession = value;
      if (name == "post_contrast") state.postContrast = value == "yes";
    } catch (const std::exception&) {
      // a damaged number reads as 0: the series is fitted again, with the same UIDs
    }
  });
  return state;
}

}  // namespace

Spool::Spool(std::string root) : root_(std::move(root)) {
  for (const char* sub : {"tmp", "series", "expired", "outbox", "failed", "staging", "hematocrit"}) {
    makeDirectory(fs::path(root_) / sub);
  }
}

std::string Spool::tempDir() const { return (fs::path(root_) / "tmp").string(); }

std::string Spool::seriesDir(const std::string& key) const { return (fs::path(root_) / "series" / key).string(); }

std::string Spool::expiredState(const std::string& key) const {
  return (fs::path(root_) / "expired" / key).string();
}

std::string Spool::safeName(const std::string& uid) {
  const bool plain = !uid.empty() && uid.size() <= 64 && uid.front() != '.' &&
                     uid.find_first_not_of("0123456789.") == std::string::npos;
  if (plain) return uid;
  uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : uid) hash = (hash ^ c) * 1099511628211ull;
  char name[24];
  std::snprintf(name, sizeof name, "x%016llx", static_cast<unsigned long long>(hash));
  return name;
}

Spool::Committed Spool::commit(const dicom::ReceivedInstance& instance) {
  Committed c;
  c.key = safeName(instance.seriesInstanceUid);
  const fs::path dir = seriesDir(c.key);
  const bool newSeries = !fs::exists(dir);
  makeDirectory(dir);
  if (newSeries && !syncPath((fs::path(root_) / "series").string())) throw NodeError("cannot sync " + root_ + "/series");
  // Also when the folder is there without its state: the first instance's state could not
  // be written (a full disk) or the node died in between; otherwise the series would never
  // get one and be known by its folder name.
  if (!fs::exists(dir / kStateFile)) {
    SeriesState state;
    state.version = parseState(expiredState(c.key)).version;  // 0 unless it was fitted and expired
    state.seriesUid = instance.seriesInstanceUid;
    state.description = instance.seriesDescription;
    writeState(c.key, state);
  }
  c.file = (dir / (safeName(instance.sopInstanceUid) + ".dcm")).string();
  c.duplicate = fs::exists(c.file);
  renameDurably(instance.file, c.file);
  return c;
}

std::vector<std::string> Spool::instanceFiles(const std::string& key) const {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(seriesDir(key), ec)) {
    if (entry.path().extension() == ".dcm") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> Spool::seriesKeys() const {
  std::vector<std::string> keys;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(root_) / "series", ec)) {
    if (entry.is_directory(ec)) keys.push_back(entry.path().filename().string());
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<Spool::SpooledSeries> Spool::recover() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tempDir(), ec)) fs::remove(entry.path(), ec);
  std::vector<SpooledSeries> all;
  for (const auto& entry : fs::directory_iterator(fs::path(root_) / "series", ec)) {
    if (!entry.is_directory()) continue;
    SpooledSeries s;
    s.key = entry.path().filename().string();
    s.files = instanceFiles(s.key);
    s.state = readState(s.key);
    if (s.files.empty() && s.state.outcome.empty()) {
      fs::remove_all(entry.path(), ec);  // made, but its first instance never arrived
      continue;
    }
    if (s.state.seriesUid.empty() && !s.files.empty()) {
      try {
        const auto header = dicom::ReceivedInstance::fromFile(s.files.front());
        s.state.seriesUid = header.seriesInstanceUid;
        s.state.description = header.seriesDescription;
      } catch (const dicom::DicomError&) {
        s.state.seriesUid = s.key;
      }
    }
    if (s.state.version == 0 && s.state.outcome.empty()) {
      // The expected count is only used before the first fit; the headers stop before the
      // pixel data, so this reads little.
      for (size_t i = 0; i < s.files.size() && !s.expectedConflict; ++i) {
        try {
          const auto header = dicom::ReceivedInstance::fromFile(s.files[i]);
          if (i == 0) {
            s.expected = header.imagesInAcquisition;
            s.acquisition = header.acquisitionNumber;
          } else if (header.imagesInAcquisition != s.expected || header.acquisitionNumber != s.acquisition) {
            s.expectedConflict = true;
          }
        } catch (const dicom::DicomError&) {
          s.expectedConflict = true;
        }
      }
      if (s.expectedConflict) s.expected = 0;
    }
    for (const auto& f : s.files) {
      const auto t = fs::last_write_time(f, ec);
      if (ec) continue;
      const auto unix = std::chrono::duration_cast<std::chrono::seconds>(
                            t - fs::file_time_type::clock::now() + std::chrono::system_clock::now().time_since_epoch())
                            .count();
      s.lastModifiedUnix = std::max<long long>(s.lastModifiedUnix, unix);
    }
    all.push_back(std::move(s));
  }
  return all;
}

SeriesState Spool::readState(const std::string& key) const {
  return parseState((fs::path(seriesDir(key)) / kStateFile).string());
}

void Spool::writeState(const std::string& key, const SeriesState& state) {
  std::ostringstream out;
  out << "series_uid=" << oneLine(state.seriesUid) << "\ndescription=" << oneLine(state.description)
      << "\nversion=" << state.version << "\nfitted_instances=" << state.fittedInstances
      << "\noutcome=" << oneLine(state.outcome) << "\nreason=" << oneLine(state.reason) << "\nstudy_uid=" << oneLine(state.studyUid)
      << "\naccession=" << oneLine(state.accession) << "\npost_contrast=" << (state.postContrast ? "yes" : "no") << "\n";
  writeFileDurably((fs::path(seriesDir(key)) / kStateFile).string(), out.str());
}

void Spool::removeSeries(const std::string& key) {
  // A fitted series leaves its state behind in expired/: should an instance of it arrive
  // later, its next fit is the next version, with new UIDs, instead of version 1 again with
  // the UIDs of maps already sent but other pixels.
  const std::string state = (fs::path(seriesDir(key)) / kStateFile).string();
  if (readState(key).version > 0) {
    try {
      renameDurably(state, expiredState(key));
    } catch (const NodeError&) {
      // the series goes anyway; a late instance would then start at version 1
    }
  }
  std::error_code ec;
  fs::remove_all(seriesDir(key), ec);
}

}  // namespace torcht1::node
