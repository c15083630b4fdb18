// NdisMRegisterMiniportDriver / NdisMDeregisterMiniportDriver.
//
// Registration checks the characteristics the way the reference describes them: the header
// (type, a revision the declared NDIS version has, a size covering that revision), the
// version (6.x with a minor NDIS defines), the required MiniportXxx handlers, ResetHandlerEx
// whenever CheckForHangHandlerEx is given, and the direct-OID pair. An NDIS-WDM miniport
// (NDIS_WDM_DRIVER) has no interrupt, shared-memory or hang-check handlers to give -- the
// NDIS 6 characteristics carry none but CheckForHangHandlerEx, which is optional -- and is
// accepted without them. Each refusal logs the field that was wrong.
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/core/ndis_version.hpp"
#include "ndis/miniport/adapter.hpp"
#include "ndis/miniport/miniport_driver.hpp"
#include "nt/io/io_manager.hpp"
#include "nt/support/log.hpp"

namespace ndishost::ndis {
namespace {

// The NDIS version (minor) that introduced each characteristics revision, and its size.
struct RevisionInfo {
  UCHAR minimumMinor;
  USHORT size;
};
const RevisionInfo* revisionInfo(UCHAR revision) {
  static constexpr RevisionInfo kRevisions[] = {
      {0, NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1},
      {1, NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2},
      {80, NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3},
  };
  if (revision < 1 || revision > 3) return nullptr;
  return &kRevisions[revision - 1];
}

std::string nameOf(PDRIVER_OBJECT driverObject) {
  std::string name = nt::driverServiceName(driverObject);
  return name.empty() ? fmt::format("driver {}", static_cast<void*>(driverObject)) : name;
}

}  // namespace
}  // namespace ndishost::ndis

using namespace ndishost;
using namespace ndishost::ndis;

