#include <cstring>
#include <fmt/format.h>

#include "nt/pnp/pnp_irps.hpp"
#include "nt/rtl/text_codec.hpp"
#include "nt/io/io_manager.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::nt::pnp {
namespace {

// PnP strings are short; a bound keeps a missing terminator from running away.
constexpr std::size_t kMaxIdChars = 32 * 1024;

void traceIrp(PDEVICE_OBJECT pdo, UCHAR major, UCHAR minor, std::string_view detail, NTSTATUS status) {
  if (!traceEnabled()) return;
  traceEmit(major == IRP_MJ_POWER ? TraceCategory::Power : TraceCategory::Pnp, describeDevice(pdo),
            fmt::format("{}{}{} -> {}", minorFunctionName(major, minor), detail.empty() ? "" : " ", detail,
                        statusName(status)));
}

const char* idTypeName(BUS_QUERY_ID_TYPE type) {
  switch (type) {
    case BusQueryDeviceID: return "DeviceID";
    case BusQueryHardwareIDs: return "HardwareIDs";
    case BusQueryCompatibleIDs: return "CompatibleIDs";
    case BusQueryInstanceID: return "InstanceID";
    case BusQueryDeviceSerialNumber: return "DeviceSerialNumber";
    case BusQueryContainerID: return "ContainerID";
  }
  return "?";
}

// Sends to the top of the stack; the reference on it is held for the call only.
NTSTATUS send(PDEVICE_OBJECT pdo, UCHAR major, UCHAR minor, const std::function<void(PIO_STACK_LOCATION)>& fill,
              ULONG_PTR* information) {
  PDEVICE_OBJECT top = referenceTopOfStack(pdo);
  NTSTATUS status = sendIrpSynchronously(top, major, minor, fill, information);
  ObDereferenceObject(top);
  return status;
}

}  // namespace

PDEVICE_OBJECT referenceTopOfStack(PDEVICE_OBJECT pdo) { return IoGetAttachedDeviceReference(pdo); }

std::string utf8FromUtf16(std::u16string_view text) { return rtl::toUtf8(text); }

std::string narrowWide(const WCHAR* text, std::size_t maxChars) {
  std::u16string wide;
  for (std::size_t i = 0; i < maxChars && text[i] != 0; ++i) wide.push_back(static_cast<char16_t>(text[i]));
  return utf8FromUtf16(wide);
}

std::vector<std::string> parseMultiSz(const WCHAR* text, std::size_t maxChars) {
  std::vector<std::string> strings;
  std::size_t i = 0;
  while (i < maxChars && text[i] != 0) {
    std::size_t start = i;
    while (i < maxChars && text[i] != 0) ++i;
    strings.push_back(narrowWide(text + start, i - start));
    ++i;  // past this string's terminator
  }
  return strings;
}

IdAnswer queryId(PDEVICE_OBJECT pdo, BUS_QUERY_ID_TYPE type) {
  IdAnswer answer;
  ULONG_PTR information = 0;
  answer.status = send(pdo, IRP_MJ_PNP, IRP_MN_QUERY_ID,
                       [type](PIO_STACK_LOCATION s) { s->Parameters.QueryId.IdType = type; }, &information);
  auto* buffer = reinterpret_cast<WCHAR*>(information);
  if (NT_SUCCESS(answer.status) && buffer != nullptr) {
    bool multi = type == BusQueryHardwareIDs || type == BusQueryCompatibleIDs;
    if (multi) {
      answer.strings = parseMultiSz(buffer, kMaxIdChars);
    } else {
      answer.strings.push_back(narrowWide(buffer, kMaxIdChars));
    }
  }
  if (buffer != nullptr) ExFreePool(buffer);
  std::string shown;
  for (const auto& s : answer.strings) shown += (shown.empty() ? "" : ", ") + s;
  traceIrp(pdo, IRP_MJ_PNP, IRP_MN_QUERY_ID, fmt::format("({}) {}", idTypeName(type), shown), answer.status);
  return answer;
}

std::optional<std::string> queryDeviceText(PDEVICE_OBJECT pdo, DEVICE_TEXT_TYPE type) {
  ULONG_PTR information = 0;
  NTSTATUS status = send(
      pdo, IRP_MJ_PNP, IRP_MN_QUERY_DEVICE_TEXT,
      [type](PIO_STACK_LOCATION s) {
        s->Parameters.QueryDeviceText.DeviceTextType = type;
        s->Parameters.QueryDeviceText.LocaleId = 0x409;  // en-US
      },
      &information);
  auto* buffer = reinterpret_cast<WCHAR*>(information);
  std::optional<std::string> text;
  if (NT_SUCCESS(status) && buffer != nullptr) text = narrowWide(buffer, kMaxIdChars);
  if (buffer != nullptr) ExFreePool(buffer);
  traceIrp(pdo, IRP_MJ_PNP, IRP_MN_QUERY_DEVICE_TEXT, text.value_or(""), status);
  return text;
}

