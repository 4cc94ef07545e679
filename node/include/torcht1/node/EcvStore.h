#pragma once

#include <optional>
#include <string>
#include <vector>

#include "torcht1/node/EcvState.h"
#include "torcht1/node/Spool.h"

namespace torcht1::node {

/// What ECV pairing keeps of each fitted series, durably, next to its instances in the spool
/// (so it survives restarts and leaves with the series after node.retention_hours):
///   series/<key>/t1maps           the T1 map of every slice (float32 ms, 0 = no value)
///   series/<key>/ecv              EcvState of a post-contrast series
///   series/<key>/ecv-preview.png  the ECV map's middle slice with its blood-pool outline
/// The series' images themselves stay in the spool; the T1 maps are what a fit would cost.
class EcvStore {
 public:
  explicit EcvStore(const Spool& spool);

  /// Throws NodeError naming the file.
  void saveT1(const std::string& key, int rows, int cols, const std::vector<std::vector<float>>& t1) const;
  /// The T1 maps saved for `key` when they are there, whole, and of `rows` x `cols`.
  std::optional<std::vector<std::vector<float>>> loadT1(const std::string& key, int rows, int cols) const;

  EcvState readState(const std::string& key) const;
  /// Throws NodeError naming the file.
  void writeState(const std::string& key, const EcvState& state) const;
  std::string previewFile(const std::string& key) const;

 private:
  const Spool& spool_;
};

}  // namespace torcht1::node
