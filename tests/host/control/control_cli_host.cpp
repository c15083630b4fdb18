// The ndishost program reduced to its control commands (see CMakeLists.txt for why).
#include <CLI/CLI.hpp>

#include "host/control/control_cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ndishost control commands (test stand-in for the ndishost program)", "ndishost"};
  app.require_subcommand(1);
  ndishost::host::addControlCommands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
