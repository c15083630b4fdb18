// The driver loader: refusing broken images with messages that say everything at once,
// attributing a loaded image, and the leak report at unload.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "nt/ke/runtime.hpp"
#include "nt/pnp/driver_loader.hpp"
#include "nt/support/driver_image.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;
using namespace ndishost::nt::pnp;

namespace {

class LoaderTest : public ::testing::Test {
 protected:
  Runtime runtime{RuntimeOptions{.processors = 2}};
};

DriverLoadError loadError(const std::string& name, const std::filesystem::path& path) {
  try {
    auto driver = LoadedDriver::load(name, path);
    ADD_FAILURE() << name << " loaded";
  } catch (const DriverLoadError& error) {
    return error;
  }
  return DriverLoadError(LoadFailure::NotLoadable, "", "");
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_F(LoaderTest, RefusesUnresolvedImportsListingEveryOneAndTheDriver) {
  auto error = loadError("unresolved", NDISHOST_TEST_UNRESOLVED_DRIVER);
  EXPECT_EQ(error.failure(), LoadFailure::UnresolvedImports);
  EXPECT_EQ(error.driver(), "unresolved");
  std::vector<std::string> expected{"IoFakeUnimplementedRoutine", "KeFakeUnimplementedRoutine",
                                    "NdisFakeUnimplementedRoutine"};
  EXPECT_EQ(error.missingSymbols(), expected);
  std::string message = error.what();
  EXPECT_TRUE(contains(message, "cannot load driver unresolved")) << message;
  EXPECT_TRUE(contains(message, "3 unresolved imports")) << message;
  for (const auto& symbol : expected) EXPECT_TRUE(contains(message, symbol)) << message;
  // The DDIs it does import (DriverEntry's own calls resolve fine) are not listed.
  EXPECT_FALSE(contains(message, "IoCreateDevice"));
}

TEST_F(LoaderTest, ReportsAFailedDriverEntryByStatusName) {
  auto error = loadError("failing", NDISHOST_TEST_FAILING_DRIVER);
  EXPECT_EQ(error.failure(), LoadFailure::DriverEntryFailed);
  EXPECT_EQ(error.status(), STATUS_DEVICE_NOT_CONNECTED);
  EXPECT_TRUE(contains(error.what(), "failing")) << error.what();
  EXPECT_TRUE(contains(error.what(), "STATUS_DEVICE_NOT_CONNECTED")) << error.what();
}

TEST_F(LoaderTest, RefusesAnImageWithoutDriverEntry) {
  auto error = loadError("noentry", NDISHOST_TEST_NOENTRY_DRIVER);
  EXPECT_EQ(error.failure(), LoadFailure::NoDriverEntry);
  EXPECT_TRUE(contains(error.what(), "noentry")) << error.what();
  EXPECT_TRUE(contains(error.what(), "no DriverEntry")) << error.what();
}

TEST_F(LoaderTest, RefusesFilesThatAreNotDriverImages) {
  auto file = std::filesystem::temp_directory_path() / "ndishost-not-a-driver.so";
  {
    std::ofstream out(file);
    out << "this is not an ELF file\n";
  }
  auto error = loadError("text", file);
  EXPECT_EQ(error.failure(), LoadFailure::NotLoadable);
  EXPECT_TRUE(contains(error.what(), file.string())) << error.what();
  EXPECT_TRUE(contains(error.what(), "not an ELF file")) << error.what();
  std::filesystem::remove(file);

  error = loadError("missing", "/nonexistent/driver.so");
  EXPECT_EQ(error.failure(), LoadFailure::NotLoadable);
  EXPECT_TRUE(contains(error.what(), "/nonexistent/driver.so")) << error.what();
}

TEST_F(LoaderTest, LoadsAttributesAndUnloadsACleanDriver) {
  auto driver = LoadedDriver::load("samplebus", NDISHOST_TEST_SAMPLEBUS_DRIVER);
  PDRIVER_OBJECT object = driver->driverObject();
  ASSERT_NE(object, nullptr);
  EXPECT_NE(object->DriverExtension->AddDevice, nullptr);
  EXPECT_NE(object->DriverUnload, nullptr);
  const void* dispatch = reinterpret_cast<const void*>(object->MajorFunction[IRP_MJ_PNP]);
  EXPECT_EQ(describeCaller(dispatch), "samplebus");
  EXPECT_TRUE(driver->image().contains(reinterpret_cast<const void*>(object->DriverExtension->AddDevice)));

  // The same image cannot be loaded a second time under another name.
  auto again = loadError("samplebus2", NDISHOST_TEST_SAMPLEBUS_DRIVER);
  EXPECT_EQ(again.failure(), LoadFailure::AlreadyLoaded);
  EXPECT_TRUE(contains(again.what(), "already loaded as driver samplebus")) << again.what();

  LeakReport report = driver->unload();
  EXPECT_TRUE(report.empty()) << report.format();
  EXPECT_EQ(report.format(), "samplebus: no leaks");
  EXPECT_FALSE(driver->loaded());
  EXPECT_EQ(findDriverImage(dispatch), nullptr);
}

TEST_F(LoaderTest, RefusesToUnloadADriverWithDevices) {
  auto driver = LoadedDriver::load("samplebus", NDISHOST_TEST_SAMPLEBUS_DRIVER);
  PDEVICE_OBJECT device = nullptr;
  ASSERT_EQ(IoCreateDevice(driver->driverObject(), 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &device), STATUS_SUCCESS);
  {
    RecordViolationsScope scope;
    LeakReport report = driver->unload();
    auto violations = scope.take();
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].rule, "driver.unload-with-devices");
    EXPECT_TRUE(contains(violations[0].detail, "samplebus")) << violations[0].detail;
    EXPECT_TRUE(report.imageKeptMapped);
    EXPECT_TRUE(driver->loaded());
  }
  IoDeleteDevice(device);
  EXPECT_TRUE(driver->unload().empty());
}

