// What the control socket can ask of a running ndishost: the contract between the control
// server/CLI (src/host/control) and the runtime that implements it (src/host/runtime).
// Every call is synchronous, thread-safe, and reports failure by throwing ControlError with
// a message for the user ("no adapter named ncm9").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ndishost::host {

class ControlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `ndishost list`: one row per configured device/adapter.
struct AdapterRow {
  std::string device;    // config name, e.g. ncm0
  std::string kind;      // ncm | ecm | rndis
  std::string driver;    // e.g. usbncm ("" while no driver is loaded)
  std::string state;     // NDIS adapter state (Running, Paused, ...), or unplugged / no-driver / failed
  std::string link;      // up <speed> | down | unknown
  std::string tap;       // TAP interface name
  std::string farSide;   // as configured
};

class HostControl {
 public:
  virtual ~HostControl() = default;
  virtual std::vector<AdapterRow> list() = 0;
  // Per-adapter NDIS, driver, binding, USB and far-side counters, keyed by device name.
  virtual nlohmann::json stats(const std::string& device) = 0;  // "" = all devices
  // OID query/set through the binding (NdisOidRequest); bytes in, bytes out.
  virtual std::vector<std::uint8_t> oidQuery(const std::string& device, std::uint32_t oid, std::size_t outputLength) = 0;
  virtual void oidSet(const std::string& device, std::uint32_t oid, const std::vector<std::uint8_t>& data) = 0;
  virtual void unplug(const std::string& device) = 0;  // surprise removal
  virtual void plug(const std::string& device) = 0;    // re-arrival
  virtual void reset(const std::string& device) = 0;   // MiniportResetEx through NDIS
  virtual void suspend(const std::string& device) = 0; // D3 (OID_PNP_SET_POWER)
  virtual void resume(const std::string& device) = 0;  // D0
  // The emulated device's network link (the cable): down makes the device report
  // disconnect (CDC NETWORK_CONNECTION / RNDIS MEDIA_DISCONNECT), the adapter indicates
  // NDIS_STATUS_LINK_STATE and the TAP loses carrier; up brings it back.
  virtual void setLink(const std::string& device, bool up) = 0;
  // Fault injection: the emulated device stops answering bulk transfers (they stay pending)
  // until the host aborts a pipe or resets the port; NDIS's send time-out is what notices.
  virtual void hang(const std::string& device) = 0;
  // Live events (state changes, OIDs, resets, IRP errors) as JSON objects, until the
  // returned handle is destroyed. The sink runs on an arbitrary thread and must not block.
  class Subscription {
   public:
    virtual ~Subscription() = default;
  };
  virtual std::unique_ptr<Subscription> subscribe(std::function<void(const nlohmann::json& event)> sink) = 0;
};

}  // namespace ndishost::host
