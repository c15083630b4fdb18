// NdisMRegisterMiniportDriver for an NDIS-WDM miniport (test_miniport.c): accepted without
// interrupt or hang-check handlers; refused with the documented status for each bad header,
// version, size and missing handler; NDIS takes over the driver object; unload goes through
// MiniportDriverUnload.
#include "ndis_test.hpp"

#include <cstddef>
#include <cstring>
#include <functional>

#include "ndis/config/configuration_store.hpp"
#include "ndis/miniport/miniport_driver.hpp"
#include "nt/io/io_manager.hpp"
#include "test_miniport.h"

using namespace ndistest;
using ndishost::ndis::MiniportDriver;

namespace {

class RegistrationTest : public NdisTest {
 protected:
  void SetUp() override {
    testMiniportRecord = {};
    testMiniportRecord.setOptionsResult = NDIS_STATUS_SUCCESS;
    driver_ = ndishost::nt::createDriverObject(u"testmp", TestMiniportDriverEntry,
                                              nullptr);
    ASSERT_NE(driver_, nullptr);
    RtlInitUnicodeString(&registryPath_, reinterpret_cast<PCWSTR>(u"\\Registry\\Machine\\System\\testmp"));
  }

  NDIS_STATUS registerWith(const std::function<void(NDIS_MINIPORT_DRIVER_CHARACTERISTICS&)>& change) {
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS c;
    TestMiniportFillCharacteristics(&c);
    change(c);
    NDIS_HANDLE handle = nullptr;
    NDIS_STATUS status = NdisMRegisterMiniportDriver(driver_.get(), &registryPath_, &context_, &c, &handle);
    if (status == NDIS_STATUS_SUCCESS) {
      EXPECT_NE(handle, nullptr);
      NdisMDeregisterMiniportDriver(handle);
    } else {
      EXPECT_EQ(handle, nullptr);
    }
    return status;
  }

