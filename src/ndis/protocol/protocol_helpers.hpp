// C++ conveniences for protocol code written in C++ on the NDIS DDIs (the host's TAP
// binding): the structures a protocol fills, with their headers set, and a registration that
// deregisters when it goes out of scope. Everything still goes through the documented DDIs.
#pragma once

#include <cstring>
#include <span>
#include <utility>

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

// NDIS_PROTOCOL_DRIVER_CHARACTERISTICS revision 1 (revision 2 when `directOidComplete` is
// wanted) for NDIS 6.`minor`, named `serviceName` (which must outlive the registration);
// the caller sets the handlers.
inline NDIS_PROTOCOL_DRIVER_CHARACTERISTICS protocolCharacteristics(const char16_t* serviceName, UCHAR minor = 30,
                                                                    bool revision2 = false) {
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS c;
  std::memset(&c, 0, sizeof(c));
  c.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
  c.Header.Revision = revision2 ? NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2 : NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
  c.Header.Size = revision2 ? NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2
                            : NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
  c.MajorNdisVersion = 6;
  c.MinorNdisVersion = minor;
  USHORT length = 0;
  while (serviceName[length] != u'\0') ++length;
  c.Name.Buffer = reinterpret_cast<PWCH>(const_cast<char16_t*>(serviceName));
  c.Name.Length = static_cast<USHORT>(length * sizeof(WCHAR));
  c.Name.MaximumLength = static_cast<USHORT>(c.Name.Length + sizeof(WCHAR));
  return c;
}

// NDIS_OPEN_PARAMETERS for NdisOpenAdapterEx: the adapter NDIS named in the bind, the media
// the protocol speaks and where NDIS writes the chosen one's index.
inline NDIS_OPEN_PARAMETERS openParameters(PNDIS_STRING adapterName, std::span<NDIS_MEDIUM> media, UINT* selected) {
  NDIS_OPEN_PARAMETERS p;
  std::memset(&p, 0, sizeof(p));
  p.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
  p.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
  p.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
  p.AdapterName = adapterName;
  p.MediumArray = media.data();
  p.MediumArraySize = static_cast<UINT>(media.size());
  p.SelectedMediumIndex = selected;
  return p;
}

// An NDIS_OID_REQUEST (revision 1) querying or setting `oid` through `buffer`.
// Internal linkage on purpose: NDIS_OID_REQUEST's size depends on the NDIS version the
// including file declares (NDIS630 for the TAP binding, the library's own for the
// runtime), so one shared inline definition would be an ODR violation (ASan saw the
// memset of the wrong size).
static inline NDIS_OID_REQUEST oidRequest(NDIS_REQUEST_TYPE type, NDIS_OID oid, PVOID buffer, ULONG length) {
  NDIS_OID_REQUEST r;
  std::memset(&r, 0, sizeof(r));
  r.Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
  r.Header.Revision = NDIS_OID_REQUEST_REVISION_1;
  r.Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
  r.RequestType = type;
  r.PortNumber = NDIS_DEFAULT_PORT_NUMBER;
  if (type == NdisRequestSetInformation) {
    r.DATA.SET_INFORMATION.Oid = oid;
    r.DATA.SET_INFORMATION.InformationBuffer = buffer;
    r.DATA.SET_INFORMATION.InformationBufferLength = length;
  } else {
    r.DATA.QUERY_INFORMATION.Oid = oid;
    r.DATA.QUERY_INFORMATION.InformationBuffer = buffer;
    r.DATA.QUERY_INFORMATION.InformationBufferLength = length;
  }
  return r;
}

// NdisRegisterProtocolDriver for the scope's lifetime: NdisDeregisterProtocolDriver (which
// unbinds every binding first) when destroyed. PASSIVE_LEVEL both ways.
class ProtocolRegistration {
 public:
  ProtocolRegistration() = default;
  ProtocolRegistration(NDIS_HANDLE driverContext, NDIS_PROTOCOL_DRIVER_CHARACTERISTICS& characteristics) {
    status_ = NdisRegisterProtocolDriver(driverContext, &characteristics, &handle_);
  }
  ~ProtocolRegistration() { reset(); }
  ProtocolRegistration(ProtocolRegistration&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)), status_(other.status_) {}
  ProtocolRegistration& operator=(ProtocolRegistration&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, nullptr);
      status_ = other.status_;
    }
    return *this;
  }
  ProtocolRegistration(const ProtocolRegistration&) = delete;
  ProtocolRegistration& operator=(const ProtocolRegistration&) = delete;

  NDIS_STATUS status() const { return status_; }
  explicit operator bool() const { return handle_ != nullptr; }
  NDIS_HANDLE handle() const { return handle_; }
  void reset() {
    if (handle_ != nullptr) NdisDeregisterProtocolDriver(std::exchange(handle_, nullptr));
  }

 private:
  NDIS_HANDLE handle_ = nullptr;
  NDIS_STATUS status_ = NDIS_STATUS_FAILURE;
};

}  // namespace ndishost::ndis
