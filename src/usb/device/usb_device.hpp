// UsbDevice: what a host controller sees of one attached USB device. The USB bus driver
// (URBs) is written on top of this interface only; emulated functions (EmulatedUsbDevice
// with CDC-ECM, CDC-NCM or RNDIS) implement it today, a libusb back end can implement it
// for real hardware later.
//
// ---------------------------------------------------------------------------------------
// CONTROL TRANSFERS (default pipe, endpoint 0)
//   controlTransfer(setup, data) performs the whole SETUP/DATA/STATUS sequence and returns
//   when it is over. It is synchronous on purpose: the default pipe is serialized by USB
//   itself, and URB_FUNCTION_CONTROL_TRANSFER/GET_DESCRIPTOR/SELECT_CONFIGURATION map onto
//   one call each. `data` is the data stage: for a device-to-host request the device writes
//   at most min(wLength, data.size()) bytes and the result says how many; for a host-to-
//   device request the device reads the first min(wLength, data.size()) bytes. Result:
//     Success + length, Stall (request error: the device did not understand or refused the
//     request; the stall is a protocol stall and the next SETUP clears it, as on hardware),
//     or DeviceGone.
//   Emulated devices return without blocking on anything but their own short internal lock;
//   a real-hardware back end may block for the bus round trip (bounded by its timeout).
//   Never holds a lock of the caller's and never invokes a transfer completion inline, so it
//   may be called from any thread, including from inside a completion callback.
//
// BULK AND INTERRUPT TRANSFERS (asynchronous)
//   submit(transfer) queues a caller-owned Transfer (see usb_types.hpp) on its endpoint.
//   Transfers on one endpoint complete in submission order. The model is a TRANSFER model
//   over a packet stream, exactly as USB defines transfers:
//
//   OUT: the host's data is cut into wMaxPacketSize packets. The device consumes them when
//     it has room (emulated devices: at once) and the transfer then completes with Success
//     and actualLength == buffer.size(). The DEVICE delimits its messages (an Ethernet frame
//     for ECM, an NTB for NCM, a REMOTE_NDIS_PACKET_MSG transfer for RNDIS) by:
//       - a short packet (the transfer length is not a multiple of wMaxPacketSize), or
//       - a zero-length packet: Transfer::zeroLengthPacket on a transfer whose length is a
//         multiple of wMaxPacketSize, or a separate zero-length OUT transfer, or
//       - its receive buffer filling up: a message that reaches the function's maximum
//         (dwNtbOutMaxSize for NCM, MaxTransferSize for RNDIS, the segment size rounded up
//         to a packet for ECM) ends there without a ZLP, as NCM 1.0 section 3.2.2 requires.
//     So an OUT transfer whose length is an exact multiple of wMaxPacketSize, sent without a
//     ZLP and below the maximum, does NOT end a message: the device keeps the bytes and the
//     next OUT transfer continues the same message -- what real hardware does.
//
//   IN: the device produces messages (an Ethernet frame, an NTB, a batch of PACKET_MSGs, an
//     interrupt notification) and sends each as packets. A transfer ends when
//       - a short packet or a ZLP arrives: Success, actualLength = what arrived; devices send
//         a ZLP after a message that ends on a packet boundary when their protocol says so
//         (ECM, RNDIS; NCM except for an NTB of exactly dwNtbInMaxSize; notifications never);
//       - the buffer is full: Success. If the buffer length is a multiple of wMaxPacketSize,
//         the rest of the message stays in the device and starts the NEXT transfer (packets
//         are never split). A ZLP that was due after a message that exactly filled a
//         transfer arrives as the next transfer, which completes with 0 bytes;
//       - the next packet does not fit the rest of the buffer (buffer length not a multiple
//         of wMaxPacketSize): Overrun, with the bytes that fit; the rest of that message is
//         lost (hosts report babble/buffer overrun here).
//     A message that ends on a full packet without a ZLP does not end the transfer: the next
//     message's packets continue it. Hosts therefore post IN buffers of at least the largest
//     message (NCM: dwNtbInMaxSize; RNDIS: their MaxTransferSize; notifications: the
//     interrupt endpoint's wMaxPacketSize) or a multiple of wMaxPacketSize.
//
//   Failure modes: a transfer on an endpoint that does not exist in the current
//   configuration and alternate setting (or any endpoint while unconfigured) completes with
//   NoResponse; one on a halted endpoint completes with Stall (pending ones too) until
//   CLEAR_FEATURE(ENDPOINT_HALT); transfers pending when their endpoint is torn down
//   (SET_CONFIGURATION, SET_INTERFACE, resetPort()) complete with Cancelled; after
//   disconnect() every pending and every later transfer completes with DeviceGone.
//   Data toggles are not modelled (no transfer can be lost to a toggle mismatch here).
//
// COMPLETION CALLBACKS
//   Every completion of an emulated device runs on that device's own thread (one per
//   device), never inline inside submit(), cancel(), abortEndpoint(), controlTransfer(),
//   resetPort() or disconnect(), and never while the device holds any lock of its own. A
//   callback may therefore call submit() again (the host side re-posts receive URBs from
//   its completion DPC), cancel(), controlTransfer() or disconnect(). Callbacks must be
//   quick (they delay every other completion of that device) and must not wait for another
//   completion of the same device. Implementations for real hardware make the same promise
//   with "their event thread" in place of "the device thread".
//
// CANCELLATION
//   cancel(transfer) returns true when the transfer was still pending: it will complete
//   (asynchronously, on the device thread) with Cancelled and whatever actualLength it had
//   reached. It returns false when the transfer is not pending here (already completing, or
//   being consumed by the device right now): the completion then arrives with its real
//   status. abortEndpoint() cancels everything pending on one endpoint (URB_FUNCTION_ABORT_PIPE).
//
// THREAD SAFETY: every member function may be called from any thread, concurrently.
// ---------------------------------------------------------------------------------------
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "usb/device/usb_types.hpp"

namespace ndishost::usb::device {

class UsbDevice {
 public:
  virtual ~UsbDevice() = default;

  // The speed the device is connected at; fixed for the life of the connection.
  virtual Speed speed() const = 0;

  // False after disconnect().
  virtual bool isConnected() const = 0;

  // Synchronous control transfer on the default pipe (see above).
  virtual ControlResult controlTransfer(const SetupPacket& setup, std::span<std::byte> data) = 0;

  // Queues a bulk or interrupt transfer; its completion always comes later on the device
  // thread. Submitting a Transfer that is still pending is a caller bug (std::logic_error).
  virtual void submit(Transfer& transfer) = 0;

  // See CANCELLATION above.
  virtual bool cancel(Transfer& transfer) = 0;
  virtual void abortEndpoint(std::uint8_t endpointAddress) = 0;

  // USB bus reset of the device's port (IOCTL_INTERNAL_USB_RESET_PORT): the device returns
  // to the Default state (address 0, unconfigured, every function state reset). Pending
  // transfers complete with Cancelled. The device stays attached; the host enumerates it
  // again. Takes effect before the call returns.
  virtual void resetPort() = 0;

  // Surprise removal: the device leaves the bus. Pending and later transfers complete with
  // DeviceGone, controlTransfer() returns DeviceGone. Idempotent.
  virtual void disconnect() = 0;

  // Called once on the device thread after disconnect() (or a device-initiated removal)
  // once every pending transfer has been completed with DeviceGone -- what a hub reports as
  // a port status change. Set it before the device can be disconnected.
  virtual void setDisconnectHandler(std::function<void()> handler) = 0;
};

}  // namespace ndishost::usb::device
