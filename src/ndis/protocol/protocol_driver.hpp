// A registered protocol driver: what NdisRegisterProtocolDriver's NdisProtocolHandle points
// at. It keeps the driver's characteristics (copied by the revision's size, later members
// NULL), its ProtocolDriverContext and its service name.
//
// Registration checks the characteristics the way the reference describes them (header type,
// a revision the declared NDIS version has, a size covering that revision, an NDIS 6 version,
// the required ProtocolXxx handlers, a service name); validateProtocolCharacteristics is that
// check alone, so it can be tested and reused.
#pragma once

#include <string>

#include "ndis/core/ndis_object.hpp"

namespace ndishost::ndis {

struct ProtocolCharacteristicsCheck {
  NDIS_STATUS status;  // NDIS_STATUS_SUCCESS, _BAD_VERSION or _BAD_CHARACTERISTICS
  std::string problem;  // which field was wrong (empty on success)
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS accepted;  // the revision's members, later ones zero
};

ProtocolCharacteristicsCheck validateProtocolCharacteristics(const NDIS_PROTOCOL_DRIVER_CHARACTERISTICS& characteristics);

// The NDIS_BIND_PARAMETERS revision (and size) to give a protocol declaring NDIS 6.`minor`.
struct BindParametersRevision {
  UCHAR revision;
  USHORT size;
};
BindParametersRevision bindParametersRevisionFor(UCHAR minorNdisVersion);

// NdisObjectKind::ProtocolDriver: the handle NdisRegisterProtocolDriver returns.
class ProtocolDriver final : public NdisObject {
 public:
  ProtocolDriver(NDIS_HANDLE driverContext, const NDIS_PROTOCOL_DRIVER_CHARACTERISTICS& characteristics,
                 std::string name);
  ~ProtocolDriver() override;

  PVOID ioObject() const override { return nullptr; }
  ConfigurationStore* configuration() const override { return nullptr; }
  std::string describe() const override { return name_; }

  NDIS_HANDLE driverContext() const { return driverContext_; }
  const NDIS_PROTOCOL_DRIVER_CHARACTERISTICS& characteristics() const { return characteristics_; }
  UCHAR minorNdisVersion() const { return characteristics_.MinorNdisVersion; }

  // The live protocol driver `handle` points at, or null.
  static ProtocolDriver* fromHandle(NDIS_HANDLE handle);

 private:
  NDIS_HANDLE driverContext_;
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS characteristics_;
  std::string name_;
};

}  // namespace ndishost::ndis
