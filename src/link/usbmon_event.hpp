// USB traffic records in the Linux usbmon binary format (the 64-byte "mmapped" header of
// pcap LINKTYPE_USB_LINUX_MMAPPED, 220), so Wireshark dissects the URBs an emulated or
// real device exchanged with its driver exactly as it dissects a capture from usbmonN.
//
// The USB bus driver builds one event when an URB is submitted and one when it completes
// (or an error event when submission fails) and appends them to a PcapWriter. The encoding
// follows Linux: a submit carries status -EINPROGRESS and the OUT data; a completion
// carries the URB status (0 or -errno) and the IN data; the setup packet appears only on a
// control submit; data that is not captured is flagged '<' (IN submit) or '>' (OUT
// completion). All fields are little-endian. Isochronous descriptors are not encoded.
#pragma once

#include <time.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ndishost::link {

enum class UsbTransferType : std::uint8_t { Isochronous = 0, Interrupt = 1, Control = 2, Bulk = 3 };

// Linux URB status values (negative errno) as usbmon records them; the bus driver maps
// its USBD_STATUS values onto these.
namespace usbmon_status {
inline constexpr std::int32_t kSuccess = 0;
inline constexpr std::int32_t kInProgress = -115;   // -EINPROGRESS: every submit
inline constexpr std::int32_t kStall = -32;         // -EPIPE: endpoint stalled
inline constexpr std::int32_t kCancelled = -2;      // -ENOENT: unlinked synchronously
inline constexpr std::int32_t kUnlinked = -104;     // -ECONNRESET: unlinked asynchronously
inline constexpr std::int32_t kShutdown = -108;     // -ESHUTDOWN: device or host gone
inline constexpr std::int32_t kNoDevice = -19;      // -ENODEV
inline constexpr std::int32_t kOverflow = -75;      // -EOVERFLOW: babble
inline constexpr std::int32_t kProtocol = -71;      // -EPROTO: bitstuff/CRC/timeout
inline constexpr std::int32_t kShortPacket = -121;  // -EREMOTEIO: short with SHORT_NOT_OK
inline constexpr std::int32_t kTimedOut = -110;     // -ETIMEDOUT
}  // namespace usbmon_status

// Linux URB transfer_flags bits a capture may show.
namespace usbmon_flags {
inline constexpr std::uint32_t kShortNotOk = 0x0001;
inline constexpr std::uint32_t kZeroPacket = 0x0040;
inline constexpr std::uint32_t kDirectionIn = 0x0200;  // added by the builder for IN URBs
}  // namespace usbmon_flags

// What stays the same between an URB's submit and its completion.
struct UsbmonUrb {
  std::uint64_t id = 0;      // unique among URBs in flight, e.g. the URB's address
  std::uint16_t bus = 1;     // bus number
  std::uint8_t device = 1;   // device address on the bus
  std::uint8_t endpoint = 0; // endpoint address, 0x80 set for IN (control: from the setup packet)
  UsbTransferType type = UsbTransferType::Bulk;
  std::int32_t interval = 0;        // polling interval, recorded for interrupt transfers
  std::uint32_t transferFlags = 0;  // usbmon_flags

  bool in() const { return (endpoint & 0x80) != 0; }
};

using UsbSetupPacket = std::array<std::uint8_t, 8>;

class UsbmonEvent {
 public:
  static constexpr std::size_t kHeaderSize = 64;

  // A non-control URB handed to the host controller: `transferLength` is the buffer
  // length; OUT URBs capture `outData` (their payload), IN URBs capture nothing.
  static UsbmonEvent submit(const UsbmonUrb& urb, std::uint32_t transferLength,
                            std::span<const std::byte> outData = {});
  // A control URB: the endpoint's direction and the transfer length come from the setup
  // packet (bmRequestType bit 7, wLength); `outData` is the data stage of an OUT request.
  static UsbmonEvent controlSubmit(UsbmonUrb urb, const UsbSetupPacket& setup,
                                   std::span<const std::byte> outData = {});
  // Completion with `status` (0 or a usbmon_status value) and the bytes transferred; IN
  // URBs capture `inData`. For control URBs pass the urb as returned by controlUrb().
  static UsbmonEvent complete(const UsbmonUrb& urb, std::int32_t status, std::uint32_t actualLength,
                              std::span<const std::byte> inData = {});
  // Submission refused (Linux "E" event).
  static UsbmonEvent submitError(const UsbmonUrb& urb, std::int32_t status);

  // The urb with its endpoint set the way a control transfer with this setup is recorded.
  static UsbmonUrb controlUrb(UsbmonUrb urb, const UsbSetupPacket& setup);

  // Overrides the timestamp (taken from CLOCK_REALTIME when the event is built).
  UsbmonEvent& at(timespec when);

  std::span<const std::byte, kHeaderSize> header() const { return header_; }
  std::span<const std::byte> data() const { return data_; }
  timespec time() const { return time_; }
  // The header with len_cap lowered to `capturedData` bytes (for a snapshot length).
  std::array<std::byte, kHeaderSize> headerCapturing(std::uint32_t capturedData) const;

 private:
  UsbmonEvent(char type, const UsbmonUrb& urb, std::int32_t status, std::uint32_t urbLength,
              std::span<const std::byte> captured, char dataFlag);

  std::array<std::byte, kHeaderSize> header_{};
  std::span<const std::byte> data_;
  timespec time_{};
};

}  // namespace ndishost::link
