#pragma once

#include <string>

#include "Command.h"

namespace torcht1::server {

/// `torcht1 serve`: runs the DICOM node until SIGTERM or SIGINT.
class ServeCommand : public Command {
 public:
  void registerWith(CLI::App& app) override;
  int run() const override;

 private:
  std::string config_;
};

}  // namespace torcht1::server
