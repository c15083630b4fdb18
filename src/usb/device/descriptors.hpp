// USB descriptors: pure builders and parsers.
//
// Builders append the wire form (little-endian, exact bLength) of the standard descriptors
// of USB 2.0 section 9.6 (device, configuration, interface, endpoint, string, device
// qualifier, other-speed configuration), the interface association descriptor (IAD ECN),
// the SuperSpeed endpoint companion and BOS (USB 3.2 section 9.6), and the CDC functional
// descriptors the network functions need (CDC 1.2 section 5.2.3: header, union, call
// management, abstract control management; ECM 1.2 section 5.4: Ethernet networking;
// NCM 1.0 section 5.2.1: NCM functional descriptor).
//
// A device's whole descriptor set is generated from a DeviceIdentity (vendor/product,
// strings, power) and a FunctionLayout (interfaces, alternate settings, endpoints and their
// class-specific descriptors); the same layout tells the device model which endpoints each
// alternate setting activates, so descriptors and behaviour cannot disagree.
//
// Parsers walk descriptor blocks with bounds checks on every field; they are what tests and
// the bus driver (SELECT_CONFIGURATION) use to read a configuration back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "usb/device/usb_types.hpp"

namespace ndishost::usb::device {

// ---- descriptor field sets (host byte order) ----------------------------------------------

struct DeviceDescriptorFields {                 // 18 bytes, USB 2.0 table 9-8
  std::uint16_t bcdUSB = 0x0200;
  std::uint8_t bDeviceClass = 0, bDeviceSubClass = 0, bDeviceProtocol = 0;
  std::uint8_t bMaxPacketSize0 = 64;
  std::uint16_t idVendor = 0, idProduct = 0, bcdDevice = 0;
  std::uint8_t iManufacturer = 0, iProduct = 0, iSerialNumber = 0;
  std::uint8_t bNumConfigurations = 1;
};

struct DeviceQualifierFields {                  // 10 bytes, USB 2.0 table 9-9
  std::uint16_t bcdUSB = 0x0200;
  std::uint8_t bDeviceClass = 0, bDeviceSubClass = 0, bDeviceProtocol = 0;
  std::uint8_t bMaxPacketSize0 = 64;
  std::uint8_t bNumConfigurations = 1;
};

struct ConfigurationDescriptorFields {          // 9 bytes, USB 2.0 table 9-10
  std::uint8_t bDescriptorType = descriptor_type::Configuration;  // or OtherSpeedConfiguration
  std::uint16_t wTotalLength = 0;
  std::uint8_t bNumInterfaces = 0;
  std::uint8_t bConfigurationValue = 1;
  std::uint8_t iConfiguration = 0;
  std::uint8_t bmAttributes = 0x80;             // D7 reserved (one), D6 self-powered, D5 remote wakeup
  std::uint8_t bMaxPower = 50;                  // 2 mA units (8 mA at SuperSpeed)
};

struct InterfaceDescriptorFields {              // 9 bytes, USB 2.0 table 9-12
  std::uint8_t bInterfaceNumber = 0, bAlternateSetting = 0, bNumEndpoints = 0;
  std::uint8_t bInterfaceClass = 0, bInterfaceSubClass = 0, bInterfaceProtocol = 0;
  std::uint8_t iInterface = 0;
};

struct EndpointDescriptorFields {               // 7 bytes, USB 2.0 table 9-13
  std::uint8_t bEndpointAddress = 0;
  std::uint8_t bmAttributes = 0;                // D1..0 transfer type
  std::uint16_t wMaxPacketSize = 0;
  std::uint8_t bInterval = 0;
};

struct InterfaceAssociationFields {             // 8 bytes, IAD ECN table 9-Z
  std::uint8_t bFirstInterface = 0, bInterfaceCount = 0;
  std::uint8_t bFunctionClass = 0, bFunctionSubClass = 0, bFunctionProtocol = 0;
  std::uint8_t iFunction = 0;
};

// ---- low-level appenders --------------------------------------------------------------------

void appendDeviceDescriptor(std::vector<std::byte>& out, const DeviceDescriptorFields& fields);
void appendDeviceQualifier(std::vector<std::byte>& out, const DeviceQualifierFields& fields);
// wTotalLength is written as given; buildConfigurationDescriptor() patches it.
void appendConfigurationDescriptor(std::vector<std::byte>& out,
                                   const ConfigurationDescriptorFields& fields);
void appendInterfaceDescriptor(std::vector<std::byte>& out, const InterfaceDescriptorFields& fields);
void appendEndpointDescriptor(std::vector<std::byte>& out, const EndpointDescriptorFields& fields);
void appendInterfaceAssociation(std::vector<std::byte>& out,
                                const InterfaceAssociationFields& fields);
// SuperSpeed endpoint companion (USB 3.2 table 9-27), 6 bytes.
void appendSuperSpeedCompanion(std::vector<std::byte>& out, std::uint8_t bMaxBurst,
                               std::uint8_t bmAttributes, std::uint16_t wBytesPerInterval);

// CDC functional descriptors (bDescriptorType CS_INTERFACE).
namespace cdc_descriptor_subtype {
inline constexpr std::uint8_t Header = 0x00;
inline constexpr std::uint8_t CallManagement = 0x01;
inline constexpr std::uint8_t AbstractControlManagement = 0x02;
inline constexpr std::uint8_t Union = 0x06;
inline constexpr std::uint8_t EthernetNetworking = 0x0F;
inline constexpr std::uint8_t Ncm = 0x1A;
}  // namespace cdc_descriptor_subtype

void appendCdcHeader(std::vector<std::byte>& out, std::uint16_t bcdCDC);               // 5 bytes
void appendCdcUnion(std::vector<std::byte>& out, std::uint8_t controlInterface,
                    std::span<const std::uint8_t> subordinateInterfaces);              // 4 + n
void appendCdcCallManagement(std::vector<std::byte>& out, std::uint8_t bmCapabilities,
                             std::uint8_t dataInterface);                              // 5 bytes
void appendCdcAbstractControlManagement(std::vector<std::byte>& out,
                                        std::uint8_t bmCapabilities);                  // 4 bytes
void appendCdcEthernetNetworking(std::vector<std::byte>& out, std::uint8_t iMACAddress,
                                 std::uint32_t bmEthernetStatistics,
                                 std::uint16_t wMaxSegmentSize,
                                 std::uint16_t wNumberMCFilters,
                                 std::uint8_t bNumberPowerFilters);                    // 13 bytes
void appendCdcNcm(std::vector<std::byte>& out, std::uint16_t bcdNcmVersion,
                  std::uint8_t bmNetworkCapabilities);                                 // 6 bytes

// ---- strings ------------------------------------------------------------------------------

inline constexpr std::uint16_t LanguageEnglishUs = 0x0409;

// UTF-8 -> UTF-16 (invalid sequences become U+FFFD).
std::u16string utf8ToUtf16(std::string_view utf8);
// STRING descriptor with the given UTF-16 text (UTF-16LE on the wire). Text longer than
// the 126 code units a descriptor can hold is cut.
std::vector<std::byte> buildStringDescriptor(std::u16string_view text);
// String descriptor zero: the supported LANGIDs.
std::vector<std::byte> buildLanguageIdDescriptor(std::span<const std::uint16_t> languageIds);

// String indices 1..n of one device, in the order strings were added.
class StringTable {
 public:
  // Returns the index of the new string; 0 (no string) for empty text.
  std::uint8_t add(std::u16string text);
  std::uint8_t add(std::string_view utf8) { return add(utf8ToUtf16(utf8)); }
  // Nullptr for index 0 or an unknown index.
  const std::u16string* find(std::uint8_t index) const;
  std::size_t size() const { return strings_.size(); }

