// A registered miniport driver: what NdisMRegisterMiniportDriver's NdisMiniportDriverHandle
// points at. It keeps the driver's characteristics (copied by the revision's size, the rest
// zero), its MiniportDriverContext, its driver object and a driver-level configuration
// store (what NdisOpenConfigurationEx opens for the driver handle).
//
// NDIS owns the driver object's entry points from registration on: AddDevice,
// DriverUnload and every MajorFunction; AddDevice and the IRPs go to the adapter
// (adapter_pnp.hpp).
#pragma once

#include <memory>
#include <string>

#include "ndis/config/configuration_store.hpp"
#include "ndis/core/ndis_object.hpp"

namespace ndishost::ndis {

class MiniportDriver final : public NdisObject {
 public:
  MiniportDriver(PDRIVER_OBJECT driverObject, NDIS_HANDLE driverContext,
                 const NDIS_MINIPORT_DRIVER_CHARACTERISTICS& characteristics, std::string name);
  ~MiniportDriver() override;

  PVOID ioObject() const override { return driverObject_; }
  ConfigurationStore* configuration() const override { return configuration_.get(); }
  std::string describe() const override { return name_; }

  PDRIVER_OBJECT driverObject() const { return driverObject_; }
  NDIS_HANDLE driverContext() const { return driverContext_; }
  // All members of the newest revision; those past the driver's revision are NULL/0.
  const NDIS_MINIPORT_DRIVER_CHARACTERISTICS& characteristics() const { return characteristics_; }
  bool isWdm() const { return (characteristics_.Flags & NDIS_WDM_DRIVER) != 0; }
  std::shared_ptr<ConfigurationStore> configurationStore() const { return configuration_; }

  // The miniport driver registered for `driverObject`, or null.
  static MiniportDriver* fromDriverObject(PDRIVER_OBJECT driverObject);
  static MiniportDriver* fromHandle(NDIS_HANDLE handle);

 private:
  PDRIVER_OBJECT driverObject_;
  NDIS_HANDLE driverContext_;
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS characteristics_;
  std::string name_;
  std::shared_ptr<ConfigurationStore> configuration_;
};

// Points the driver object's AddDevice, DriverUnload and MajorFunction table at NDIS.
void takeOverDriverObject(PDRIVER_OBJECT driverObject);

}  // namespace ndishost::ndis
