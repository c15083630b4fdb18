// docs/CLI.md must describe every control command with its current --help text
// (regenerate with scripts/gen-cli-docs.sh).
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "host/control/control_cli.hpp"

namespace ndishost::host {
namespace {

void collect(CLI::App* app, const std::string& parents, std::vector<std::pair<std::string, std::string>>& out) {
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    out.emplace_back(parents + " " + sub->get_name(), sub->help(parents));
    collect(sub, parents + " " + sub->get_name(), out);
  }
}

TEST(CliDocs, EveryControlCommandIsDocumentedWithItsCurrentHelp) {
  std::ifstream in(std::string(NDISHOST_SOURCE_DIR) + "/docs/CLI.md");
  ASSERT_TRUE(in) << "docs/CLI.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();

  CLI::App app{"ndishost", "ndishost"};
  addControlCommands(app);
  std::vector<std::pair<std::string, std::string>> commands;
  collect(&app, "ndishost", commands);
  ASSERT_GE(commands.size(), 12u);
  for (const auto& [name, help] : commands) {
    EXPECT_NE(doc.find("## " + name + "\n"), std::string::npos) << "no section for `" << name << "`";
    EXPECT_NE(doc.find(help), std::string::npos)
        << "docs/CLI.md has an outdated --help for `" << name << "`; run scripts/gen-cli-docs.sh";
  }
  for (const char* status : {"| 0 |", "| 1 |", "| 2 |", "| 3 |"}) EXPECT_NE(doc.find(status), std::string::npos);
}

}  // namespace
}  // namespace ndishost::host