// IRQL PASSIVE_LEVEL, from DriverEntry. NDIS_STATUS_BAD_VERSION for a Major/MinorNdisVersion
// NDIS does not know; NDIS_STATUS_BAD_CHARACTERISTICS for a wrong header, a revision the
// version does not have, a short Size or a missing handler; NDIS_STATUS_FAILURE for NULL
// arguments or a second registration; otherwise what MiniportSetOptions returns.
extern "C" NDIS_STATUS NTAPI NdisMRegisterMiniportDriver(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath,
                                                        NDIS_HANDLE MiniportDriverContext,
                                                        PNDIS_MINIPORT_DRIVER_CHARACTERISTICS MiniportDriverCharacteristics,
                                                        PNDIS_HANDLE NdisMiniportDriverHandle) {
  const void* caller = __builtin_return_address(0);
  (void)RegistryPath;
  checkIrqlExactly(PASSIVE_LEVEL, "NdisMRegisterMiniportDriver", caller);
  auto& log = nt::logger("ndis");
  std::string who = DriverObject != nullptr ? nameOf(DriverObject) : nt::describeCaller(caller);
  auto reject = [&](NDIS_STATUS status, const std::string& why) {
    log.error("NdisMRegisterMiniportDriver ({}): {}", who, why);
    return status;
  };
  if (NdisMiniportDriverHandle != nullptr) *NdisMiniportDriverHandle = nullptr;
  if (DriverObject == nullptr || MiniportDriverCharacteristics == nullptr || NdisMiniportDriverHandle == nullptr)
    return reject(NDIS_STATUS_FAILURE, "DriverObject, MiniportDriverCharacteristics and NdisMiniportDriverHandle are required");

  const NDIS_MINIPORT_DRIVER_CHARACTERISTICS& c = *MiniportDriverCharacteristics;
  if (c.Header.Type != NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  fmt::format("Header.Type is {:#x}, expected NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS ({:#x})",
                              c.Header.Type, NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS));
  if (c.MajorNdisVersion != 6 || !isKnownNdisMinorVersion(c.MinorNdisVersion))
    return reject(NDIS_STATUS_BAD_VERSION, fmt::format("MajorNdisVersion.MinorNdisVersion {}.{} is not an NDIS 6 version",
                                                       c.MajorNdisVersion, c.MinorNdisVersion));
  const RevisionInfo* revision = revisionInfo(c.Header.Revision);
  if (revision == nullptr)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  fmt::format("Header.Revision {} is not NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1..3",
                              c.Header.Revision));
  if (c.MinorNdisVersion < revision->minimumMinor)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  fmt::format("Header.Revision {} needs NDIS 6.{} or later, but the driver declares NDIS 6.{}",
                              c.Header.Revision, revision->minimumMinor, c.MinorNdisVersion));
  if (c.Header.Size < revision->size)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  fmt::format("Header.Size {} is smaller than NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_{} ({})",
                              c.Header.Size, c.Header.Revision, revision->size));

  // Copy only what the driver's revision has; later members stay NULL.
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS copy;
  std::memset(&copy, 0, sizeof(copy));
  std::memcpy(&copy, &c, revision->size);

  struct Required {
    const void* handler;
    const char* field;
  };
  const Required required[] = {
      {reinterpret_cast<const void*>(copy.InitializeHandlerEx), "InitializeHandlerEx"},
      {reinterpret_cast<const void*>(copy.HaltHandlerEx), "HaltHandlerEx"},
      {reinterpret_cast<const void*>(copy.UnloadHandler), "UnloadHandler"},
      {reinterpret_cast<const void*>(copy.PauseHandler), "PauseHandler"},
      {reinterpret_cast<const void*>(copy.RestartHandler), "RestartHandler"},
      {reinterpret_cast<const void*>(copy.OidRequestHandler), "OidRequestHandler"},
      {reinterpret_cast<const void*>(copy.SendNetBufferListsHandler), "SendNetBufferListsHandler"},
      {reinterpret_cast<const void*>(copy.ReturnNetBufferListsHandler), "ReturnNetBufferListsHandler"},
      {reinterpret_cast<const void*>(copy.CancelSendHandler), "CancelSendHandler"},
      {reinterpret_cast<const void*>(copy.DevicePnPEventNotifyHandler), "DevicePnPEventNotifyHandler"},
      {reinterpret_cast<const void*>(copy.ShutdownHandlerEx), "ShutdownHandlerEx"},
      {reinterpret_cast<const void*>(copy.CancelOidRequestHandler), "CancelOidRequestHandler"},
  };
  for (const Required& r : required) {
    if (r.handler == nullptr)
      return reject(NDIS_STATUS_BAD_CHARACTERISTICS, fmt::format("{} is NULL but required", r.field));
  }
  if (copy.CheckForHangHandlerEx != nullptr && copy.ResetHandlerEx == nullptr)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  "CheckForHangHandlerEx is given but ResetHandlerEx is NULL (required with a hang check)");
  if ((copy.DirectOidRequestHandler == nullptr) != (copy.CancelDirectOidRequestHandler == nullptr))
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  "only one of DirectOidRequestHandler and CancelDirectOidRequestHandler is given (both or neither)");
  if (MiniportDriver::fromDriverObject(DriverObject) != nullptr)
    return reject(NDIS_STATUS_FAILURE, "this driver object already registered a miniport driver");

  auto* driver = new (std::nothrow) MiniportDriver(DriverObject, MiniportDriverContext, copy, who);
  if (driver == nullptr) return NDIS_STATUS_RESOURCES;
  takeOverDriverObject(DriverObject);
  *NdisMiniportDriverHandle = driver->handle();

  if (copy.SetOptionsHandler != nullptr) {
    NDIS_STATUS status = copy.SetOptionsHandler(driver->handle(), MiniportDriverContext);
    if (status != NDIS_STATUS_SUCCESS) {
      *NdisMiniportDriverHandle = nullptr;
      delete driver;
      return reject(status, fmt::format("MiniportSetOptions failed with {:#010x}", static_cast<ULONG>(status)));
    }
  }
  log.info("{}: registered NDIS 6.{} miniport driver{}{} (characteristics revision {})", who, copy.MinorNdisVersion,
           driver->isWdm() ? ", NDIS-WDM" : "", (copy.Flags & NDIS_INTERMEDIATE_DRIVER) != 0 ? ", intermediate" : "",
           copy.Header.Revision);
  return NDIS_STATUS_SUCCESS;
}

// IRQL PASSIVE_LEVEL, from MiniportDriverUnload (or DriverEntry after a later failure).
extern "C" VOID NTAPI NdisMDeregisterMiniportDriver(NDIS_HANDLE NdisMiniportDriverHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisMDeregisterMiniportDriver", caller);
  MiniportDriver* driver = MiniportDriver::fromHandle(NdisMiniportDriverHandle);
  if (driver == nullptr) {
    reportNdisViolation("ndis.bad-handle", NdisBugSubcode::BadHandle, NdisMiniportDriverHandle, 0, caller,
                        fmt::format("NdisMDeregisterMiniportDriver was passed {}, which is not a registered miniport "
                                    "driver handle",
                                    NdisMiniportDriverHandle));
    return;
  }
  if (std::size_t live = adapterCount(*driver); live != 0) {
    // Its adapters still call through the characteristics: NDIS keeps the registration.
    reportNdisViolation("ndis.deregister-with-adapters", NdisBugSubcode::DeregisterWithAdapters,
                        NdisMiniportDriverHandle, live, caller,
                        fmt::format("{}: NdisMDeregisterMiniportDriver while {} adapter(s) of the driver are still "
                                    "present (deregister from MiniportDriverUnload, after every device is removed)",
                                    driver->describe(), live));
    return;
  }
  nt::logger("ndis").info("{}: miniport driver deregistered", driver->describe());
  delete driver;
}