 private:
  std::vector<std::u16string> strings_;
};

// ---- device layout ------------------------------------------------------------------------

struct EndpointSpec {
  std::uint8_t address = 0;
  EndpointType type = EndpointType::Bulk;
  std::uint16_t maxPacketFull = 64, maxPacketHigh = 512, maxPacketSuper = 1024;
  std::uint8_t intervalFull = 0, intervalHigh = 0, intervalSuper = 0;  // bInterval encodings

  std::uint16_t maxPacketSize(Speed speed) const;
  std::uint8_t interval(Speed speed) const;

  // Bulk endpoint: 64 bytes at full speed, 512 at high speed, 1024 at SuperSpeed (the only
  // legal values at high and SuperSpeed).
  static EndpointSpec bulk(std::uint8_t address);
  // Interrupt endpoint polled about every periodMs milliseconds (1..255). Full speed
  // bInterval is in frames; high and SuperSpeed use 2^(bInterval-1) microframes.
  static EndpointSpec interrupt(std::uint8_t address, std::uint16_t maxPacketSize,
                                unsigned periodMs);
};

struct AlternateSettingSpec {
  std::uint8_t alternateSetting = 0;
  std::uint8_t interfaceClass = 0, interfaceSubClass = 0, interfaceProtocol = 0;
  std::uint8_t iInterface = 0;
  std::vector<std::byte> classDescriptors;     // placed after the interface descriptor
  std::vector<EndpointSpec> endpoints;
};

struct InterfaceSpec {
  std::uint8_t number = 0;
  std::vector<AlternateSettingSpec> alternates;  // alternates[0] is alternate setting 0

