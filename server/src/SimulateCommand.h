#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/phantom/PhantomGenerator.h"

namespace torcht1::server {

/// `torcht1 simulate`: writes a synthetic MOLLI study as DICOM with its ground truth.
class SimulateCommand {
 public:
  void registerWith(CLI::App& app);
  bool selected() const { return command_ != nullptr && command_->parsed(); }
  int run() const;

 private:
  CLI::App* command_ = nullptr;
  std::string out_;
  phantom::PhantomOptions options_;
  dicom::PixelEncoding encoding_;
  bool enhanced_ = false;
  std::string send_;           // HOST:PORT
  std::string calledAe_ = "ANY-SCP";
  std::string callingAe_ = "TORCHT1SIM";
};

}  // namespace torcht1::server
