// Vocabulary shared by every USB device model and the host side that drives it: bus speeds,
// the 8-byte SETUP packet, chapter-9 request and descriptor codes (USB 2.0 section 9.4,
// tables 9-4 to 9-6; USB 3.2 table 9-5 for the SuperSpeed additions), transfer results and
// the caller-owned Transfer that carries one bulk or interrupt transfer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ndishost::usb::device {

// The speed the device is connected at. A device attached at Full or High speed is a
// high-speed-capable device (it answers GET_DESCRIPTOR(DEVICE_QUALIFIER) and
// OTHER_SPEED_CONFIGURATION); one attached at Super speed is SuperSpeed-capable.
enum class Speed : std::uint8_t { Full, High, Super };

std::string_view toString(Speed speed);

enum class RequestType : std::uint8_t { Standard = 0, Class = 1, Vendor = 2, Reserved = 3 };
enum class Recipient : std::uint8_t { Device = 0, Interface = 1, Endpoint = 2, Other = 3 };

// The SETUP stage of a control transfer, in host byte order. The wire form is 8 bytes,
// little-endian (USB 2.0 table 9-2).
struct SetupPacket {
  std::uint8_t bmRequestType = 0;
  std::uint8_t bRequest = 0;
  std::uint16_t wValue = 0;
  std::uint16_t wIndex = 0;
  std::uint16_t wLength = 0;

  bool deviceToHost() const { return (bmRequestType & 0x80) != 0; }
  RequestType type() const { return static_cast<RequestType>((bmRequestType >> 5) & 0x3); }
  Recipient recipient() const { return static_cast<Recipient>(bmRequestType & 0x1F); }

  static SetupPacket fromBytes(std::span<const std::byte, 8> bytes);
  void toBytes(std::span<std::byte, 8> bytes) const;

  // Composes bmRequestType from its three fields.
  static constexpr std::uint8_t requestType(bool deviceToHost, RequestType type,
                                            Recipient recipient) {
    return static_cast<std::uint8_t>((deviceToHost ? 0x80 : 0x00) |
                                     (static_cast<unsigned>(type) << 5) |
                                     static_cast<unsigned>(recipient));
  }
};

// Standard request codes (bRequest), USB 2.0 table 9-4 plus USB 3.2 SET_SEL/SET_ISOCH_DELAY.
namespace standard_request {
inline constexpr std::uint8_t GetStatus = 0;
inline constexpr std::uint8_t ClearFeature = 1;
inline constexpr std::uint8_t SetFeature = 3;
inline constexpr std::uint8_t SetAddress = 5;
inline constexpr std::uint8_t GetDescriptor = 6;
inline constexpr std::uint8_t SetDescriptor = 7;
inline constexpr std::uint8_t GetConfiguration = 8;
inline constexpr std::uint8_t SetConfiguration = 9;
inline constexpr std::uint8_t GetInterface = 10;
inline constexpr std::uint8_t SetInterface = 11;
inline constexpr std::uint8_t SynchFrame = 12;
inline constexpr std::uint8_t SetSel = 48;
inline constexpr std::uint8_t SetIsochDelay = 49;
}  // namespace standard_request

// Descriptor types (USB 2.0 table 9-5, USB 3.2 table 9-6, CDC 1.2 table 12).
namespace descriptor_type {
inline constexpr std::uint8_t Device = 1;
inline constexpr std::uint8_t Configuration = 2;
inline constexpr std::uint8_t String = 3;
inline constexpr std::uint8_t Interface = 4;
inline constexpr std::uint8_t Endpoint = 5;
inline constexpr std::uint8_t DeviceQualifier = 6;
inline constexpr std::uint8_t OtherSpeedConfiguration = 7;
inline constexpr std::uint8_t InterfacePower = 8;
inline constexpr std::uint8_t InterfaceAssociation = 11;
inline constexpr std::uint8_t Bos = 15;
inline constexpr std::uint8_t DeviceCapability = 16;
inline constexpr std::uint8_t SuperSpeedEndpointCompanion = 48;
inline constexpr std::uint8_t CsInterface = 0x24;
inline constexpr std::uint8_t CsEndpoint = 0x25;
}  // namespace descriptor_type