  const AlternateSettingSpec* alternate(std::uint8_t alternateSetting) const;
};

struct FunctionLayout {
  // Device class triple for the device descriptor: 0/0/0 defers to the interfaces; 02/00/00
  // (CDC) for a single CDC function; EF/02/01 when an IAD groups the interfaces.
  std::uint8_t deviceClass = 0, deviceSubClass = 0, deviceProtocol = 0;
  std::optional<InterfaceAssociationFields> association;
  std::vector<InterfaceSpec> interfaces;

  const InterfaceSpec* interface(std::uint8_t number) const;
};

struct DeviceIdentity {
  std::uint16_t vendorId = 0x1209;   // pid.codes, for open-source projects
  std::uint16_t productId = 0x0001;
  std::uint16_t bcdDevice = 0x0100;
  std::string manufacturer = "ndishost";
  std::string product = "Emulated USB network function";
  std::string serialNumber = "0001";
  bool selfPowered = true;
  bool remoteWakeupCapable = false;
  std::uint16_t maxPowerMilliamps = 100;
};

struct StringIndices {
  std::uint8_t manufacturer = 0, product = 0, serialNumber = 0;
};

// The device descriptor as seen at `speed`.
std::vector<std::byte> buildDeviceDescriptor(const DeviceIdentity& identity,
                                             const FunctionLayout& layout,
                                             const StringIndices& strings, Speed speed);
// The configuration (bConfigurationValue 1) with every interface, alternate setting,
// class-specific descriptor and endpoint, as it reads at `speed`; wTotalLength patched.
// descriptorType is Configuration, or OtherSpeedConfiguration for the other-speed view.
std::vector<std::byte> buildConfigurationDescriptor(
    const DeviceIdentity& identity, const FunctionLayout& layout, Speed speed,
    std::uint8_t descriptorType = descriptor_type::Configuration);
// The device qualifier a high-speed-capable device returns while at `speed` (Full/High):
// it describes the device at the other speed.
std::vector<std::byte> buildDeviceQualifier(const DeviceIdentity& identity,
                                            const FunctionLayout& layout, Speed speed);
// BOS with the USB 2.0 extension and the SuperSpeed USB device capability.
std::vector<std::byte> buildBosDescriptor();

// The speed a high-speed-capable device's other-speed descriptors describe.
inline Speed otherSpeed(Speed speed) { return speed == Speed::High ? Speed::Full : Speed::High; }

// ---- parsers ------------------------------------------------------------------------------

std::optional<DeviceDescriptorFields> parseDeviceDescriptor(std::span<const std::byte> bytes);
std::optional<DeviceQualifierFields> parseDeviceQualifier(std::span<const std::byte> bytes);
// The text of a string descriptor (not descriptor zero).
std::optional<std::u16string> parseStringDescriptor(std::span<const std::byte> bytes);

enum class DescriptorError : std::uint8_t {
  None,
  TooShort,               // fewer bytes than a configuration descriptor
  NotConfiguration,       // first descriptor is not CONFIGURATION/OTHER_SPEED_CONFIGURATION
  BadLength,              // a bLength < 2, or a descriptor running past the end
  TotalLengthMismatch,    // wTotalLength != bytes given
  BadFixedLength,         // a standard descriptor whose bLength is too small for its fields
  EndpointOutsideInterface,
  EndpointCountMismatch,  // bNumEndpoints != endpoint descriptors that follow
  InterfaceCountMismatch, // bNumInterfaces != distinct interface numbers
  DuplicateAlternate,
};

std::string_view toString(DescriptorError error);

struct ParsedEndpoint {
  EndpointDescriptorFields fields;
  std::optional<std::span<const std::byte>> superSpeedCompanion;
  EndpointType type() const { return static_cast<EndpointType>(fields.bmAttributes & 0x3); }
};

struct ParsedAlternateSetting {
  InterfaceDescriptorFields fields;
  std::vector<std::span<const std::byte>> classDescriptors;  // CS_INTERFACE etc., in order
  std::vector<ParsedEndpoint> endpoints;
};

struct ParsedConfiguration {
  ConfigurationDescriptorFields fields;
  std::vector<InterfaceAssociationFields> associations;
  std::vector<ParsedAlternateSetting> alternates;  // in descriptor order

  const ParsedAlternateSetting* find(std::uint8_t interfaceNumber,
                                     std::uint8_t alternateSetting) const;
};

struct ConfigurationParseResult {
  DescriptorError error = DescriptorError::None;
  std::size_t errorOffset = 0;
  ParsedConfiguration configuration;  // valid when error == None; views into the input
};

ConfigurationParseResult parseConfigurationDescriptor(std::span<const std::byte> bytes);

}  // namespace ndishost::usb::device
