// ndishost: run Windows NDIS-WDM and WDM drivers, built from WDK-style sources, in Linux
// user space.
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "host/wdm_demo.hpp"
#include "nt/support/log.hpp"

namespace {

int runDemo(ndishost::host::WdmDemoOptions options, const std::string& trace, const std::string& logLevel) {
  options.traceIrps = trace == "all";
  options.tracePnp = trace != "none";
  ndishost::nt::setLogLevel(spdlog::level::from_str(logLevel));
  try {
    ndishost::host::runWdmSampleDemo(options, std::cout);
    return 0;
  } catch (const std::exception& error) {
    std::cout.flush();
    std::cerr << "ndishost demo: error: " << error.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ndishost runs Windows drivers -- NDIS 6 miniports with a WDM lower edge, and WDM drivers -- built\n"
      "from their WDK-style C sources, in Linux user space, on its own implementation of the kernel\n"
      "they expect (IRQL, DPCs, timers, the I/O and PnP managers, NDIS) with rule checks and leak reports.",
      "ndishost"};
  app.require_subcommand(1);

  ndishost::host::WdmDemoOptions demo;
  demo.driverDirectory = NDISHOST_SAMPLE_DRIVER_DIR;
  std::string trace = "all";
  std::string logLevel = "warn";
  std::string manifest;
  unsigned readTimeMs = 100;

  CLI::App* demoCommand = app.add_subcommand(
      "demo",
      "Run the built-in demo with no setup: the sample bus driver (samplebus) and its function driver\n"
      "(samplefunc) are loaded by the PnP manager from an embedded manifest. It enumerates the bus,\n"
      "prints the device tree, shows every IRP flowing through the stacks, sends echo IOCTLs, lets\n"
      "reads complete from a timer DPC, unplugs a child (surprise removal, then removal), shuts down\n"
      "and prints each driver's leak report. Exit status 0 when every step succeeded without leaks.");
  demoCommand->add_option("--driver-dir", demo.driverDirectory,
                          "Directory holding samplebus.so and samplefunc.so (default: this build's)")
      ->capture_default_str();
  demoCommand->add_option("--manifest", manifest,
                          "Driver manifest (TOML) to use instead of the embedded one; its driver paths are\n"
                          "relative to the manifest file");
  demoCommand->add_option("--trace", trace, "What to print of the event trace: all (IRPs too), pnp, none")
      ->check(CLI::IsMember({"all", "pnp", "none"}))
      ->capture_default_str();
  demoCommand->add_flag("--trace-reads", demo.traceReads,
                        "Also print the read pump's IRPs (hundreds per second; hidden by default)");
  demoCommand->add_option("--read-time", readTimeMs, "Milliseconds to let reads run before unplugging")
      ->check(CLI::Range(1u, 60000u))
      ->capture_default_str();
  demoCommand->add_option("--processors", demo.processors, "Virtual processors (DPC threads) of the runtime")
      ->check(CLI::Range(1u, 8u))
      ->capture_default_str();
  demoCommand->add_flag("--deterministic", demo.deterministic,
                        "Deterministic runtime: one virtual processor, a virtual clock, a seeded interleaving");
  demoCommand->add_option("--seed", demo.seed, "Seed of the deterministic interleaving")->capture_default_str();
  demoCommand->add_option("--log-level", logLevel, "Runtime log level: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (demoCommand->parsed()) {
    if (!manifest.empty()) demo.manifest = std::filesystem::path(manifest);
    demo.readTime = std::chrono::milliseconds(readTimeMs);
    return runDemo(demo, trace, logLevel);
  }
  return 0;
}
