#include "CheckConfigCommand.h"

#include <cstdio>

#include "torcht1/config/NodeConfig.h"

namespace torcht1::server {

void CheckConfigCommand::registerWith(CLI::App& app) {
  command_ = app.add_subcommand("check-config", "Validate a configuration file (and TORCHT1_* variables) without starting");
  command_->add_option("file", file_, "YAML configuration")->required();
}

int CheckConfigCommand::run() const {
  try {
    const config::Settings settings = config::NodeConfig::load(file_, config::NodeConfig::processEnvironment());
    std::printf("%s: valid\n%s", file_.c_str(), config::NodeConfig::describe(settings).c_str());
    return 0;
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}

}  // namespace torcht1::server