TEST_F(LoaderTest, LeakReportNamesThePoolTagSizeAndTheTimer) {
  auto driver = LoadedDriver::load("leaky", NDISHOST_TEST_LEAKY_DRIVER);
  LeakReport report = driver->unload();
  EXPECT_FALSE(report.empty());
  EXPECT_EQ(report.driver, "leaky");

  ASSERT_EQ(report.count(ResourceKind::Pool), 1u) << report.format();
  auto pool = std::find_if(report.resources.begin(), report.resources.end(),
                           [](const auto& r) { return r.kind == ResourceKind::Pool; });
  EXPECT_EQ(pool->tag, static_cast<std::uint32_t>('kaeL'));
  EXPECT_EQ(pool->size, 100u);
  EXPECT_EQ(report.bytesWithTag('kaeL'), 100u);
  EXPECT_TRUE(contains(pool->callSite, "pnptest_leaky.so")) << pool->callSite;

  ASSERT_EQ(report.callbacks.size(), 1u) << report.format();
  EXPECT_EQ(report.callbacks[0].kind, PendingCallback::Kind::Timer);
  EXPECT_TRUE(report.callbacks[0].periodic);
  EXPECT_TRUE(contains(report.callbacks[0].routine, "pnptest_leaky.so")) << report.callbacks[0].routine;
  // The timer could still fire: the image must stay mapped.
  EXPECT_TRUE(report.imageKeptMapped);

  std::string text = report.format();
  EXPECT_TRUE(contains(text, "leaky: 2 leaks")) << text;
  EXPECT_TRUE(contains(text, "tag 'Leak', 100 bytes")) << text;
  EXPECT_TRUE(contains(text, "timer still set (periodic)")) << text;

  // Clean up after the driver, so the next test starts from a clean kernel.
  KeCancelTimer(static_cast<PKTIMER>(const_cast<void*>(report.callbacks[0].object)));
  KeFlushQueuedDpcs();
  ExFreePoolWithTag(const_cast<void*>(pool->object), 'kaeL');
}
