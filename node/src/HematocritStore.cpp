#include "torcht1/node/HematocritStore.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "torcht1/node/NodeError.h"
#include "torcht1/node/Spool.h"
#include "DurableFile.h"

namespace fs = std::filesystem;

namespace torcht1::node {

namespace {

std::optional<MeasuredHematocrit> parse(const std::string& file) {
  if (!fs::exists(file)) return std::nullopt;
  MeasuredHematocrit m;
  bool valued = false;
  readKeyValues(file, [&](const std::string& name, const std::string& value) {
    try {
      if (name == "study_uid") m.studyUid = value;
      if (name == "accession") m.accession = value;
      if (name == "value") {
        m.value = std::stod(value);
        valued = true;
      }
      if (name == "received_unix") m.receivedUnix = std::stoll(value);
    } catch (const std::exception&) {
      valued = false;  // a damaged file is no value
    }
  });
  if (!valued) return std::nullopt;
  return m;
}

}  // namespace

HematocritStore::HematocritStore(std::string dir) : dir_(std::move(dir)) {
  makeDirectory((fs::path(dir_) / "study").string());
  makeDirectory((fs::path(dir_) / "accession").string());
}

std::string HematocritStore::byStudy(const std::string& studyUid) const {
  return (fs::path(dir_) / "study" / Spool::safeName(studyUid)).string();
}

std::string HematocritStore::byAccession(const std::string& accession) const {
  // Accession numbers are free text: always hashed (a plain-digit one could pass as a UID).
  return (fs::path(dir_) / "accession" / Spool::safeName("accession:" + accession)).string();
}

void HematocritStore::save(const MeasuredHematocrit& m) const {
  std::ostringstream out;
  char value[32];
  std::snprintf(value, sizeof value, "%.4f", m.value);
  out << "study_uid=" << oneLine(m.studyUid) << "\naccession=" << oneLine(m.accession) << "\nvalue=" << value
      << "\nreceived_unix=" << m.receivedUnix << "\n";
  if (!m.studyUid.empty()) writeFileDurably(byStudy(m.studyUid), out.str());
  if (!m.accession.empty()) writeFileDurably(byAccession(m.accession), out.str());
}

std::optional<MeasuredHematocrit> HematocritStore::find(const std::string& studyUid, const std::string& accession) const {
  std::optional<MeasuredHematocrit> study, byAcc;
  if (!studyUid.empty()) study = parse(byStudy(studyUid));
  if (!accession.empty()) byAcc = parse(byAccession(accession));
  if (study && byAcc) return byAcc->receivedUnix > study->receivedUnix ? byAcc : study;  // the later value counts
  return study ? study : byAcc;
}

size_t HematocritStore::expire(long long cutoffUnix) const {
  size_t removed = 0;
  std::error_code ec;
  for (const char* sub : {"study", "accession"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(dir_) / sub, ec)) {
      const auto m = parse(entry.path().string());
      if (!m || m->receivedUnix < cutoffUnix) {
        fs::remove(entry.path(), ec);
        ++removed;
      }
    }
  }
  return removed;
}

}  // namespace torcht1::node
