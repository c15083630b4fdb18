// The protocol driver DDIs: registration, open/close, bind/unbind/PnP completions, and the
// data and OID path of a binding. Each checks the IRQL the reference gives and the handle it
// is passed (a protocol handle, a BindContext, an UnbindContext or a binding handle are told
// apart), then hands over to the ProtocolDriver / Binding.
#include <memory>
#include <new>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/protocol/binding.hpp"
#include "ndis/protocol/protocol_driver.hpp"
#include "ndis/protocol/protocol_side.hpp"
#include "nt/rtl/text_codec.hpp"
#include "nt/support/driver_image.hpp"
#include "nt/support/log.hpp"

namespace ndishost::ndis {
namespace {

void reportBadBindingHandle(const char* ddi, NDIS_HANDLE handle, const void* caller) {
  reportNdisViolation("ndis.protocol-bad-handle", NdisBugSubcode::ProtocolBadHandle, handle, 0, caller,
                      fmt::format("{} was passed {}, which is not a binding handle from NdisOpenAdapterEx", ddi,
                                  handle));
}

// The binding `handle` names, if the protocol may still use it; reports otherwise.
Binding* usableBinding(const char* ddi, NDIS_HANDLE handle, const void* caller) {
  Binding* binding = Binding::fromHandle(handle);
  if (binding == nullptr) {
    reportBadBindingHandle(ddi, handle, caller);
    return nullptr;
  }
  if (binding->closed()) {
    reportNdisViolation("ndis.protocol-closed-handle", NdisBugSubcode::ProtocolBadHandle, handle, 0, caller,
                        fmt::format("{}: {} on a binding handle after NdisCloseAdapterEx", binding->describe(), ddi));
    return nullptr;
  }
  return binding;
}

// Completes NBLs NDIS cannot hand to any binding (a bad handle) back to nobody: they are
// the caller's again. Only the status tells it.
void failNbls(PNET_BUFFER_LIST nbls, NDIS_STATUS status) {
  for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
    NET_BUFFER_LIST_STATUS(nbl) = status;
}

}  // namespace
}  // namespace ndishost::ndis

using namespace ndishost;
using namespace ndishost::ndis;

// IRQL PASSIVE_LEVEL, from DriverEntry. NDIS_STATUS_BAD_VERSION for a Major/MinorNdisVersion
// that is not NDIS 6; NDIS_STATUS_BAD_CHARACTERISTICS for a wrong header, revision, size,
// name or a missing required handler; NDIS_STATUS_FAILURE for NULL arguments; otherwise what
// ProtocolSetOptions returns. NDIS binds the protocol to the adapters there are before
// returning (a protocol must be ready for its handlers at once).
extern "C" NDIS_STATUS NTAPI NdisRegisterProtocolDriver(NDIS_HANDLE ProtocolDriverContext,
                                                       PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS ProtocolCharacteristics,
                                                       PNDIS_HANDLE NdisProtocolHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisRegisterProtocolDriver", caller);
  auto& log = nt::logger("ndis");
  std::string who = nt::describeCaller(caller);
  if (NdisProtocolHandle != nullptr) *NdisProtocolHandle = nullptr;
  if (ProtocolCharacteristics == nullptr || NdisProtocolHandle == nullptr) {
    log.error("NdisRegisterProtocolDriver ({}): ProtocolCharacteristics and NdisProtocolHandle are required", who);
    return NDIS_STATUS_FAILURE;
  }
  ProtocolCharacteristicsCheck check = validateProtocolCharacteristics(*ProtocolCharacteristics);
  if (check.status != NDIS_STATUS_SUCCESS) {
    log.error("NdisRegisterProtocolDriver ({}): {}", who, check.problem);
    return check.status;
  }
  const NDIS_STRING& name = check.accepted.Name;
  std::string serviceName =
      nt::rtl::toUtf8(std::u16string_view(reinterpret_cast<const char16_t*>(name.Buffer), name.Length / sizeof(WCHAR)));
  std::unique_ptr<ProtocolDriver> protocol(new (std::nothrow)
                                               ProtocolDriver(ProtocolDriverContext, check.accepted, serviceName));
  if (!protocol) return NDIS_STATUS_RESOURCES;
  if (check.accepted.SetOptionsHandler != nullptr) {
    NDIS_STATUS status = check.accepted.SetOptionsHandler(protocol->handle(), ProtocolDriverContext);
    if (status != NDIS_STATUS_SUCCESS) {
      log.error("NdisRegisterProtocolDriver ({}): ProtocolSetOptions failed with {:#010x}", serviceName,
                static_cast<ULONG>(status));
      return status;
    }
  }
  *NdisProtocolHandle = protocol->handle();
  log.info("{}: registered NDIS 6.{} protocol driver (characteristics revision {})", serviceName,
           check.accepted.MinorNdisVersion, check.accepted.Header.Revision);
  ProtocolSide::instance().addProtocol(std::move(protocol));
  return NDIS_STATUS_SUCCESS;
}

