#include "ServeCommand.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <pthread.h>

#include "torcht1/config/NodeConfig.h"
#include "torcht1/node/Node.h"

namespace torcht1::server {

void ServeCommand::registerWith(CLI::App& app) {
  command_ = app.add_subcommand("serve", "Run the DICOM node: receive MOLLI series, fit, send the maps on");
  command_->add_option("--config", config_, "YAML configuration (default: $TORCHT1_CONFIG, else built-in defaults)")
      ->check(CLI::ExistingFile);
}

int ServeCommand::run() const {
  std::string path = config_;
  if (path.empty()) {
    if (const char* fromEnv = std::getenv("TORCHT1_CONFIG")) path = fromEnv;
  }
  const config::Settings settings = config::NodeConfig::load(path, config::NodeConfig::processEnvironment());

  // Signals are taken by sigwait on this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::cout << "torcht1 " << TORCHT1_VERSION << " serve, configuration from "
            << (path.empty() ? "built-in defaults" : path) << " and TORCHT1_* environment:\n"
            << config::NodeConfig::describe(settings) << std::flush;
  node::Node node(settings, std::cout);
  node.start();
  int received = 0;
  sigwait(&signals, &received);
  node.log().write("signal", {{"name", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  node.stop();
  return 0;
}

}  // namespace torcht1::server