// Feature selectors (USB 2.0 table 9-6, USB 3.2 table 9-7).
namespace feature_selector {
inline constexpr std::uint16_t EndpointHalt = 0;          // recipient endpoint
inline constexpr std::uint16_t FunctionSuspend = 0;       // recipient interface (SuperSpeed)
inline constexpr std::uint16_t DeviceRemoteWakeup = 1;    // recipient device
inline constexpr std::uint16_t TestMode = 2;              // recipient device (high speed)
inline constexpr std::uint16_t U1Enable = 48;             // recipient device (SuperSpeed)
inline constexpr std::uint16_t U2Enable = 49;
inline constexpr std::uint16_t LtmEnable = 50;
}  // namespace feature_selector

enum class EndpointType : std::uint8_t { Control = 0, Isochronous = 1, Bulk = 2, Interrupt = 3 };

inline constexpr bool isInEndpoint(std::uint8_t endpointAddress) {
  return (endpointAddress & 0x80) != 0;
}
inline constexpr std::uint8_t endpointNumber(std::uint8_t endpointAddress) {
  return endpointAddress & 0x0F;
}

// How a control or bulk/interrupt transfer ended, as the host controller observes it.
enum class TransferStatus : std::uint8_t {
  // Data moved; Transfer::actualLength (or ControlResult::length) says how much. A short
  // IN transfer is a success: the device ended it with a short packet or a ZLP.
  Success,
  // The device answered STALL: the endpoint is halted (SET_FEATURE(ENDPOINT_HALT)), or, on
  // the default pipe, the request was not understood (a "protocol stall", which the next
  // SETUP clears).
  Stall,
  // The device was disconnected (UsbDevice::disconnect()) before or while the transfer was
  // pending. Hosts report this as "device not responding / no device".
  DeviceGone,
  // Completed by UsbDevice::cancel()/abortEndpoint(), or because the endpoint was torn down
  // while the transfer was pending (SET_CONFIGURATION, SET_INTERFACE, port reset).
  Cancelled,
  // The endpoint does not exist in the current configuration/alternate setting (or the
  // device is not configured): a real device ignores the tokens and the host controller
  // gives up with a transaction error.
  NoResponse,
  // IN only: the device sent a packet that did not fit in the rest of the buffer (babble /
  // data overrun). The bytes that fit are delivered; the rest of that device message is lost.
  Overrun,
};

std::string_view toString(TransferStatus status);

struct ControlResult {
  TransferStatus status = TransferStatus::Success;
  std::size_t length = 0;  // bytes of the data stage actually transferred

  static constexpr ControlResult ok(std::size_t length = 0) {
    return {TransferStatus::Success, length};
  }
  static constexpr ControlResult stall() { return {TransferStatus::Stall, 0}; }
  static constexpr ControlResult gone() { return {TransferStatus::DeviceGone, 0}; }
  bool succeeded() const { return status == TransferStatus::Success; }
};

// One bulk or interrupt transfer. Owned by the caller (the host side embeds it in its
// per-URB context, like an IRP/URB pair), so submitting allocates nothing. The caller fills
// the request fields, calls UsbDevice::submit(), and must keep the object alive and untouched
// until its completion callback has been called; then it may reuse it (even from inside the
// callback).
struct Transfer {
  using Completion = void (*)(Transfer& transfer, void* context);

  // --- request (set by the caller before submit) ---
  std::uint8_t endpoint = 0;      // bEndpointAddress; bit 7 set for IN
  // OUT: the bytes to send (all of them). IN: the space to receive into; its size is the
  // transfer length the host asks for.
  std::span<std::byte> buffer;
  // OUT only: when buffer.size() is a non-zero multiple of wMaxPacketSize, follow the data
  // with a zero-length packet so the device sees the end of the message (Linux
  // URB_ZERO_PACKET). A zero-length OUT transfer is itself a ZLP.
  bool zeroLengthPacket = false;
  Completion completion = nullptr;
  void* context = nullptr;

  // --- result (valid when the completion runs) ---
  TransferStatus status = TransferStatus::Success;
  std::size_t actualLength = 0;

  // --- bookkeeping of the UsbDevice implementation while the transfer is submitted ---
  // Callers neither read nor write these.
  struct Links {
    Transfer* next = nullptr;
    Transfer* prev = nullptr;
    const void* owner = nullptr;
    std::uint32_t state = 0;
  } links;
};

}  // namespace ndishost::usb::device