// IRQL PASSIVE_LEVEL. Unbinds every binding of the protocol (ProtocolUnbindAdapterEx) first.
extern "C" VOID NTAPI NdisDeregisterProtocolDriver(NDIS_HANDLE NdisProtocolHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisDeregisterProtocolDriver", caller);
  ProtocolDriver* protocol = ProtocolDriver::fromHandle(NdisProtocolHandle);
  if (protocol == nullptr) {
    reportNdisViolation("ndis.protocol-bad-handle", NdisBugSubcode::ProtocolBadHandle, NdisProtocolHandle, 0, caller,
                        fmt::format("NdisDeregisterProtocolDriver was passed {}, which is not a registered protocol "
                                    "driver handle",
                                    NdisProtocolHandle));
    return;
  }
  nt::logger("ndis").info("{}: protocol driver deregistering", protocol->describe());
  ProtocolSide::instance().removeProtocol(*protocol);
}

// IRQL PASSIVE_LEVEL, from ProtocolBindAdapterEx only (NDIS fails it anywhere else).
extern "C" NDIS_STATUS NTAPI NdisOpenAdapterEx(NDIS_HANDLE NdisProtocolHandle, NDIS_HANDLE ProtocolBindingContext,
                                              PNDIS_OPEN_PARAMETERS OpenParameters, NDIS_HANDLE BindContext,
                                              PNDIS_HANDLE NdisBindingHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisOpenAdapterEx", caller);
  if (NdisBindingHandle != nullptr) *NdisBindingHandle = nullptr;
  ProtocolDriver* protocol = ProtocolDriver::fromHandle(NdisProtocolHandle);
  Binding* binding = Binding::fromBindContext(BindContext);
  if (protocol == nullptr || binding == nullptr || &binding->protocol() != protocol) {
    reportNdisViolation("ndis.protocol-bad-handle", NdisBugSubcode::ProtocolBadHandle,
                        protocol == nullptr ? NdisProtocolHandle : BindContext, 0, caller,
                        fmt::format("NdisOpenAdapterEx: {}",
                                    protocol == nullptr ? "NdisProtocolHandle is not a registered protocol driver"
                                    : binding == nullptr
                                        ? "BindContext is not the one NDIS passed to ProtocolBindAdapterEx"
                                        : "BindContext belongs to another protocol's bind"));
    return NDIS_STATUS_FAILURE;
  }
  if (OpenParameters == nullptr || NdisBindingHandle == nullptr) {
    nt::logger("ndis").error("NdisOpenAdapterEx ({}): OpenParameters and NdisBindingHandle are required",
                             binding->describe());
    return NDIS_STATUS_FAILURE;
  }
  NDIS_STATUS status = binding->open(ProtocolBindingContext, OpenParameters, caller);
  if (status == NDIS_STATUS_SUCCESS || status == NDIS_STATUS_PENDING) *NdisBindingHandle = binding->handle();
  return status;
}

// IRQL PASSIVE_LEVEL, from ProtocolBindAdapterEx or ProtocolUnbindAdapterEx.
extern "C" NDIS_STATUS NTAPI NdisCloseAdapterEx(NDIS_HANDLE NdisBindingHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisCloseAdapterEx", caller);
  Binding* binding = Binding::fromHandle(NdisBindingHandle);
  if (binding == nullptr) {
    reportBadBindingHandle("NdisCloseAdapterEx", NdisBindingHandle, caller);
    return NDIS_STATUS_FAILURE;
  }
  return binding->close(caller);
}

// IRQL PASSIVE_LEVEL; for a ProtocolBindAdapterEx that returned NDIS_STATUS_PENDING.
extern "C" VOID NTAPI NdisCompleteBindAdapterEx(NDIS_HANDLE BindAdapterContext, NDIS_STATUS Status) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisCompleteBindAdapterEx", caller);
  Binding* binding = Binding::fromBindContext(BindAdapterContext);
  if (binding == nullptr) {
    reportNdisViolation("ndis.protocol-bad-handle", NdisBugSubcode::ProtocolBadHandle, BindAdapterContext, Status, caller,
                        fmt::format("NdisCompleteBindAdapterEx was passed {}, which is not a BindContext of a bind "
                                    "in progress",
                                    BindAdapterContext));
    return;
  }
  binding->completeBind(Status, caller);
}

