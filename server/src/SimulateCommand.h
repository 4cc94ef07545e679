#pragma once

#include <string>

#include "Command.h"

#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/phantom/PhantomGenerator.h"

namespace torcht1::server {

/// `torcht1 simulate`: writes a synthetic MOLLI study as DICOM with its ground truth.
class SimulateCommand : public Command {
 public:
  void registerWith(CLI::App& app) override;
  int run() const override;

 private:
  std::string out_;
  phantom::PhantomOptions options_;
  dicom::PixelEncoding encoding_;
  bool enhanced_ = false;
  std::string send_;           // HOST:PORT
  std::string calledAe_ = "ANY-SCP";
  std::string callingAe_ = "TORCHT1SIM";
};

}  // namespace torcht1::server
