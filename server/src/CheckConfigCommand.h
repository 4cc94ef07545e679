#pragma once

#include <string>

#include "Command.h"

namespace torcht1::server {

/// `torcht1 check-config FILE`: validates a configuration (with TORCHT1_* overrides) and
/// prints the effective settings, without starting anything.
class CheckConfigCommand : public Command {
 public:
  void registerWith(CLI::App& app) override;
  int run() const override;

 private:
  std::string file_;
};

}  // namespace torcht1::server
