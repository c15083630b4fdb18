// The PnP IRPs the PnP manager sends, one function each, with the answers turned into C++
// values. Every function sends to the top of the device's stack at PASSIVE_LEVEL and
// waits; buffers a driver returns (IDs, text, relations, bus information) are freed here
// with ExFreePool, as Windows expects of the caller.
#pragma once

#include <optional>
#include <string_view>
#include <string>
#include <vector>

// After the standard headers: <sal.h> defines __in/__out, which libstdc++ uses as names.
#include <tuple>
#include <utility>
#include <wdm.h>

namespace ndishost::nt::pnp {

struct IdAnswer {
  NTSTATUS status = STATUS_NOT_SUPPORTED;
  std::vector<std::string> strings;  // one for DeviceID/InstanceID, several for a MULTI_SZ
};

// Top of the stack that `pdo` is the bottom of, referenced (ObDereferenceObject it).
PDEVICE_OBJECT referenceTopOfStack(PDEVICE_OBJECT pdo);

IdAnswer queryId(PDEVICE_OBJECT pdo, BUS_QUERY_ID_TYPE type);
std::optional<std::string> queryDeviceText(PDEVICE_OBJECT pdo, DEVICE_TEXT_TYPE type);
NTSTATUS queryCapabilities(PDEVICE_OBJECT pdo, DEVICE_CAPABILITIES& capabilities);
std::optional<PNP_BUS_INFORMATION> queryBusInformation(PDEVICE_OBJECT pdo);
std::optional<PNP_DEVICE_STATE> queryPnpDeviceState(PDEVICE_OBJECT pdo);

// BusRelations: the PDOs reported, each carrying the reference the bus driver took for
// the PnP manager. nullopt when the query failed (or nobody answered it).
struct RelationsAnswer {
  NTSTATUS status = STATUS_NOT_SUPPORTED;
  std::vector<PDEVICE_OBJECT> devices;
};
RelationsAnswer queryBusRelations(PDEVICE_OBJECT pdo);

// Minor codes without parameters or results: START (NULL resource lists),
// QUERY_REMOVE, CANCEL_REMOVE, SURPRISE_REMOVAL, REMOVE_DEVICE.
NTSTATUS sendSimplePnpIrp(PDEVICE_OBJECT pdo, UCHAR minor);

// IRP_MJ_POWER / IRP_MN_SET_POWER (or QUERY_POWER) of the given type and state.
NTSTATUS sendPowerIrp(PDEVICE_OBJECT pdo, UCHAR minor, POWER_STATE_TYPE type, POWER_STATE state);

// A REG_MULTI_SZ / PnP MULTI_SZ of WCHARs to UTF-8 strings (at most maxChars read).
std::vector<std::string> parseMultiSz(const WCHAR* text, std::size_t maxChars);
std::string narrowWide(const WCHAR* text, std::size_t maxChars);
std::string utf8FromUtf16(std::u16string_view text);

}  // namespace ndishost::nt::pnp
