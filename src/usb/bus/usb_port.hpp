// UsbPort: one device on a root hub port, and its PDO -- the URB handling of the bus
// driver. Everything between "an IRP arrived at the PDO" and "device::UsbDevice call" is
// here: PnP IDs, the pipe table, URB validation, the per-URB contexts, cancellation and
// DPC completion.
//
// URB functions handled (the rest complete with USBD_STATUS_INVALID_URB_FUNCTION, or
// USBD_STATUS_NOT_SUPPORTED for isochronous/stream/frame-length functions):
//   SELECT_CONFIGURATION, SELECT_INTERFACE, ABORT_PIPE, SYNC_RESET_PIPE_AND_CLEAR_STALL,
//   SYNC_RESET_PIPE, SYNC_CLEAR_STALL, GET_CURRENT_FRAME_NUMBER, CONTROL_TRANSFER(_EX),
//   BULK_OR_INTERRUPT_TRANSFER(_USING_CHAINED_MDL), GET_DESCRIPTOR_FROM_DEVICE/INTERFACE/
//   ENDPOINT, GET_STATUS_FROM_*, SET/CLEAR_FEATURE_TO_*, GET_CONFIGURATION, GET_INTERFACE,
//   CLASS_*/VENDOR_* (DEVICE, INTERFACE, ENDPOINT, OTHER).
//
// Per-URB state lives in pre-allocated UrbContext objects (UsbBusOptions::urbContextsPerPort):
// no heap allocation per URB, except a chained-MDL transfer's bounce buffer, which grows
// once to the largest chain seen and is reused.
//
// Cancellation protocol of a bulk/interrupt URB (race-free with device completion): the
// context holds three references -- the submitter's, the device completion's and the
// cancel routine's (dropped by whoever clears the cancel routine with IoSetCancelRoutine,
// or by the cancel routine when it has run). Whoever drops the last queues the context to
// the port's completion DPC, which completes the IRP at DISPATCH_LEVEL. A `phase` word
// tells the cancel routine whether the transfer has reached the device yet.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <tuple>
#include <utility>
#include <usb.h>
#include <usbioctl.h>

#include "link/pcap_writer.hpp"
#include "link/usbmon_event.hpp"
#include "usb/device/usb_device.hpp"

namespace ndishost::usb::bus {

class UsbBus;
class UsbPort;

// What the bus keeps at the start of every device extension, to tell FDO from PDO.
enum class DeviceRole : std::uint32_t { HubFdo = 0x48554246, DevicePdo = 0x44504F55 };
struct BusDeviceExtension {
  DeviceRole role;
  void* owner;  // UsbBus* or UsbPort*
};

struct UrbContext {
  UsbPort* port = nullptr;
  PIRP irp = nullptr;
  PURB urb = nullptr;
  device::Transfer transfer;
  std::atomic<int> references{0};
  std::atomic<int> phase{0};
  bool isTransfer = false;         // bulk/interrupt (else: completed with `status`)
  USBD_STATUS status = USBD_STATUS_SUCCESS;
  std::uint8_t pipeIndex = 0;
  PMDL scatterMdl = nullptr;       // IN over chained MDLs: copy the bounce buffer back
  std::vector<std::byte> bounce;   // chained MDLs: grows once, reused
  link::UsbmonUrb monitor;
  UrbContext* next = nullptr;      // free list / completion list
};

struct Pipe {
  bool open = false;
  std::uint8_t address = 0;
  std::uint8_t interfaceNumber = 0;
  std::uint8_t interval = 0;
  device::EndpointType type = device::EndpointType::Bulk;
  std::uint16_t maxPacketSize = 0;
  int inFlight = 0;            // pipesLock_
  PIRP abortWaiters = nullptr; // ABORT_PIPE IRPs waiting for inFlight == 0 (DriverContext[1] chain)
};

class UsbPort {
 public:
  // `capture`: the device's own usbmon capture; null: the bus-wide one (if any).
  UsbPort(UsbBus& bus, unsigned number, std::shared_ptr<device::UsbDevice> device,
          std::shared_ptr<link::PcapWriter> capture = nullptr);
  ~UsbPort();
  UsbPort(const UsbPort&) = delete;
  UsbPort& operator=(const UsbPort&) = delete;

  // Reads the descriptors and creates the PDO. Throws std::runtime_error.
  void enumerate(PDRIVER_OBJECT driver);

  unsigned number() const { return number_; }
  PDEVICE_OBJECT pdo() const { return pdo_; }
  device::UsbDevice& device() { return *device_; }
  const std::shared_ptr<device::UsbDevice>& deviceShared() const { return device_; }
  bool present() const { return present_.load(std::memory_order_acquire); }
  bool pdoDeleted() const { return pdo_ == nullptr; }
  // Where this device's URBs are recorded, or null.
  link::PcapWriter* capture() const { return capture_ ? capture_.get() : busCapture_; }
  const std::shared_ptr<link::PcapWriter>& ownCapture() const { return capture_; }