// IRQL PASSIVE_LEVEL; for a ProtocolUnbindAdapterEx that returned NDIS_STATUS_PENDING.
extern "C" VOID NTAPI NdisCompleteUnbindAdapterEx(NDIS_HANDLE UnbindContext) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisCompleteUnbindAdapterEx", caller);
  Binding* binding = Binding::fromUnbindContext(UnbindContext);
  if (binding == nullptr) {
    reportNdisViolation("ndis.protocol-bad-handle", NdisBugSubcode::ProtocolBadHandle, UnbindContext, 0, caller,
                        fmt::format("NdisCompleteUnbindAdapterEx was passed {}, which is not an UnbindContext of an "
                                    "unbind in progress",
                                    UnbindContext));
    return;
  }
  binding->completeUnbind(caller);
}

// IRQL PASSIVE_LEVEL; for a ProtocolNetPnPEvent that returned NDIS_STATUS_PENDING.
extern "C" VOID NTAPI NdisCompleteNetPnPEvent(NDIS_HANDLE NdisBindingHandle,
                                              PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification, NDIS_STATUS Status) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisCompleteNetPnPEvent", caller);
  Binding* binding = Binding::fromHandle(NdisBindingHandle);
  if (binding == nullptr) {
    reportBadBindingHandle("NdisCompleteNetPnPEvent", NdisBindingHandle, caller);
    return;
  }
  binding->completeNetPnPEvent(NetPnPEventNotification, Status, caller);
}

// IRQL <= DISPATCH_LEVEL. A send on a binding that is not Running (or Pausing) is reported
// and completed with NDIS_STATUS_PAUSED.
extern "C" VOID NTAPI NdisSendNetBufferLists(NDIS_HANDLE NdisBindingHandle, PNET_BUFFER_LIST NetBufferLists,
                                            NDIS_PORT_NUMBER PortNumber, ULONG SendFlags) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisSendNetBufferLists", caller);
  Binding* binding = usableBinding("NdisSendNetBufferLists", NdisBindingHandle, caller);
  if (binding == nullptr) {
    // No binding to complete them to: the NBLs stay the caller's, marked failed.
    failNbls(NetBufferLists, NDIS_STATUS_INVALID_PARAMETER);
    return;
  }
  binding->send(NetBufferLists, PortNumber, SendFlags, caller);
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI NdisReturnNetBufferLists(NDIS_HANDLE NdisBindingHandle, PNET_BUFFER_LIST NetBufferLists,
                                              ULONG ReturnFlags) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisReturnNetBufferLists", caller);
  // A closed binding may still return what it held (it should not, see close's check).
  Binding* binding = Binding::fromHandle(NdisBindingHandle);
  if (binding == nullptr) {
    reportBadBindingHandle("NdisReturnNetBufferLists", NdisBindingHandle, caller);
    return;
  }
  binding->returnNetBufferLists(NetBufferLists, ReturnFlags, caller);
}

// IRQL <= DISPATCH_LEVEL. NDIS_STATUS_PENDING means ProtocolOidRequestComplete follows.
extern "C" NDIS_STATUS NTAPI NdisOidRequest(NDIS_HANDLE NdisBindingHandle, PNDIS_OID_REQUEST OidRequest) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisOidRequest", caller);
  Binding* binding = usableBinding("NdisOidRequest", NdisBindingHandle, caller);
  if (binding == nullptr) return NDIS_STATUS_INVALID_PARAMETER;
  if (OidRequest == nullptr) {
    nt::logger("ndis").error("NdisOidRequest ({}): OidRequest is NULL", binding->describe());
    return NDIS_STATUS_INVALID_PARAMETER;
  }
  return binding->oidRequest(OidRequest, caller);
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI NdisCancelOidRequest(NDIS_HANDLE NdisBindingHandle, PVOID RequestId) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisCancelOidRequest", caller);
  if (Binding* binding = usableBinding("NdisCancelOidRequest", NdisBindingHandle, caller))
    binding->cancelOidRequest(RequestId, caller);
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI NdisCancelSendNetBufferLists(NDIS_HANDLE NdisBindingHandle, PVOID CancelId) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "NdisCancelSendNetBufferLists", caller);
  if (Binding* binding = usableBinding("NdisCancelSendNetBufferLists", NdisBindingHandle, caller))
    binding->cancelSend(CancelId, caller);
}
