// NDIS handles: what the NDIS_HANDLEs the library hands to drivers point at.
//
// Every handle the library creates for a driver-visible object (a miniport driver, later
// an adapter, a binding, a standalone "test" handle) points at an NdisObject. The object
// answers the questions the handle-taking DDIs ask: which driver is it charged to, which
// I/O object (device or driver object) work items attach to, which configuration store
// NdisOpenConfigurationEx reads. Live objects are registered, so a DDI can tell a real
// handle from a stale or made-up one without touching the memory behind it.
//
// The adapter step adds an Adapter : NdisObject that owns its FDO (ioObject()) and its
// per-adapter ConfigurationStore (configuration()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ndis/core/ndis_ddk.hpp"
#include "nt/support/driver_image.hpp"

namespace ndishost::ndis {

class ConfigurationStore;

enum class NdisObjectKind : std::uint8_t {
  MiniportDriver,  // NdisMRegisterMiniportDriver's NdisMiniportDriverHandle
  Adapter,         // MiniportAdapterHandle (the adapter-lifecycle step)
  Standalone,      // a handle the host or a test creates (makeStandaloneHandle)
  ProtocolDriver,  // NdisRegisterProtocolDriver's NdisProtocolHandle (src/ndis/protocol)
  Binding,         // NdisOpenAdapterEx's NdisBindingHandle (src/ndis/protocol)
  Device,          // NdisRegisterDeviceEx's NdisDeviceHandle (miniport/device_ddi.cpp)
};

const char* toString(NdisObjectKind kind);

class NdisObject {
 public:
  explicit NdisObject(NdisObjectKind kind);
  virtual ~NdisObject();
  NdisObject(const NdisObject&) = delete;
  NdisObject& operator=(const NdisObject&) = delete;

  NdisObjectKind kind() const { return kind_; }
  NDIS_HANDLE handle() { return this; }

  // The device or driver object NdisAllocateIoWorkItem attaches its IO_WORKITEM to, or
  // null when the handle has none (a standalone handle without one).
  virtual PVOID ioObject() const = 0;
  // The configuration NdisOpenConfigurationEx opens for this handle, or null.
  virtual ConfigurationStore* configuration() const = 0;
  // What logs call the owner ("usbncm", "test handle 1").
  virtual std::string describe() const = 0;

  // The live object `handle` points at, or null when it is not a live NDIS handle.
  // Never dereferences `handle` unless it is registered.
  static NdisObject* fromHandle(NDIS_HANDLE handle);

 private:
  NdisObjectKind kind_;
};

// A handle the host or a test owns: an optional I/O object for work items and an optional
// configuration store. Destroying it invalidates the handle.
class StandaloneHandle final : public NdisObject {
 public:
  StandaloneHandle(std::string name, PVOID ioObject, std::shared_ptr<ConfigurationStore> configuration);
  ~StandaloneHandle() override;

  PVOID ioObject() const override { return ioObject_; }
  ConfigurationStore* configuration() const override { return configuration_.get(); }
  std::string describe() const override { return name_; }

 private:
  std::string name_;
  PVOID ioObject_;
  std::shared_ptr<ConfigurationStore> configuration_;
};

}  // namespace ndishost::ndis