  // The device left (unplug, cycle): URBs fail with USBD_STATUS_DEVICE_GONE from now on.
  void markGone();
  // Deletes the PDO if it still exists (bus teardown, or IRP_MN_REMOVE_DEVICE when gone).
  void deletePdo();
  // Waits (PASSIVE_LEVEL) until every URB context is back in the pool.
  void waitForIdle();
  // waitForIdle, then until the completion DPCs (and the clients' completion routines
  // they call) have returned. PASSIVE_LEVEL, never from a completion routine.
  void drainCompletions();

  static UsbPort* fromPdo(PDEVICE_OBJECT pdo);
  NTSTATUS dispatchPnp(PIRP irp);
  NTSTATUS dispatchPower(PIRP irp);
  NTSTATUS dispatchInternalIoctl(PIRP irp);

  // Hardware, compatible, device and instance IDs (REG_MULTI_SZ pieces), for tests too.
  std::vector<std::string> hardwareIds() const;
  std::vector<std::string> compatibleIds() const;
  std::string deviceId() const;
  std::string instanceId() const;
  std::string description() const;
  std::string location() const;

 private:
  // ---- URBs ----
  NTSTATUS submitUrb(PIRP irp, PURB urb);
  NTSTATUS completeNow(PIRP irp, PURB urb, USBD_STATUS status);  // via the DPC
  NTSTATUS selectConfiguration(PIRP irp, PURB urb);
  NTSTATUS selectInterface(PIRP irp, PURB urb);
  NTSTATUS pipeRequest(PIRP irp, PURB urb);
  NTSTATUS abortPipe(PIRP irp, PURB urb, Pipe& pipe);
  NTSTATUS bulkOrInterrupt(PIRP irp, PURB urb);
  NTSTATUS controlRequest(PIRP irp, PURB urb, const device::SetupPacket& setup, ULONG* transferLength,
                          PVOID transferBuffer, PMDL transferMdl);
  Pipe* pipeFromHandle(USBD_PIPE_HANDLE handle);
  USBD_STATUS fillInterface(PUSBD_INTERFACE_INFORMATION info, std::size_t available);
  void closePipesOf(std::uint8_t interfaceNumber);
  void closeAllPipes();
  void resetPortAndRestore();

  // ---- contexts and completion ----
  UrbContext* allocateContext();
  void freeContext(UrbContext* context);
  static void transferDone(device::Transfer& transfer, void* context);
  static void NTAPI cancelTransfer(PDEVICE_OBJECT device, PIRP irp);
  void cancelBody(UrbContext& context);
  void release(UrbContext& context);
  void queueCompletion(UrbContext& context);
  static void NTAPI completionDpc(PKDPC dpc, PVOID deferredContext, PVOID arg1, PVOID arg2);
  void finish(UrbContext& context);
  // A control transfer on the default pipe, recorded in the capture under `id`.
  device::ControlResult control(std::uint64_t id, const device::SetupPacket& setup, std::span<std::byte> data);

  // ---- PnP ----
  NTSTATUS queryId(PIRP irp);
  NTSTATUS queryDeviceText(PIRP irp);
  NTSTATUS queryCapabilities(PIRP irp);

  UsbBus& bus_;
  const unsigned number_;
  std::shared_ptr<device::UsbDevice> device_;
  const std::shared_ptr<link::PcapWriter> capture_;
  link::PcapWriter* const busCapture_;
  PDEVICE_OBJECT pdo_ = nullptr;
  std::atomic<bool> present_{true};
  std::atomic<bool> gone_{false};

  std::vector<std::byte> deviceDescriptor_;
  std::vector<std::byte> configurationDescriptor_;
  std::string product_, serial_;

  std::mutex pipesLock_;
  std::array<Pipe, 32> pipes_{};          // by endpoint index: number | (IN ? 16 : 0)
  std::array<std::uint8_t, 32> alternates_{};
  std::uint8_t configurationValue_ = 0;   // 0: unconfigured
  std::uint8_t configurationHandle_ = 0;  // its address is the handle
  std::array<std::uint8_t, 32> interfaceHandles_{};

  std::vector<std::unique_ptr<UrbContext>> contexts_;
  std::mutex freeLock_;
  std::vector<UrbContext*> free_;  // capacity reserved up front
  std::atomic<UrbContext*> completed_{nullptr};
  std::atomic<bool> draining_{false};
  KDPC dpc_;
};

}  // namespace ndishost::usb::bus