NTSTATUS queryCapabilities(PDEVICE_OBJECT pdo, DEVICE_CAPABILITIES& capabilities) {
  // What the PnP manager presets before asking: size, version, "no address, no UI number".
  std::memset(&capabilities, 0, sizeof(capabilities));
  capabilities.Size = sizeof(DEVICE_CAPABILITIES);
  capabilities.Version = 1;
  capabilities.Address = 0xFFFFFFFF;
  capabilities.UINumber = 0xFFFFFFFF;
  NTSTATUS status = send(
      pdo, IRP_MJ_PNP, IRP_MN_QUERY_CAPABILITIES,
      [&capabilities](PIO_STACK_LOCATION s) { s->Parameters.DeviceCapabilities.Capabilities = &capabilities; }, nullptr);
  traceIrp(pdo, IRP_MJ_PNP, IRP_MN_QUERY_CAPABILITIES, "", status);
  return status;
}

std::optional<PNP_BUS_INFORMATION> queryBusInformation(PDEVICE_OBJECT pdo) {
  ULONG_PTR information = 0;
  NTSTATUS status = send(pdo, IRP_MJ_PNP, IRP_MN_QUERY_BUS_INFORMATION, nullptr, &information);
  auto* buffer = reinterpret_cast<PPNP_BUS_INFORMATION>(information);
  std::optional<PNP_BUS_INFORMATION> info;
  if (NT_SUCCESS(status) && buffer != nullptr) info = *buffer;
  if (buffer != nullptr) ExFreePool(buffer);
  traceIrp(pdo, IRP_MJ_PNP, IRP_MN_QUERY_BUS_INFORMATION, "", status);
  return info;
}

std::optional<PNP_DEVICE_STATE> queryPnpDeviceState(PDEVICE_OBJECT pdo) {
  ULONG_PTR information = 0;
  NTSTATUS status = send(pdo, IRP_MJ_PNP, IRP_MN_QUERY_PNP_DEVICE_STATE, nullptr, &information);
  traceIrp(pdo, IRP_MJ_PNP, IRP_MN_QUERY_PNP_DEVICE_STATE, fmt::format("{:#x}", information), status);
  if (!NT_SUCCESS(status)) return std::nullopt;
  return static_cast<PNP_DEVICE_STATE>(information);
}

RelationsAnswer queryBusRelations(PDEVICE_OBJECT pdo) {
  RelationsAnswer answer;
  ULONG_PTR information = 0;
  answer.status = send(
      pdo, IRP_MJ_PNP, IRP_MN_QUERY_DEVICE_RELATIONS,
      [](PIO_STACK_LOCATION s) { s->Parameters.QueryDeviceRelations.Type = BusRelations; }, &information);
  auto* relations = reinterpret_cast<PDEVICE_RELATIONS>(information);
  if (relations != nullptr) {
    if (NT_SUCCESS(answer.status)) {
      answer.devices.assign(relations->Objects, relations->Objects + relations->Count);
    } else {
      // A failed query hands back no references: drop the ones taken for it.
      for (ULONG i = 0; i < relations->Count; ++i) ObDereferenceObject(relations->Objects[i]);
    }
    ExFreePool(relations);
  }
  traceIrp(pdo, IRP_MJ_PNP, IRP_MN_QUERY_DEVICE_RELATIONS,
           fmt::format("(BusRelations) {} device{}", answer.devices.size(), answer.devices.size() == 1 ? "" : "s"),
           answer.status);
  return answer;
}

NTSTATUS sendSimplePnpIrp(PDEVICE_OBJECT pdo, UCHAR minor) {
  NTSTATUS status = send(
      pdo, IRP_MJ_PNP, minor,
      [minor](PIO_STACK_LOCATION s) {
        if (minor == IRP_MN_START_DEVICE) {
          // No hardware resources on a software bus: both lists are NULL.
          s->Parameters.StartDevice.AllocatedResources = nullptr;
          s->Parameters.StartDevice.AllocatedResourcesTranslated = nullptr;
        }
      },
      nullptr);
  traceIrp(pdo, IRP_MJ_PNP, minor, "", status);
  return status;
}

NTSTATUS sendPowerIrp(PDEVICE_OBJECT pdo, UCHAR minor, POWER_STATE_TYPE type, POWER_STATE state) {
  NTSTATUS status = send(
      pdo, IRP_MJ_POWER, minor,
      [&](PIO_STACK_LOCATION s) {
        s->Parameters.Power.Type = type;
        s->Parameters.Power.State = state;
        s->Parameters.Power.ShutdownType = PowerActionNone;
        s->Parameters.Power.SystemContext = 0;
      },
      nullptr);
  traceIrp(pdo, IRP_MJ_POWER, minor,
           type == DevicePowerState ? fmt::format("D{}", static_cast<int>(state.DeviceState) - 1)
                                    : fmt::format("S{}", static_cast<int>(state.SystemState) - 1),
           status);
  return status;
}

}  // namespace ndishost::nt::pnp
