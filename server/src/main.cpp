// torcht1: quantitative T1 mapping of cardiac MOLLI series.
#include <cstdio>
#include <exception>
#include <vector>

#include <CLI/CLI.hpp>

#include "CheckConfigCommand.h"
#include "DemoCommand.h"
#include "FitCommand.h"
#include "RequeueCommand.h"
#include "ServeCommand.h"
#include "SimulateCommand.h"

int main(int argc, char** argv) {
  CLI::App app{"TorchT1 node: quantitative T1 maps from cardiac MOLLI series", "torcht1"};
  app.set_version_flag("--version", std::string("torcht1 ") + TORCHT1_VERSION);
  app.require_subcommand(1);

  torcht1::server::DemoCommand demo;
  torcht1::server::FitCommand fit;
  torcht1::server::SimulateCommand simulate;
  torcht1::server::ServeCommand serve;
  torcht1::server::CheckConfigCommand checkConfig;
  torcht1::server::RequeueCommand requeue;
  const std::vector<torcht1::server::Command*> commands = {&serve, &simulate, &fit, &checkConfig, &requeue, &demo};
  for (auto* command : commands) command->registerWith(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto* command : commands) {
      if (command->selected()) return command->run();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torcht1: %s\n", e.what());
    return 1;
  }
  return 0;
}
