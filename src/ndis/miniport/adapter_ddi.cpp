// The adapter DDIs a miniport calls: NdisMSetMiniportAttributes, NdisMGetDeviceProperty,
// NdisMRestartComplete, NdisMPauseComplete.
//
// NdisMSetMiniportAttributes checks each block's header (type, a known revision, a size
// covering that revision) and returns NDIS_STATUS_INVALID_PARAMETER naming the field that is
// wrong. It is only valid inside MiniportInitializeEx (adapter Initializing; "ndis.state"
// otherwise), registration attributes first, general attributes next, any other kind after
// them ("ndis.attributes-order"). Attribute kinds NDIS-WDM Ethernet miniports do not use
// (add-device, native 802.11, hardware assist, NDK, ...) fail with NDIS_STATUS_NOT_SUPPORTED.
#include <algorithm>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/miniport/adapter.hpp"
#include "ndis/miniport/adapter_lifecycle.hpp"
#include "ndis/miniport/miniport_driver.hpp"
#include "nt/support/log.hpp"

namespace ndishost::ndis {
namespace {

Adapter* checkAdapter(NDIS_HANDLE handle, const char* ddi, const void* caller) {
  Adapter* adapter = Adapter::fromHandle(handle);
  if (adapter == nullptr) {
    reportNdisViolation("ndis.bad-handle", NdisBugSubcode::BadHandle, handle, 0, caller,
                        fmt::format("{} was passed {}, which is not a live miniport adapter handle", ddi, handle));
  }
  return adapter;
}

bool checkState(Adapter& adapter, AdapterState required, const char* ddi, const void* caller) {
  AdapterState state = adapter.state();
  if (state == required) return true;
  reportNdisViolation("ndis.state", NdisBugSubcode::AdapterState, adapter.handle(), static_cast<std::uint64_t>(state),
                      caller,
                      fmt::format("{}: {} is only valid while the adapter is {}, but it is {}", adapter.describe(), ddi,
                                  toString(required), toString(state)));
  return false;
}

NDIS_STATUS invalid(const Adapter& adapter, const std::string& why) {
  nt::logger("ndis").error("NdisMSetMiniportAttributes ({}): {}", adapter.describe(), why);
  return NDIS_STATUS_INVALID_PARAMETER;
}

// Header.Revision must be one of `revisions` (1-based table of minimum sizes).
NDIS_STATUS checkHeader(const Adapter& adapter, const NDIS_OBJECT_HEADER& header, const char* structure,
                        std::initializer_list<USHORT> sizes) {
  if (header.Revision < 1 || header.Revision > sizes.size())
    return invalid(adapter, fmt::format("{}.Header.Revision {} is not a known revision (1..{})", structure,
                                        header.Revision, sizes.size()));
  USHORT minimum = *(sizes.begin() + (header.Revision - 1));
  if (header.Size < minimum)
    return invalid(adapter, fmt::format("{}.Header.Size {} is smaller than revision {}'s size {}", structure,
                                        header.Size, header.Revision, minimum));
  return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS orderViolation(Adapter& adapter, const void* caller, const char* what) {
  reportNdisViolation("ndis.attributes-order", NdisBugSubcode::BadParameters, adapter.handle(), 0, caller,
                      fmt::format("{}: NdisMSetMiniportAttributes: {}", adapter.describe(), what));
  return NDIS_STATUS_INVALID_PARAMETER;
}

NDIS_STATUS setRegistration(Adapter& adapter, const NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES& a,
                            const void* caller) {
  if (NDIS_STATUS s = checkHeader(adapter, a.Header, "NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES",
                                  {NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
                                   NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2});
      s != NDIS_STATUS_SUCCESS)
    return s;
  if (static_cast<int>(a.InterfaceType) < 0 || a.InterfaceType >= NdisMaximumInterfaceType)
    return invalid(adapter, fmt::format("NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES.InterfaceType {} is not an "
                                        "NDIS_INTERFACE_TYPE",
                                        static_cast<int>(a.InterfaceType)));
  if (adapter.driver().isWdm() && (a.AttributeFlags & NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM) == 0)
    nt::logger("ndis").warn("{}: an NDIS-WDM driver's registration attributes lack NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM",
                            adapter.describe());
  std::lock_guard guard(adapter.attributesLock());
  AdapterAttributes& kept = adapter.attributes();
  if (kept.general) return orderViolation(adapter, caller, "registration attributes set after general attributes");
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES copy = {};
  std::memcpy(&copy, &a, std::min<std::size_t>(a.Header.Size, sizeof(copy)));
  kept.registration = copy;
  return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS setGeneral(Adapter& adapter, const NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES& a, const void* caller) {
  if (NDIS_STATUS s = checkHeader(adapter, a.Header, "NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES",
                                  {NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
                                   NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2});
      s != NDIS_STATUS_SUCCESS)
    return s;
  if (a.MacAddressLength > NDIS_MAX_PHYS_ADDRESS_LENGTH)
    return invalid(adapter, fmt::format("NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES.MacAddressLength {} exceeds "
                                        "NDIS_MAX_PHYS_ADDRESS_LENGTH ({})",
                                        a.MacAddressLength, NDIS_MAX_PHYS_ADDRESS_LENGTH));
  if (a.SupportedOidListLength % sizeof(NDIS_OID) != 0)
    return invalid(adapter, fmt::format("NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES.SupportedOidListLength {} is not a "
                                        "multiple of sizeof(NDIS_OID)",
                                        a.SupportedOidListLength));
  if (a.SupportedOidListLength != 0 && a.SupportedOidList == nullptr)
    return invalid(adapter, "NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES.SupportedOidList is NULL but "
                            "SupportedOidListLength is not 0");
  std::lock_guard guard(adapter.attributesLock());
  AdapterAttributes& kept = adapter.attributes();
  if (!kept.registration) return orderViolation(adapter, caller, "general attributes set before registration attributes");
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES copy = {};
  std::memcpy(&copy, &a, std::min<std::size_t>(a.Header.Size, sizeof(copy)));
  kept.supportedOids.assign(a.SupportedOidList, a.SupportedOidList + a.SupportedOidListLength / sizeof(NDIS_OID));
  // The miniport's memory (possibly its stack) is not kept.
  copy.PowerManagementCapabilities = nullptr;
  copy.RecvScaleCapabilities = nullptr;
  copy.SupportedOidList = nullptr;
  copy.PowerManagementCapabilitiesEx = nullptr;
  kept.general = copy;
  return NDIS_STATUS_SUCCESS;
}

// Why `offload` (a miniport's NDIS_OFFLOAD of `size` bytes) is not one, or empty. Later
// revisions only append members, so a revision 1 header and size are enough to use it.
std::string offloadProblem(const NDIS_OFFLOAD& offload, std::size_t size) {
  const NDIS_OBJECT_HEADER& header = offload.Header;
  if (header.Type != NDIS_OBJECT_TYPE_OFFLOAD || header.Revision < NDIS_OFFLOAD_REVISION_1 ||
      header.Size < NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1 || header.Size > size)
    return fmt::format("Header (type {:#x}, revision {}, size {}) is not an NDIS_OFFLOAD header{}", header.Type,
                       header.Revision, header.Size,
                       header.Size > size ? fmt::format(" (larger than its {}-byte buffer)", size) : "");
  return {};
}

NDIS_STATUS setOffload(Adapter& adapter, const NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES& a, const void* caller) {
  if (NDIS_STATUS s = checkHeader(adapter, a.Header, "NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES",
                                  {NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1});
      s != NDIS_STATUS_SUCCESS)
    return s;
  // Both capability blocks are NDIS_OFFLOAD structures the miniport must supply.
  for (auto [offload, name] : {std::pair{a.DefaultOffloadConfiguration, "DefaultOffloadConfiguration"},
                               std::pair{a.HardwareOffloadCapabilities, "HardwareOffloadCapabilities"}}) {
    if (offload == nullptr)
      return invalid(adapter, fmt::format("NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES.{} is NULL", name));
    if (std::string problem = offloadProblem(*offload, offload->Header.Size); !problem.empty())
      return invalid(adapter, fmt::format("NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES.{}->{}", name, problem));
  }
  std::lock_guard guard(adapter.attributesLock());
  AdapterAttributes& kept = adapter.attributes();
  if (!kept.general) return orderViolation(adapter, caller, "offload attributes set before general attributes");
  // Copies: protocols get them in NDIS_BIND_PARAMETERS long after the miniport's memory is gone.
  kept.currentOffload = OffloadBlock::copyOf(*a.DefaultOffloadConfiguration);
  kept.hardwareOffload = OffloadBlock::copyOf(*a.HardwareOffloadCapabilities);
  return NDIS_STATUS_SUCCESS;
}

}  // namespace

bool keepOffloadCurrentConfig(Adapter& adapter, const NDIS_STATUS_INDICATION& indication, const void* caller) {
  std::string problem =
      indication.StatusBufferSize < NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1
          ? fmt::format("StatusBufferSize {} is smaller than an NDIS_OFFLOAD ({})", indication.StatusBufferSize,
                        NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1)
          : offloadProblem(*static_cast<const NDIS_OFFLOAD*>(indication.StatusBuffer), indication.StatusBufferSize);
  if (!problem.empty()) {
    reportNdisViolation("ndis.status-bad-buffer", NdisBugSubcode::StatusIndication, &indication,
                        indication.StatusBufferSize, caller,
                        fmt::format("{}: NdisMIndicateStatusEx(NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG): {}; not "
                                    "indicated",
                                    adapter.describe(), problem));
    return false;
  }
  OffloadBlock copy = OffloadBlock::copyOf(*static_cast<const NDIS_OFFLOAD*>(indication.StatusBuffer));
  std::lock_guard guard(adapter.attributesLock());
  adapter.attributes().currentOffload = copy;
  return true;
}

}  // namespace ndishost::ndis

using namespace ndishost;
using namespace ndishost::ndis;

// IRQL PASSIVE_LEVEL, from MiniportInitializeEx only.
extern "C" NDIS_STATUS NTAPI NdisMSetMiniportAttributes(NDIS_HANDLE NdisMiniportHandle,
                                                       PNDIS_MINIPORT_ADAPTER_ATTRIBUTES MiniportAttributes) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisMSetMiniportAttributes", caller);
  Adapter* adapter = checkAdapter(NdisMiniportHandle, "NdisMSetMiniportAttributes", caller);
  if (adapter == nullptr) return NDIS_STATUS_FAILURE;
  if (!checkState(*adapter, AdapterState::Initializing, "NdisMSetMiniportAttributes (from MiniportInitializeEx)",
                  caller))
    return NDIS_STATUS_FAILURE;
  if (MiniportAttributes == nullptr) return invalid(*adapter, "MiniportAttributes is NULL");
  switch (MiniportAttributes->Header.Type) {
    case NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES:
      return setRegistration(*adapter, MiniportAttributes->RegistrationAttributes, caller);
    case NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES:
      return setGeneral(*adapter, MiniportAttributes->GeneralAttributes, caller);
    case NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES:
      return setOffload(*adapter, MiniportAttributes->OffloadAttributes, caller);
    default:
      nt::logger("ndis").error("NdisMSetMiniportAttributes ({}): attributes of Header.Type {:#x} are not supported "
                               "by ndishost",
                               adapter->describe(), MiniportAttributes->Header.Type);
      return NDIS_STATUS_NOT_SUPPORTED;
  }
}

// IRQL PASSIVE_LEVEL. An NDIS-WDM adapter has no hardware resources: both resource lists
// are NULL. Any out parameter may be NULL.
extern "C" VOID NTAPI NdisMGetDeviceProperty(NDIS_HANDLE MiniportAdapterHandle, PDEVICE_OBJECT* PhysicalDeviceObject,
                                            PDEVICE_OBJECT* FunctionalDeviceObject, PDEVICE_OBJECT* NextDeviceObject,
                                            PCM_RESOURCE_LIST* AllocatedResources,
                                            PCM_RESOURCE_LIST* AllocatedResourcesTranslated) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisMGetDeviceProperty", caller);
  Adapter* adapter = checkAdapter(MiniportAdapterHandle, "NdisMGetDeviceProperty", caller);
  if (PhysicalDeviceObject != nullptr) *PhysicalDeviceObject = adapter != nullptr ? adapter->pdo() : nullptr;
  if (FunctionalDeviceObject != nullptr) *FunctionalDeviceObject = adapter != nullptr ? adapter->fdo() : nullptr;
  if (NextDeviceObject != nullptr) *NextDeviceObject = adapter != nullptr ? adapter->lowerDevice() : nullptr;
  if (AllocatedResources != nullptr) *AllocatedResources = nullptr;
  if (AllocatedResourcesTranslated != nullptr) *AllocatedResourcesTranslated = nullptr;
}

// IRQL <= DISPATCH_LEVEL; only after MiniportRestart returned NDIS_STATUS_PENDING.
extern "C" VOID NTAPI NdisMRestartComplete(NDIS_HANDLE MiniportAdapterHandle, NDIS_STATUS Status) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisMRestartComplete", caller);
  Adapter* adapter = checkAdapter(MiniportAdapterHandle, "NdisMRestartComplete", caller);
  if (adapter == nullptr) return;
  if (!checkState(*adapter, AdapterState::Restarting, "NdisMRestartComplete", caller)) return;
  finishRestart(*adapter, Status);
}

// IRQL <= DISPATCH_LEVEL; only after MiniportPause returned NDIS_STATUS_PENDING.
extern "C" VOID NTAPI NdisMPauseComplete(NDIS_HANDLE MiniportAdapterHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisMPauseComplete", caller);
  Adapter* adapter = checkAdapter(MiniportAdapterHandle, "NdisMPauseComplete", caller);
  if (adapter == nullptr) return;
  if (!checkState(*adapter, AdapterState::Pausing, "NdisMPauseComplete", caller)) return;
  finishPause(*adapter);
}
