#pragma once

#include <string>
#include <vector>

#include "Command.h"
#include "torcht1/node/EcvPairer.h"

namespace torcht1::server {

/// `torcht1 fit INPUT... --out DIR`: reads DICOM files and folders, finds the MOLLI series,
/// fits them and writes T1 and T1 SD map series into DIR.
class FitCommand : public Command {
 public:
  void registerWith(CLI::App& app) override;
  int run() const override;

 private:
  /// Pairs the post-contrast series with the native ones and writes their ECV maps; returns the failures.
  int writeEcv(const std::vector<node::FittedT1Series>& fitted, const mapping::EcvOptions& options) const;

  std::vector<std::string> inputs_;
  std::string out_;
  std::string config_;
  std::string device_ = "auto";
  std::string pattern_;
  int minInversionTimes_ = 5;  // flags override the configuration file
  bool noMoco_ = false;
  bool triggerTime_ = false;
  bool noEcv_ = false;
  double hematocrit_ = 0;
};

}  // namespace torcht1::server
