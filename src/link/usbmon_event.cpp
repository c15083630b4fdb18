#include "link/usbmon_event.hpp"

#include <algorithm>

namespace ndishost::link {
namespace {

// Header offsets (Linux usbmon binary header).
constexpr std::size_t kId = 0, kType = 8, kTransferType = 9, kEndpoint = 10, kDevice = 11, kBus = 12,
                      kSetupFlag = 14, kDataFlag = 15, kSeconds = 16, kMicroseconds = 24, kStatus = 28,
                      kUrbLength = 32, kCapturedLength = 36, kSetup = 40, kInterval = 48, kStartFrame = 52,
                      kTransferFlags = 56, kDescriptors = 60;
// A flag byte of 0 means "present"; these characters mean "not applicable".
constexpr char kNotApplicable = '-';
constexpr char kInNotYetTransferred = '<';
constexpr char kOutAlreadyTransferred = '>';
constexpr char kErrorEvent = 'E';

template <typename T>
void putLittleEndian(std::array<std::byte, UsbmonEvent::kHeaderSize>& header, std::size_t offset, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    header[offset + i] = static_cast<std::byte>(bits & 0xff);
    bits = static_cast<std::make_unsigned_t<T>>(bits >> 8);
  }
}

timespec now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

}  // namespace

UsbmonEvent::UsbmonEvent(char type, const UsbmonUrb& urb, std::int32_t status, std::uint32_t urbLength,
                         std::span<const std::byte> captured, char dataFlag)
    : data_(captured), time_(now()) {
  putLittleEndian(header_, kId, urb.id);
  header_[kType] = static_cast<std::byte>(type);
  header_[kTransferType] = static_cast<std::byte>(urb.type);
  header_[kEndpoint] = static_cast<std::byte>(urb.endpoint);
  header_[kDevice] = static_cast<std::byte>(urb.device);
  putLittleEndian(header_, kBus, urb.bus);
  header_[kSetupFlag] = static_cast<std::byte>(kNotApplicable);
  header_[kDataFlag] = static_cast<std::byte>(captured.empty() ? dataFlag : 0);
  putLittleEndian(header_, kStatus, status);
  putLittleEndian(header_, kUrbLength, urbLength);
  putLittleEndian(header_, kCapturedLength, static_cast<std::uint32_t>(captured.size()));
  if (urb.type == UsbTransferType::Interrupt || urb.type == UsbTransferType::Isochronous)
    putLittleEndian(header_, kInterval, urb.interval);
  putLittleEndian(header_, kStartFrame, std::int32_t{0});
  putLittleEndian(header_, kTransferFlags, urb.transferFlags | (urb.in() ? usbmon_flags::kDirectionIn : 0u));
  putLittleEndian(header_, kDescriptors, std::uint32_t{0});
  at(time_);
}

UsbmonEvent UsbmonEvent::submit(const UsbmonUrb& urb, std::uint32_t transferLength,
                                std::span<const std::byte> outData) {
  if (urb.in()) return {'S', urb, usbmon_status::kInProgress, transferLength, {}, kInNotYetTransferred};
  return {'S', urb, usbmon_status::kInProgress, transferLength, outData.first(std::min<std::size_t>(outData.size(), transferLength)), 0};
}

UsbmonUrb UsbmonEvent::controlUrb(UsbmonUrb urb, const UsbSetupPacket& setup) {
  urb.type = UsbTransferType::Control;
  urb.endpoint = static_cast<std::uint8_t>((urb.endpoint & 0x7f) | (setup[0] & 0x80));
  return urb;
}

UsbmonEvent UsbmonEvent::controlSubmit(UsbmonUrb urb, const UsbSetupPacket& setup, std::span<const std::byte> outData) {
  urb = controlUrb(urb, setup);
  const std::uint32_t wLength = static_cast<std::uint32_t>(setup[6] | (setup[7] << 8));
  UsbmonEvent event = submit(urb, wLength, outData);
  event.header_[kSetupFlag] = std::byte{0};
  for (std::size_t i = 0; i < setup.size(); ++i) event.header_[kSetup + i] = static_cast<std::byte>(setup[i]);
  return event;
}

UsbmonEvent UsbmonEvent::complete(const UsbmonUrb& urb, std::int32_t status, std::uint32_t actualLength,
                                  std::span<const std::byte> inData) {
  if (!urb.in()) return {'C', urb, status, actualLength, {}, kOutAlreadyTransferred};
  return {'C', urb, status, actualLength, inData.first(std::min<std::size_t>(inData.size(), actualLength)), 0};
}

UsbmonEvent UsbmonEvent::submitError(const UsbmonUrb& urb, std::int32_t status) {
  return {'E', urb, status, 0, {}, kErrorEvent};
}

UsbmonEvent& UsbmonEvent::at(timespec when) {
  time_ = when;
  putLittleEndian(header_, kSeconds, static_cast<std::int64_t>(when.tv_sec));
  putLittleEndian(header_, kMicroseconds, static_cast<std::int32_t>(when.tv_nsec / 1000));
  return *this;
}

std::array<std::byte, UsbmonEvent::kHeaderSize> UsbmonEvent::headerCapturing(std::uint32_t capturedData) const {
  auto header = header_;
  putLittleEndian(header, kCapturedLength, capturedData);
  return header;
}

}  // namespace ndishost::link
