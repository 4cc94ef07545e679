#pragma once

#include <string>

#include "Command.h"

namespace torcht1::server {

/// `torcht1 demo`: simulates a MOLLI study in memory, fits it and prints, per slice, the fit
/// time and the median T1 of myocardium and blood against the truth.
class DemoCommand : public Command {
 public:
  void registerWith(CLI::App& app) override;
  int run() const override;

 private:
  std::string config_;
  int size_ = 256;
  int slices_ = 8;
  double snr_ = 40;
  bool post_ = false;
  std::string scheme_;
  uint64_t seed_ = 1;
  std::string device_ = "auto";
  std::string solver_ = "varpro-lm";
  int threads_ = 0;
};

}  // namespace torcht1::server