  ndishost::nt::DriverObjectHandle driver_;
  UNICODE_STRING registryPath_;
  int context_ = 0;
};

TEST_F(RegistrationTest, WdmMiniportRegistersAndUnloads) {
  ASSERT_EQ(ndishost::nt::callDriverEntry(driver_.get(), u"\\Registry\\Machine\\System\\testmp"), STATUS_SUCCESS);
  ASSERT_EQ(testMiniportRecord.registerStatus, NDIS_STATUS_SUCCESS);
  NDIS_HANDLE handle = testMiniportRecord.registeredHandle;
  ASSERT_NE(handle, nullptr);
  // MiniportSetOptions ran inside the registration with (driver handle, driver context).
  EXPECT_EQ(testMiniportRecord.setOptionsCalls, 1);
  EXPECT_EQ(testMiniportRecord.setOptionsDriverHandle, handle);
  EXPECT_EQ(testMiniportRecord.setOptionsContext, &testMiniportDriverContext);

  MiniportDriver* driver = MiniportDriver::fromDriverObject(driver_.get());
  ASSERT_NE(driver, nullptr);
  EXPECT_EQ(driver->handle(), handle);
  EXPECT_TRUE(driver->isWdm());
  EXPECT_EQ(driver->driverContext(), &testMiniportDriverContext);
  EXPECT_EQ(driver->characteristics().CheckForHangHandlerEx, nullptr);
  EXPECT_EQ(driver->characteristics().SynchronousOidRequestHandler, nullptr);  // past the 6.30 revision
  EXPECT_EQ(driver->characteristics().MinorNdisVersion, 30);

  // NDIS owns the driver object's entry points now.
  PDRIVER_OBJECT object = driver_.get();
  ASSERT_NE(object->DriverExtension->AddDevice, nullptr);
  ASSERT_NE(object->DriverUnload, nullptr);
  EXPECT_EQ(object->MajorFunction[IRP_MJ_PNP], object->MajorFunction[IRP_MJ_POWER]);
  // AddDevice is the adapter lifecycle's (tests/ndis/lifecycle); without a PDO it refuses.
  EXPECT_EQ(object->DriverExtension->AddDevice(object, nullptr), STATUS_INVALID_PARAMETER);

  // The driver handle opens the driver's configuration and carries work items.
  driver->configurationStore()->setInteger(u"Debug", 3);
  NDIS_CONFIGURATION_OBJECT config = {};
  config.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
  config.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
  config.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
  config.NdisHandle = handle;
  NDIS_HANDLE configuration = nullptr;
  ASSERT_EQ(NdisOpenConfigurationEx(&config, &configuration), NDIS_STATUS_SUCCESS);
  NdisCloseConfiguration(configuration);
  NDIS_HANDLE item = NdisAllocateIoWorkItem(handle);
  EXPECT_NE(item, nullptr);
  NdisFreeIoWorkItem(item);

  // Unload: NDIS's DriverUnload calls MiniportDriverUnload, which deregisters.
  EXPECT_TRUE(ndishost::nt::callDriverUnload(object));
  EXPECT_EQ(testMiniportRecord.unloadCalls, 1);
  EXPECT_EQ(MiniportDriver::fromDriverObject(object), nullptr);
}

TEST_F(RegistrationTest, RejectsBadHeaderVersionAndSize) {
  EXPECT_EQ(registerWith([](auto&) {}), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(registerWith([](auto& c) { c.Header.Type = NDIS_OBJECT_TYPE_DEFAULT; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](auto& c) { c.MajorNdisVersion = 5; }), NDIS_STATUS_BAD_VERSION);
  EXPECT_EQ(registerWith([](auto& c) { c.MinorNdisVersion = 99; }), NDIS_STATUS_BAD_VERSION);
  EXPECT_EQ(registerWith([](auto& c) { c.Header.Revision = 0; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](auto& c) { c.Header.Revision = 4; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  // Revision 3 (NDIS 6.80) from a driver that declares NDIS 6.30.
  EXPECT_EQ(registerWith([](auto& c) {
              c.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3;
              c.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3;
            }),
            NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([](auto& c) {
              c.MinorNdisVersion = 80;
              c.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3;
              c.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3;
            }),
            NDIS_STATUS_SUCCESS);
  // An NDIS 6.0 driver with the 6.0 revision and size.
  EXPECT_EQ(registerWith([](auto& c) {
              c.MinorNdisVersion = 0;
              c.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
              c.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
            }),
            NDIS_STATUS_SUCCESS);
  EXPECT_EQ(registerWith([](auto& c) { c.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1; }),
            NDIS_STATUS_BAD_CHARACTERISTICS);  // revision 2 needs the revision-2 size
}

TEST_F(RegistrationTest, RejectsEachMissingRequiredHandler) {
  using C = NDIS_MINIPORT_DRIVER_CHARACTERISTICS;
  const std::pair<const char*, std::size_t> required[] = {
      {"InitializeHandlerEx", offsetof(C, InitializeHandlerEx)},
      {"HaltHandlerEx", offsetof(C, HaltHandlerEx)},
      {"UnloadHandler", offsetof(C, UnloadHandler)},
      {"PauseHandler", offsetof(C, PauseHandler)},
      {"RestartHandler", offsetof(C, RestartHandler)},
      {"OidRequestHandler", offsetof(C, OidRequestHandler)},
      {"SendNetBufferListsHandler", offsetof(C, SendNetBufferListsHandler)},
      {"ReturnNetBufferListsHandler", offsetof(C, ReturnNetBufferListsHandler)},
      {"CancelSendHandler", offsetof(C, CancelSendHandler)},
      {"DevicePnPEventNotifyHandler", offsetof(C, DevicePnPEventNotifyHandler)},
      {"ShutdownHandlerEx", offsetof(C, ShutdownHandlerEx)},
      {"CancelOidRequestHandler", offsetof(C, CancelOidRequestHandler)},
  };
  for (const auto& [field, offset] : required) {
    EXPECT_EQ(registerWith([offset = offset](C& c) {
                void* null = nullptr;
                std::memcpy(reinterpret_cast<char*>(&c) + offset, &null, sizeof(null));
              }),
              NDIS_STATUS_BAD_CHARACTERISTICS)
        << field;
  }
  // SetOptionsHandler is optional.
  EXPECT_EQ(registerWith([](C& c) { c.SetOptionsHandler = nullptr; }), NDIS_STATUS_SUCCESS);
}

TEST_F(RegistrationTest, HangCheckNeedsResetAndDirectOidHandlersComeInPairs) {
  using C = NDIS_MINIPORT_DRIVER_CHARACTERISTICS;
  auto hang = reinterpret_cast<MINIPORT_CHECK_FOR_HANG_HANDLER>(TestMiniportCheckForHang());
  auto reset = reinterpret_cast<MINIPORT_RESET_HANDLER>(TestMiniportReset());
  EXPECT_EQ(registerWith([&](C& c) { c.CheckForHangHandlerEx = hang; }), NDIS_STATUS_BAD_CHARACTERISTICS);
  EXPECT_EQ(registerWith([&](C& c) {
              c.CheckForHangHandlerEx = hang;
              c.ResetHandlerEx = reset;
            }),
            NDIS_STATUS_SUCCESS);
  EXPECT_EQ(registerWith([&](C& c) { c.ResetHandlerEx = reset; }), NDIS_STATUS_SUCCESS);  // reset alone is fine
  EXPECT_EQ(registerWith([&](C& c) {
              c.DirectOidRequestHandler = reinterpret_cast<MINIPORT_DIRECT_OID_REQUEST_HANDLER>(c.OidRequestHandler);
            }),
            NDIS_STATUS_BAD_CHARACTERISTICS);
}

TEST_F(RegistrationTest, SetOptionsFailureFailsTheRegistration) {
  testMiniportRecord.setOptionsResult = NDIS_STATUS_RESOURCES;
  EXPECT_EQ(registerWith([](auto&) {}), NDIS_STATUS_RESOURCES);
  EXPECT_EQ(testMiniportRecord.setOptionsCalls, 1);
  EXPECT_EQ(MiniportDriver::fromDriverObject(driver_.get()), nullptr);
}

}  // namespace
