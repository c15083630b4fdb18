#include "ndis/protocol/protocol_driver.hpp"

#include <cstring>

#include <fmt/format.h>

#include "ndis/core/ndis_version.hpp"

namespace ndishost::ndis {
namespace {

// Revision 1 is NDIS 6.0's; revision 2 added DirectOidRequestCompleteHandler in NDIS 6.1.
struct RevisionInfo {
  UCHAR minimumMinor;
  USHORT size;
};
const RevisionInfo* revisionInfo(UCHAR revision) {
  static constexpr RevisionInfo kRevisions[] = {
      {0, NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1},
      {1, NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2},
  };
  if (revision < 1 || revision > 2) return nullptr;
  return &kRevisions[revision - 1];
}

}  // namespace

ProtocolCharacteristicsCheck validateProtocolCharacteristics(const NDIS_PROTOCOL_DRIVER_CHARACTERISTICS& c) {
  ProtocolCharacteristicsCheck result{};
  auto reject = [&](NDIS_STATUS status, std::string problem) {
    result.status = status;
    result.problem = std::move(problem);
    return result;
  };
  if (c.Header.Type != NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  fmt::format("Header.Type is {:#x}, expected NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS ({:#x})",
                              c.Header.Type, NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS));
  if (c.MajorNdisVersion != 6 || !isKnownNdisMinorVersion(c.MinorNdisVersion))
    return reject(NDIS_STATUS_BAD_VERSION, fmt::format("MajorNdisVersion.MinorNdisVersion {}.{} is not an NDIS 6 version",
                                                       c.MajorNdisVersion, c.MinorNdisVersion));
  const RevisionInfo* revision = revisionInfo(c.Header.Revision);
  if (revision == nullptr)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  fmt::format("Header.Revision {} is not NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1 or _2",
                              c.Header.Revision));
  if (c.MinorNdisVersion < revision->minimumMinor)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  fmt::format("Header.Revision {} needs NDIS 6.{} or later, but the driver declares NDIS 6.{}",
                              c.Header.Revision, revision->minimumMinor, c.MinorNdisVersion));
  if (c.Header.Size < revision->size)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  fmt::format("Header.Size {} is smaller than NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_{} ({})",
                              c.Header.Size, c.Header.Revision, revision->size));

  std::memset(&result.accepted, 0, sizeof(result.accepted));
  std::memcpy(&result.accepted, &c, revision->size);
  const NDIS_PROTOCOL_DRIVER_CHARACTERISTICS& a = result.accepted;

  // NDIS passes Name as the protocol's service name (bind parameters, logs); it is required.
  if (a.Name.Buffer == nullptr || a.Name.Length == 0 || (a.Name.Length % sizeof(WCHAR)) != 0 ||
      a.Name.Length > a.Name.MaximumLength)
    return reject(NDIS_STATUS_BAD_CHARACTERISTICS,
                  fmt::format("Name (Length {}, MaximumLength {}) is not the protocol's service name",
                              a.Name.Length, a.Name.MaximumLength));
  struct Required {
    const void* handler;
    const char* field;
  };
  // StatusHandlerEx, UninstallHandler, SetOptionsHandler and DirectOidRequestCompleteHandler
  // are documented as optional ("if any, or NULL"); the rest are required.
  const Required required[] = {
      {reinterpret_cast<const void*>(a.BindAdapterHandlerEx), "BindAdapterHandlerEx"},
      {reinterpret_cast<const void*>(a.UnbindAdapterHandlerEx), "UnbindAdapterHandlerEx"},
      {reinterpret_cast<const void*>(a.OpenAdapterCompleteHandlerEx), "OpenAdapterCompleteHandlerEx"},
      {reinterpret_cast<const void*>(a.CloseAdapterCompleteHandlerEx), "CloseAdapterCompleteHandlerEx"},
      {reinterpret_cast<const void*>(a.NetPnPEventHandler), "NetPnPEventHandler"},
      {reinterpret_cast<const void*>(a.OidRequestCompleteHandler), "OidRequestCompleteHandler"},
      {reinterpret_cast<const void*>(a.ReceiveNetBufferListsHandler), "ReceiveNetBufferListsHandler"},
      {reinterpret_cast<const void*>(a.SendNetBufferListsCompleteHandler), "SendNetBufferListsCompleteHandler"},
  };
  for (const Required& r : required) {
    if (r.handler == nullptr)
      return reject(NDIS_STATUS_BAD_CHARACTERISTICS, fmt::format("{} is NULL but required", r.field));
  }
  result.status = NDIS_STATUS_SUCCESS;
  return result;
}

BindParametersRevision bindParametersRevisionFor(UCHAR minor) {
  if (minor >= 30) return {NDIS_BIND_PARAMETERS_REVISION_4, NDIS_SIZEOF_BIND_PARAMETERS_REVISION_4};
  if (minor >= 20) return {NDIS_BIND_PARAMETERS_REVISION_3, NDIS_SIZEOF_BIND_PARAMETERS_REVISION_3};
  if (minor >= 1) return {NDIS_BIND_PARAMETERS_REVISION_2, NDIS_SIZEOF_BIND_PARAMETERS_REVISION_2};
  return {NDIS_BIND_PARAMETERS_REVISION_1, NDIS_SIZEOF_BIND_PARAMETERS_REVISION_1};
}

ProtocolDriver::ProtocolDriver(NDIS_HANDLE driverContext, const NDIS_PROTOCOL_DRIVER_CHARACTERISTICS& characteristics,
                               std::string name)
    : NdisObject(NdisObjectKind::ProtocolDriver),
      driverContext_(driverContext),
      characteristics_(characteristics),
      name_(std::move(name)) {}

ProtocolDriver::~ProtocolDriver() = default;

ProtocolDriver* ProtocolDriver::fromHandle(NDIS_HANDLE handle) {
  NdisObject* object = NdisObject::fromHandle(handle);
  return object != nullptr && object->kind() == NdisObjectKind::ProtocolDriver ? static_cast<ProtocolDriver*>(object)
                                                                                : nullptr;
}

}  // namespace ndishost::ndis
