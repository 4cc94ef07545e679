#pragma once

#include <CLI/CLI.hpp>

namespace torcht1::server {

/// One `torcht1` subcommand: registers its options, then runs when it was chosen.
class Command {
 public:
  virtual ~Command() = default;
  virtual void registerWith(CLI::App& app) = 0;
  /// The process exit code.
  virtual int run() const = 0;
  bool selected() const { return command_ != nullptr && command_->parsed(); }

 protected:
  CLI::App* command_ = nullptr;
};

}  // namespace torcht1::server
