// The usbncm and usbrndis images loaded by the PnP manager and the real NDIS library on the
// NDIS test bed. The test bed's lower device is not a USB device (it answers no URB), so
// MiniportInitializeEx must fail while reading the device descriptor and free everything it
// had allocated: the leak report at shutdown is empty. (Bring-up against the emulated USB
// devices needs the USB bus driver under the PnP manager; see STATUS/miniports.md.)
#include <gtest/gtest.h>

#include "ndis_test.hpp"
#include "ndis_test_bed.hpp"
#include "nt/pnp/manifest.hpp"

#include <filesystem>

using ndishost::ndis::test::NdisTestBed;
using ndishost::nt::pnp::DeviceNodeState;

namespace {

void expectInitializeFailsCleanly(const char* name, const char* path, const char* hardwareId) {
  std::vector<ndishost::nt::pnp::LeakReport> leaks;
  {
    ndishost::ndis::test::NdisTestBedOptions options;
    options.runtime.deterministic = false;
    options.miniports = {{name, path, hardwareId, {}}};
    NdisTestBed bed(std::move(options));
    const std::string nic = bed.plug(hardwareId);
    ASSERT_FALSE(nic.empty());
    bed.settle();
    const auto info = bed.pnp().device(nic);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->driver, name) << "the manifest bound the image";
    EXPECT_NE(info->state, DeviceNodeState::Started) << "a non-USB lower device cannot start";
    EXPECT_EQ(bed.adapter(nic), nullptr);
    leaks = bed.shutdown();
  }
  for (const auto& leak : leaks) ADD_FAILURE() << "leak report from " << leak.driver;
}

}  // namespace

TEST(UsbNicBringUp, NcmImageRegistersAndFailsInitializeWithoutLeaks) {
  expectInitializeFailsCleanly("usbncm", USBNCM_DRIVER, "NDISTEST\\USBNCM");
}

TEST(UsbNicBringUp, RndisImageRegistersAndFailsInitializeWithoutLeaks) {
  expectInitializeFailsCleanly("usbrndis", USBRNDIS_DRIVER, "NDISTEST\\USBRNDIS");
}

// The manifest binds each emulated function's compatible IDs (as the USB bus driver forms
// them) to the right image, and the images it names are the ones the build produced.
TEST(UsbNicManifest, CompatibleIdsBindTheRightDriver) {
  const auto manifest = ndishost::nt::pnp::Manifest::load(USBNIC_MANIFEST);
  ASSERT_EQ(manifest.drivers().size(), 2u);
  EXPECT_EQ(manifest.driverByName("usbncm")->path, std::filesystem::path(USBNCM_DRIVER));
  EXPECT_EQ(manifest.driverByName("usbrndis")->path, std::filesystem::path(USBRNDIS_DRIVER));
  const struct {
    std::vector<std::string> compatible;
    const char* driver;
  } cases[] = {
      {{"USB\\Class_02&SubClass_00&Prot_00", "USB\\Class_02&SubClass_00", "USB\\Class_02"}, "usbncm"},
      {{"USB\\Class_02&SubClass_0D&Prot_00", "USB\\Class_02&SubClass_0D", "USB\\Class_02"}, "usbncm"},
      {{"USB\\Class_02&SubClass_06&Prot_00", "USB\\Class_02&SubClass_06", "USB\\Class_02"}, "usbncm"},
      {{"USB\\Class_E0&SubClass_01&Prot_03", "USB\\Class_E0&SubClass_01", "USB\\Class_E0"}, "usbrndis"},
      {{"USB\\Class_02&SubClass_02&Prot_FF", "USB\\Class_02&SubClass_02", "USB\\Class_02"}, "usbrndis"},
      {{"USB\\Class_EF&SubClass_04&Prot_01", "USB\\Class_EF&SubClass_04", "USB\\Class_EF"}, "usbrndis"},
  };
  const std::vector<std::string> hardware = {"USB\\VID_1209&PID_0001&REV_0100", "USB\\VID_1209&PID_0001"};
  for (const auto& c : cases) {
    const auto match = manifest.findDriver(hardware, c.compatible);
    ASSERT_TRUE(match.has_value()) << c.compatible[0];
    EXPECT_EQ(match->driver->name, c.driver) << c.compatible[0];
    EXPECT_TRUE(match->viaCompatibleId);
  }
  // A CDC-ACM modem (02/02/01) is not a network adapter.
  const std::vector<std::string> modem = {"USB\\Class_02&SubClass_02&Prot_01", "USB\\Class_02&SubClass_02",
                                          "USB\\Class_02"};
  EXPECT_FALSE(manifest.findDriver(hardware, modem).has_value());
}
