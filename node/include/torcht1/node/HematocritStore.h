#pragma once

#include <optional>
#include <string>

namespace torcht1::node {

/// A measured hematocrit for one study, as POST /api/hematocrit gave it.
struct MeasuredHematocrit {
  std::string studyUid;   // either this
  std::string accession;  // or this, or both
  double value = 0;
  long long receivedUnix = 0;
};

/// Measured hematocrit values, durably in the spool (hematocrit/study/<uid>,
/// hematocrit/accession/<hash>), kept from before the series arrive until node.retention_hours
/// after they were posted. A later value for the same study replaces the earlier one.
class HematocritStore {
 public:
  /// `dir`: the spool's hematocrit/ folder (created).
  explicit HematocritStore(std::string dir);

  /// Throws NodeError naming the file; the value is not checked here.
  void save(const MeasuredHematocrit& value) const;
  /// The study's value: by study UID first, else by accession number.
  std::optional<MeasuredHematocrit> find(const std::string& studyUid, const std::string& accession) const;
  /// Removes values posted before `cutoffUnix`; returns how many.
  size_t expire(long long cutoffUnix) const;

 private:
  std::string byStudy(const std::string& studyUid) const;
  std::string byAccession(const std::string& accession) const;
  std::string dir_;
};

}  // namespace torcht1::node
