#include "RequeueCommand.h"

#include <cstdio>
#include <algorithm>
#include <cstdlib>

#include "torcht1/config/NodeConfig.h"
#include "torcht1/node/Outbox.h"

namespace torcht1::server {

void RequeueCommand::registerWith(CLI::App& app) {
  command_ = app.add_subcommand("requeue", "Send again the map series that failed to reach a destination");
  command_->add_option("--config", config_, "the node's YAML configuration (default: $TORCHT1_CONFIG)")
      ->check(CLI::ExistingFile);
  command_->add_option("--destination", destination_, "only this destination (default: all)");
}

int RequeueCommand::run() const {
  std::string path = config_;
  if (path.empty()) {
    if (const char* fromEnv = std::getenv("TORCHT1_CONFIG")) path = fromEnv;
  }
  const config::Settings settings = config::NodeConfig::load(path, config::NodeConfig::processEnvironment());
  std::vector<std::string> names;
  for (const auto& d : settings.destinations) names.push_back(d.name);
  if (!destination_.empty() && std::find(names.begin(), names.end(), destination_) == names.end()) {
    std::fprintf(stderr, "torcht1 requeue: no destination named '%s' in the configuration\n", destination_.c_str());
    return 2;
  }
  const node::Outbox outbox(settings.node.spoolDir, names);
  const size_t n = outbox.requeue(destination_);
  std::printf("requeued %zu map series from %s/failed\n", n, settings.node.spoolDir.c_str());
  return 0;
}

}  // namespace torcht1::server
