// Names of IRP function codes, control codes and status values, as traces print them.
#include <array>
#include <utility>

#include <fmt/format.h>

#include "nt/io/io_manager.hpp"

namespace ndishost::nt {
namespace {

constexpr std::array<std::string_view, IRP_MJ_MAXIMUM_FUNCTION + 1> kMajorNames = {
    "IRP_MJ_CREATE",
    "IRP_MJ_CREATE_NAMED_PIPE",
    "IRP_MJ_CLOSE",
    "IRP_MJ_READ",
    "IRP_MJ_WRITE",
    "IRP_MJ_QUERY_INFORMATION",
    "IRP_MJ_SET_INFORMATION",
    "IRP_MJ_QUERY_EA",
    "IRP_MJ_SET_EA",
    "IRP_MJ_FLUSH_BUFFERS",
    "IRP_MJ_QUERY_VOLUME_INFORMATION",
    "IRP_MJ_SET_VOLUME_INFORMATION",
    "IRP_MJ_DIRECTORY_CONTROL",
    "IRP_MJ_FILE_SYSTEM_CONTROL",
    "IRP_MJ_DEVICE_CONTROL",
    "IRP_MJ_INTERNAL_DEVICE_CONTROL",
    "IRP_MJ_SHUTDOWN",
    "IRP_MJ_LOCK_CONTROL",
    "IRP_MJ_CLEANUP",
    "IRP_MJ_CREATE_MAILSLOT",
    "IRP_MJ_QUERY_SECURITY",
    "IRP_MJ_SET_SECURITY",
    "IRP_MJ_POWER",
    "IRP_MJ_SYSTEM_CONTROL",
    "IRP_MJ_DEVICE_CHANGE",
    "IRP_MJ_QUERY_QUOTA",
    "IRP_MJ_SET_QUOTA",
    "IRP_MJ_PNP",
};

// Indexed by minor code; empty entries are codes Windows leaves unassigned.
constexpr std::array<std::string_view, 0x1A> kPnpMinorNames = {
    "IRP_MN_START_DEVICE",
    "IRP_MN_QUERY_REMOVE_DEVICE",
    "IRP_MN_REMOVE_DEVICE",
    "IRP_MN_CANCEL_REMOVE_DEVICE",
    "IRP_MN_STOP_DEVICE",
    "IRP_MN_QUERY_STOP_DEVICE",
    "IRP_MN_CANCEL_STOP_DEVICE",
    "IRP_MN_QUERY_DEVICE_RELATIONS",
    "IRP_MN_QUERY_INTERFACE",
    "IRP_MN_QUERY_CAPABILITIES",
    "IRP_MN_QUERY_RESOURCES",
    "IRP_MN_QUERY_RESOURCE_REQUIREMENTS",
    "IRP_MN_QUERY_DEVICE_TEXT",
    "IRP_MN_FILTER_RESOURCE_REQUIREMENTS",
    "",
    "IRP_MN_READ_CONFIG",
    "IRP_MN_WRITE_CONFIG",
    "IRP_MN_EJECT",
    "IRP_MN_SET_LOCK",
    "IRP_MN_QUERY_ID",
    "IRP_MN_QUERY_PNP_DEVICE_STATE",
    "IRP_MN_QUERY_BUS_INFORMATION",
    "IRP_MN_DEVICE_USAGE_NOTIFICATION",
    "IRP_MN_SURPRISE_REMOVAL",
    "",
    "IRP_MN_DEVICE_ENUMERATED",
};

constexpr std::array<std::string_view, 4> kPowerMinorNames = {
    "IRP_MN_WAIT_WAKE",
    "IRP_MN_POWER_SEQUENCE",
    "IRP_MN_SET_POWER",
    "IRP_MN_QUERY_POWER",
};

constexpr std::array<std::string_view, 0x0C> kWmiMinorNames = {
    "IRP_MN_QUERY_ALL_DATA",
    "IRP_MN_QUERY_SINGLE_INSTANCE",
    "IRP_MN_CHANGE_SINGLE_INSTANCE",
    "IRP_MN_CHANGE_SINGLE_ITEM",
    "IRP_MN_ENABLE_EVENTS",
    "IRP_MN_DISABLE_EVENTS",
    "IRP_MN_ENABLE_COLLECTION",
    "IRP_MN_DISABLE_COLLECTION",
    "IRP_MN_REGINFO",
    "IRP_MN_EXECUTE_METHOD",
    "",
    "IRP_MN_REGINFO_EX",
};

template <std::size_t N>
std::string_view lookup(const std::array<std::string_view, N>& table, UCHAR code) {
  return code < N ? table[code] : std::string_view{};
}

// The USB hub and host controller's internal IOCTLs are all FILE_DEVICE_USB
// (= FILE_DEVICE_UNKNOWN), METHOD_NEITHER, FILE_ANY_ACCESS; only the function differs.
constexpr ULONG usbInternal(ULONG function) {
  return CTL_CODE(FILE_DEVICE_UNKNOWN, function, METHOD_NEITHER, FILE_ANY_ACCESS);
}

constexpr std::pair<ULONG, std::string_view> kControlCodeNames[] = {
    {usbInternal(0), "IOCTL_INTERNAL_USB_SUBMIT_URB"},
    {usbInternal(1), "IOCTL_INTERNAL_USB_RESET_PORT"},
    {usbInternal(3), "IOCTL_INTERNAL_USB_GET_ROOTHUB_PDO"},
    {usbInternal(4), "IOCTL_INTERNAL_USB_GET_PORT_STATUS"},
    {usbInternal(5), "IOCTL_INTERNAL_USB_ENABLE_PORT"},
    {usbInternal(6), "IOCTL_INTERNAL_USB_GET_HUB_COUNT"},
    {usbInternal(7), "IOCTL_INTERNAL_USB_CYCLE_PORT"},
    {usbInternal(8), "IOCTL_INTERNAL_USB_GET_HUB_NAME"},
    {usbInternal(9), "IOCTL_INTERNAL_USB_SUBMIT_IDLE_NOTIFICATION"},
    {usbInternal(10), "IOCTL_INTERNAL_USB_RECORD_FAILURE"},
    {usbInternal(264), "IOCTL_INTERNAL_USB_GET_BUS_INFO"},
    {usbInternal(265), "IOCTL_INTERNAL_USB_GET_CONTROLLER_NAME"},
    {usbInternal(266), "IOCTL_INTERNAL_USB_GET_BUSGUID_INFO"},
    {usbInternal(267), "IOCTL_INTERNAL_USB_GET_PARENT_HUB_INFO"},
    {usbInternal(268), "IOCTL_INTERNAL_USB_GET_DEVICE_HANDLE"},
    {usbInternal(269), "IOCTL_INTERNAL_USB_GET_DEVICE_HANDLE_EX"},
    {usbInternal(270), "IOCTL_INTERNAL_USB_GET_TT_DEVICE_HANDLE"},
    {usbInternal(271), "IOCTL_INTERNAL_USB_GET_TOPOLOGY_ADDRESS"},
    {usbInternal(273), "IOCTL_INTERNAL_USB_REQ_GLOBAL_SUSPEND"},
    {usbInternal(274), "IOCTL_INTERNAL_USB_REQ_GLOBAL_RESUME"},
};

#define NDISHOST_STATUS_ENTRY(name) {name, #name}
constexpr std::pair<NTSTATUS, std::string_view> kStatusNames[] = {
    NDISHOST_STATUS_ENTRY(STATUS_SUCCESS),
    NDISHOST_STATUS_ENTRY(STATUS_TIMEOUT),
    NDISHOST_STATUS_ENTRY(STATUS_PENDING),
    NDISHOST_STATUS_ENTRY(STATUS_REPARSE),
    NDISHOST_STATUS_ENTRY(STATUS_MORE_ENTRIES),
    NDISHOST_STATUS_ENTRY(STATUS_BUFFER_OVERFLOW),
    NDISHOST_STATUS_ENTRY(STATUS_DEVICE_BUSY),
    NDISHOST_STATUS_ENTRY(STATUS_NO_MORE_ENTRIES),
    NDISHOST_STATUS_ENTRY(STATUS_UNSUCCESSFUL),
    NDISHOST_STATUS_ENTRY(STATUS_NOT_IMPLEMENTED),
    NDISHOST_STATUS_ENTRY(STATUS_INVALID_INFO_CLASS),
    NDISHOST_STATUS_ENTRY(STATUS_INFO_LENGTH_MISMATCH),
    NDISHOST_STATUS_ENTRY(STATUS_ACCESS_VIOLATION),
    NDISHOST_STATUS_ENTRY(STATUS_INVALID_HANDLE),
    NDISHOST_STATUS_ENTRY(STATUS_INVALID_PARAMETER),
    NDISHOST_STATUS_ENTRY(STATUS_NO_SUCH_DEVICE),
    NDISHOST_STATUS_ENTRY(STATUS_INVALID_DEVICE_REQUEST),
    NDISHOST_STATUS_ENTRY(STATUS_END_OF_FILE),
    NDISHOST_STATUS_ENTRY(STATUS_MORE_PROCESSING_REQUIRED),
    NDISHOST_STATUS_ENTRY(STATUS_NO_MEMORY),
    NDISHOST_STATUS_ENTRY(STATUS_ACCESS_DENIED),
    NDISHOST_STATUS_ENTRY(STATUS_BUFFER_TOO_SMALL),
    NDISHOST_STATUS_ENTRY(STATUS_OBJECT_TYPE_MISMATCH),
    NDISHOST_STATUS_ENTRY(STATUS_OBJECT_NAME_INVALID),
    NDISHOST_STATUS_ENTRY(STATUS_OBJECT_NAME_NOT_FOUND),
    NDISHOST_STATUS_ENTRY(STATUS_OBJECT_NAME_COLLISION),
    NDISHOST_STATUS_ENTRY(STATUS_DELETE_PENDING),
    NDISHOST_STATUS_ENTRY(STATUS_INTEGER_OVERFLOW),
    NDISHOST_STATUS_ENTRY(STATUS_INSUFFICIENT_RESOURCES),
    NDISHOST_STATUS_ENTRY(STATUS_DEVICE_DATA_ERROR),
    NDISHOST_STATUS_ENTRY(STATUS_DEVICE_NOT_CONNECTED),
    NDISHOST_STATUS_ENTRY(STATUS_DEVICE_NOT_READY),
    NDISHOST_STATUS_ENTRY(STATUS_IO_TIMEOUT),
    NDISHOST_STATUS_ENTRY(STATUS_NOT_SUPPORTED),
    NDISHOST_STATUS_ENTRY(STATUS_DEVICE_DOES_NOT_EXIST),
    NDISHOST_STATUS_ENTRY(STATUS_CANCELLED),
    NDISHOST_STATUS_ENTRY(STATUS_DEVICE_CONFIGURATION_ERROR),
    NDISHOST_STATUS_ENTRY(STATUS_INVALID_DEVICE_STATE),
    NDISHOST_STATUS_ENTRY(STATUS_INVALID_BUFFER_SIZE),
    NDISHOST_STATUS_ENTRY(STATUS_NOT_FOUND),
    NDISHOST_STATUS_ENTRY(STATUS_DEVICE_REMOVED),
};
#undef NDISHOST_STATUS_ENTRY

}  // namespace

std::string_view majorFunctionName(UCHAR major) {
  static const std::array<std::string, 256> unknown = [] {
    std::array<std::string, 256> names;
    for (std::size_t code = 0; code < names.size(); ++code) names[code] = fmt::format("IRP_MJ_0x{:02X}", code);
    return names;
  }();
  auto known = lookup(kMajorNames, major);
  return known.empty() ? std::string_view(unknown[major]) : known;
}

std::string_view minorFunctionName(UCHAR major, UCHAR minor) {
  switch (major) {
    case IRP_MJ_PNP: return lookup(kPnpMinorNames, minor);
    case IRP_MJ_POWER: return lookup(kPowerMinorNames, minor);
    case IRP_MJ_SYSTEM_CONTROL: return lookup(kWmiMinorNames, minor);
    default: return {};
  }
}

std::string_view ioControlCodeName(ULONG code) {
  for (const auto& [value, name] : kControlCodeNames) {
    if (value == code) return name;
  }
  return {};
}

std::string statusName(NTSTATUS status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return std::string(name);
  }
  return fmt::format("0x{:08X}", static_cast<ULONG>(status));
}

}  // namespace ndishost::nt
