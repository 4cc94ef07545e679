#pragma once

#include <string>

#include "Command.h"

namespace torcht1::server {

/// `torcht1 requeue`: moves sends that gave up (spool failed/) back to their outboxes; a
/// running node picks them up within a second.
class RequeueCommand : public Command {
 public:
  void registerWith(CLI::App& app) override;
  int run() const override;

 private:
  std::string config_;
  std::string destination_;
};

}  // namespace torcht1::server
