// The driver manifest: parsing, errors that name file, line and key, and Windows' matching
// order (hardware IDs in order, then compatible IDs; first match wins).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "nt/pnp/manifest.hpp"

using namespace ndishost::nt::pnp;

namespace {

ManifestError parseError(const std::string& text) {
  try {
    Manifest::parse(text, "test.toml", "/drivers");
  } catch (const ManifestError& error) {
    return error;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return ManifestError("", 0, "", "");
}

const char* kTwoDrivers = R"([[driver]]
name = "generic"
path = "generic.so"
ids = ["SAMPLEBUS\\CLASS_ECHO"]

[[driver]]
name = "specific"
path = "sub/specific.so"
description = "Specific echo device"
ids = ["SAMPLEBUS\\VID_5AB1&PID_0001", "OTHER\\ID"]
parameters = { PendingReads = 8, Name = "x", Fast = true }

[[device]]
hardware_ids = ["ROOT\\SAMPLEBUS"]
description = "Sample bus"
)";

}  // namespace

TEST(Manifest, ParsesDriversDevicesAndParameters) {
  Manifest m = Manifest::parse(kTwoDrivers, "test.toml", "/drivers");
  ASSERT_EQ(m.drivers().size(), 2u);
  EXPECT_EQ(m.drivers()[0].name, "generic");
  EXPECT_EQ(m.drivers()[0].path, std::filesystem::path("/drivers/generic.so"));
  EXPECT_EQ(m.drivers()[1].path, std::filesystem::path("/drivers/sub/specific.so"));
  EXPECT_EQ(m.drivers()[1].description, "Specific echo device");
  EXPECT_EQ(std::get<std::int64_t>(m.drivers()[1].parameters.at("PendingReads")), 8);
  EXPECT_EQ(std::get<std::string>(m.drivers()[1].parameters.at("Name")), "x");
  EXPECT_EQ(std::get<std::int64_t>(m.drivers()[1].parameters.at("Fast")), 1);
  ASSERT_EQ(m.rootDevices().size(), 1u);
  EXPECT_EQ(m.rootDevices()[0].hardwareIds.at(0), "ROOT\\SAMPLEBUS");
  EXPECT_EQ(m.driverByName("specific"), &m.drivers()[1]);
  EXPECT_EQ(m.driverByName("nope"), nullptr);
}

TEST(Manifest, MatchesHardwareIdsInOrderBeforeCompatibleIds) {
  Manifest m = Manifest::parse(kTwoDrivers, "test.toml", "/drivers");
  // The first hardware ID matches nothing; the second (case-insensitively) matches "specific",
  // even though the compatible ID would match "generic".
  std::vector<std::string> hardware{"SAMPLEBUS\\VID_5AB1&PID_0001&REV_0100", "samplebus\\vid_5ab1&pid_0001"};
  std::vector<std::string> compatible{"SAMPLEBUS\\CLASS_ECHO"};
  auto match = m.findDriver(hardware, compatible);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->driver->name, "specific");
  EXPECT_EQ(match->matchedId, "samplebus\\vid_5ab1&pid_0001");
  EXPECT_FALSE(match->viaCompatibleId);

  std::vector<std::string> onlyRevision{"SAMPLEBUS\\VID_5AB1&PID_0001&REV_0100"};
  match = m.findDriver(onlyRevision, compatible);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->driver->name, "generic");
  EXPECT_TRUE(match->viaCompatibleId);

  std::vector<std::string> none;
  EXPECT_FALSE(m.findDriver(onlyRevision, none));
}

TEST(Manifest, FirstDriverInTheManifestWinsATie) {
  Manifest m = Manifest::parse(R"([[driver]]
name = "first"
path = "a.so"
ids = ["X\\Y"]
[[driver]]
name = "second"
path = "b.so"
ids = ["X\\Y"]
)",
                               "t.toml", "/d");
  std::vector<std::string> ids{"X\\Y"};
  EXPECT_EQ(m.findDriver(ids, {})->driver->name, "first");
}

TEST(ManifestErrors, NameFileLineAndKey) {
  auto e = parseError(R"([[driver]]
name = "a"
path = 5
ids = ["X"]
)");
  EXPECT_EQ(e.file(), "test.toml");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.key(), "driver[0].path");
  EXPECT_NE(std::string(e.what()).find("test.toml:3: driver[0].path: expected a string"), std::string::npos) << e.what();
}

TEST(ManifestErrors, MissingKeyPointsAtItsTable) {
  auto e = parseError(R"([[driver]]
name = "a"
path = "a.so"
ids = ["A"]

[[driver]]
name = "b"
path = "b.so"
)");
  EXPECT_EQ(e.line(), 6u);
  EXPECT_EQ(e.key(), "driver[1].ids");
  EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos);
}

TEST(ManifestErrors, UnknownKeysTyposAndBadValues) {
  auto e = parseError("[[driver]]\nname = \"a\"\npath = \"a.so\"\nids = [\"A\"]\nidz = [\"B\"]\n");
  EXPECT_EQ(e.line(), 5u);
  EXPECT_EQ(e.key(), "driver[0].idz");

  e = parseError("[[driver]]\nname = \"a b\"\npath = \"a.so\"\nids = [\"A\"]\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_EQ(e.key(), "driver[0].name");

  e = parseError("[[driver]]\nname = \"a\"\npath = \"a.so\"\nids = [\"A\", 7]\n");
  EXPECT_EQ(e.line(), 4u);
  EXPECT_EQ(e.key(), "driver[0].ids[1]");

  e = parseError("[[driver]]\nname = \"a\"\npath = \"a.so\"\nids = [\"has space\"]\n");
  EXPECT_EQ(e.key(), "driver[0].ids[0]");

  e = parseError("[[driver]]\nname = \"a\"\npath = \"a.so\"\nids = [\"A\"]\n[[driver]]\nname = \"a\"\npath = \"b.so\"\nids = [\"B\"]\n");
  EXPECT_EQ(e.line(), 6u);
  EXPECT_NE(std::string(e.what()).find("listed twice"), std::string::npos);

  e = parseError("[[device]]\ncompatible_ids = [\"X\"]\n");
  EXPECT_EQ(e.key(), "device[0].hardware_ids");

  e = parseError("[drivers]\nname = 1\n");
  EXPECT_EQ(e.line(), 1u);
  EXPECT_EQ(e.key(), "drivers");
}

TEST(ManifestErrors, SyntaxErrorsCarryTheLine) {
  auto e = parseError("[[driver]]\nname = \"a\"\npath = \"a.so\nids = [\"A\"]\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.key(), "(syntax)");
}

TEST(Manifest, LoadResolvesPathsAgainstTheFilesDirectory) {
  auto dir = std::filesystem::temp_directory_path() / "ndishost-manifest-test";
  std::filesystem::create_directories(dir);
  auto file = dir / "m.toml";
  {
    std::ofstream out(file);
    out << "[[driver]]\nname = \"a\"\npath = \"lib/a.so\"\nids = [\"A\"]\n";
  }
  Manifest m = Manifest::load(file);
  EXPECT_EQ(m.drivers().at(0).path, (dir / "lib/a.so").lexically_normal());
  std::filesystem::remove_all(dir);

  try {
    Manifest::load(dir / "missing.toml");
    ADD_FAILURE() << "loading a missing file succeeded";
  } catch (const ManifestError& error) {
    EXPECT_NE(std::string(error.what()).find("missing.toml"), std::string::npos);
  }
}

TEST(Manifest, BuiltinDriversHaveNoPath) {
  auto manifest = Manifest::parse(R"([[driver]]
name = "usbhub"
builtin = true
ids = ["ROOT\\USB"]
)",
                                  "test.toml", "/base");
  ASSERT_EQ(manifest.drivers().size(), 1u);
  EXPECT_TRUE(manifest.drivers()[0].builtin);
  EXPECT_TRUE(manifest.drivers()[0].path.empty());

  auto withPath = parseError("[[driver]]\nname = \"a\"\nbuiltin = true\npath = \"a.so\"\nids = [\"A\"]\n");
  EXPECT_EQ(withPath.line(), 4u);
  EXPECT_EQ(withPath.key(), "driver[0].path");
  auto notBool = parseError("[[driver]]\nname = \"a\"\nbuiltin = \"yes\"\nids = [\"A\"]\n");
  EXPECT_EQ(notBool.line(), 3u);
  EXPECT_EQ(notBool.key(), "driver[0].builtin");
}

ManifestDriver builtinDriver(std::string name, std::string id, bool builtin = true) {
  ManifestDriver driver;
  driver.name = std::move(name);
  driver.builtin = builtin;
  driver.ids = {std::move(id)};
  return driver;
}

TEST(Manifest, HostsCanBuildOneInCode) {
  Manifest manifest;
  manifest.addDriver(builtinDriver("usbhub", "ROOT\\USB"));
  manifest.addRootDevice(ManifestDevice{{"ROOT\\USB"}, {}, ""});
  EXPECT_EQ(manifest.rootDevices().at(0).description, "ROOT\\USB");
  auto match = manifest.findDriver(std::vector<std::string>{"root\\usb"}, {});
  ASSERT_TRUE(match);
  EXPECT_EQ(match->driver->name, "usbhub");
  EXPECT_THROW(manifest.addDriver(builtinDriver("usbhub", "X")), std::invalid_argument);       // listed twice
  EXPECT_THROW(manifest.addDriver(builtinDriver("nopath", "X", false)), std::invalid_argument);  // needs a path
  EXPECT_THROW(manifest.addDriver(builtinDriver("bad name!", "X")), std::invalid_argument);
  EXPECT_THROW(manifest.addRootDevice(ManifestDevice{}), std::invalid_argument);
}
