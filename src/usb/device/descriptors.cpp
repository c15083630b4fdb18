#include "usb/device/descriptors.hpp"

#include <algorithm>
#include <bit>
#include <set>
#include <utility>

#include "usb/device/byte_io.hpp"

namespace ndishost::usb::device {

namespace {

constexpr std::size_t DeviceDescriptorLength = 18;
constexpr std::size_t DeviceQualifierLength = 10;
constexpr std::size_t ConfigurationDescriptorLength = 9;
constexpr std::size_t InterfaceDescriptorLength = 9;
constexpr std::size_t EndpointDescriptorLength = 7;
constexpr std::size_t InterfaceAssociationLength = 8;
constexpr std::size_t MaxStringCodeUnits = 126;  // bLength is one byte: (255 - 2) / 2

}  // namespace

// ---- appenders ------------------------------------------------------------------------------

void appendDeviceDescriptor(std::vector<std::byte>& out, const DeviceDescriptorFields& f) {
  ByteWriter(out)
      .u8(DeviceDescriptorLength)
      .u8(descriptor_type::Device)
      .le16(f.bcdUSB)
      .u8(f.bDeviceClass)
      .u8(f.bDeviceSubClass)
      .u8(f.bDeviceProtocol)
      .u8(f.bMaxPacketSize0)
      .le16(f.idVendor)
      .le16(f.idProduct)
      .le16(f.bcdDevice)
      .u8(f.iManufacturer)
      .u8(f.iProduct)
      .u8(f.iSerialNumber)
      .u8(f.bNumConfigurations);
}

void appendDeviceQualifier(std::vector<std::byte>& out, const DeviceQualifierFields& f) {
  ByteWriter(out)
      .u8(DeviceQualifierLength)
      .u8(descriptor_type::DeviceQualifier)
      .le16(f.bcdUSB)
      .u8(f.bDeviceClass)
      .u8(f.bDeviceSubClass)
      .u8(f.bDeviceProtocol)
      .u8(f.bMaxPacketSize0)
      .u8(f.bNumConfigurations)
      .u8(0);  // bReserved
}

void appendConfigurationDescriptor(std::vector<std::byte>& out,
                                   const ConfigurationDescriptorFields& f) {
  ByteWriter(out)
      .u8(ConfigurationDescriptorLength)
      .u8(f.bDescriptorType)
      .le16(f.wTotalLength)
      .u8(f.bNumInterfaces)
      .u8(f.bConfigurationValue)
      .u8(f.iConfiguration)
      .u8(f.bmAttributes)
      .u8(f.bMaxPower);
}

void appendInterfaceDescriptor(std::vector<std::byte>& out, const InterfaceDescriptorFields& f) {
  ByteWriter(out)
      .u8(InterfaceDescriptorLength)
      .u8(descriptor_type::Interface)
      .u8(f.bInterfaceNumber)
      .u8(f.bAlternateSetting)
      .u8(f.bNumEndpoints)
      .u8(f.bInterfaceClass)
      .u8(f.bInterfaceSubClass)
      .u8(f.bInterfaceProtocol)
      .u8(f.iInterface);
}

void appendEndpointDescriptor(std::vector<std::byte>& out, const EndpointDescriptorFields& f) {
  ByteWriter(out)
      .u8(EndpointDescriptorLength)
      .u8(descriptor_type::Endpoint)
      .u8(f.bEndpointAddress)
      .u8(f.bmAttributes)
      .le16(f.wMaxPacketSize)
      .u8(f.bInterval);
}

void appendInterfaceAssociation(std::vector<std::byte>& out, const InterfaceAssociationFields& f) {
  ByteWriter(out)
      .u8(InterfaceAssociationLength)
      .u8(descriptor_type::InterfaceAssociation)
      .u8(f.bFirstInterface)
      .u8(f.bInterfaceCount)
      .u8(f.bFunctionClass)
      .u8(f.bFunctionSubClass)
      .u8(f.bFunctionProtocol)
      .u8(f.iFunction);
}

void appendSuperSpeedCompanion(std::vector<std::byte>& out, std::uint8_t bMaxBurst,
                               std::uint8_t bmAttributes, std::uint16_t wBytesPerInterval) {
  ByteWriter(out)
      .u8(6)
      .u8(descriptor_type::SuperSpeedEndpointCompanion)
      .u8(bMaxBurst)
      .u8(bmAttributes)
      .le16(wBytesPerInterval);
}

void appendCdcHeader(std::vector<std::byte>& out, std::uint16_t bcdCDC) {
  ByteWriter(out)
      .u8(5)
      .u8(descriptor_type::CsInterface)
      .u8(cdc_descriptor_subtype::Header)
      .le16(bcdCDC);
}

void appendCdcUnion(std::vector<std::byte>& out, std::uint8_t controlInterface,
                    std::span<const std::uint8_t> subordinateInterfaces) {
  ByteWriter writer(out);
  writer.u8(static_cast<std::uint8_t>(4 + subordinateInterfaces.size()))
      .u8(descriptor_type::CsInterface)
      .u8(cdc_descriptor_subtype::Union)
      .u8(controlInterface);
  for (std::uint8_t subordinate : subordinateInterfaces) writer.u8(subordinate);
}

void appendCdcCallManagement(std::vector<std::byte>& out, std::uint8_t bmCapabilities,
                             std::uint8_t dataInterface) {
  ByteWriter(out)
      .u8(5)
      .u8(descriptor_type::CsInterface)
      .u8(cdc_descriptor_subtype::CallManagement)
      .u8(bmCapabilities)
      .u8(dataInterface);
}

void appendCdcAbstractControlManagement(std::vector<std::byte>& out, std::uint8_t bmCapabilities) {
  ByteWriter(out)
      .u8(4)
      .u8(descriptor_type::CsInterface)
      .u8(cdc_descriptor_subtype::AbstractControlManagement)
      .u8(bmCapabilities);
}

void appendCdcEthernetNetworking(std::vector<std::byte>& out, std::uint8_t iMACAddress,
                                 std::uint32_t bmEthernetStatistics,
                                 std::uint16_t wMaxSegmentSize, std::uint16_t wNumberMCFilters,
                                 std::uint8_t bNumberPowerFilters) {
  ByteWriter(out)
      .u8(13)
      .u8(descriptor_type::CsInterface)
      .u8(cdc_descriptor_subtype::EthernetNetworking)
      .u8(iMACAddress)
      .le32(bmEthernetStatistics)
      .le16(wMaxSegmentSize)
      .le16(wNumberMCFilters)
      .u8(bNumberPowerFilters);
}

void appendCdcNcm(std::vector<std::byte>& out, std::uint16_t bcdNcmVersion,
                  std::uint8_t bmNetworkCapabilities) {
  ByteWriter(out)
      .u8(6)
      .u8(descriptor_type::CsInterface)
      .u8(cdc_descriptor_subtype::Ncm)
      .le16(bcdNcmVersion)
      .u8(bmNetworkCapabilities);
}

// ---- strings --------------------------------------------------------------------------------

std::u16string utf8ToUtf16(std::string_view utf8) {
  std::u16string out;
  out.reserve(utf8.size());
  std::size_t i = 0;
  auto byteAt = [&](std::size_t k) { return static_cast<unsigned char>(utf8[k]); };
  while (i < utf8.size()) {
    unsigned lead = byteAt(i);
    char32_t cp = 0xFFFD;
    std::size_t extra = 0;
    char32_t minimum = 0;
    if (lead < 0x80) {
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      cp = lead & 0x1F, extra = 1, minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      cp = lead & 0x0F, extra = 2, minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      cp = lead & 0x07, extra = 3, minimum = 0x10000;
    } else {
      out.push_back(u'\uFFFD');
      ++i;
      continue;
    }
    bool valid = i + extra < utf8.size();  // every continuation byte is present
    for (std::size_t k = 1; valid && k <= extra; ++k) {
      unsigned next = byteAt(i + k);
      if ((next & 0xC0) != 0x80) valid = false;
      else cp = (cp << 6) | (next & 0x3F);
    }
    if (!valid || (extra && cp < minimum) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out.push_back(u'\uFFFD');
      ++i;
      continue;
    }
    i += extra + 1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

std::vector<std::byte> buildStringDescriptor(std::u16string_view text) {
  text = text.substr(0, std::min(text.size(), MaxStringCodeUnits));
  std::vector<std::byte> out;
  ByteWriter writer(out);
  writer.u8(static_cast<std::uint8_t>(2 + 2 * text.size())).u8(descriptor_type::String);
  for (char16_t unit : text) writer.le16(static_cast<std::uint16_t>(unit));
  return out;
}

std::vector<std::byte> buildLanguageIdDescriptor(std::span<const std::uint16_t> languageIds) {
  std::vector<std::byte> out;
  ByteWriter writer(out);
  std::size_t count = std::min<std::size_t>(languageIds.size(), MaxStringCodeUnits);
  writer.u8(static_cast<std::uint8_t>(2 + 2 * count)).u8(descriptor_type::String);
  for (std::size_t i = 0; i < count; ++i) writer.le16(languageIds[i]);
  return out;
}

std::uint8_t StringTable::add(std::u16string text) {
  if (text.empty() || strings_.size() >= 255) return 0;
  strings_.push_back(std::move(text));
  return static_cast<std::uint8_t>(strings_.size());
}

const std::u16string* StringTable::find(std::uint8_t index) const {
  if (index == 0 || index > strings_.size()) return nullptr;
  return &strings_[index - 1];
}

// ---- layout ---------------------------------------------------------------------------------

std::uint16_t EndpointSpec::maxPacketSize(Speed speed) const {
  switch (speed) {
    case Speed::Full: return maxPacketFull;
    case Speed::High: return maxPacketHigh;
    case Speed::Super: return maxPacketSuper;
  }
  return maxPacketFull;
}

std::uint8_t EndpointSpec::interval(Speed speed) const {
  switch (speed) {
    case Speed::Full: return intervalFull;
    case Speed::High: return intervalHigh;
    case Speed::Super: return intervalSuper;
  }
  return intervalFull;
}

EndpointSpec EndpointSpec::bulk(std::uint8_t address) {
  EndpointSpec spec;
  spec.address = address;
  spec.type = EndpointType::Bulk;
  spec.maxPacketFull = 64;
  spec.maxPacketHigh = 512;
  spec.maxPacketSuper = 1024;
  return spec;
}

EndpointSpec EndpointSpec::interrupt(std::uint8_t address, std::uint16_t maxPacketSize,
                                     unsigned periodMs) {
  periodMs = std::clamp(periodMs, 1u, 255u);
  EndpointSpec spec;
  spec.address = address;
  spec.type = EndpointType::Interrupt;
  spec.maxPacketFull = std::min<std::uint16_t>(maxPacketSize, 64);
  spec.maxPacketHigh = maxPacketSize;
  spec.maxPacketSuper = maxPacketSize;
  spec.intervalFull = static_cast<std::uint8_t>(periodMs);
  // 2^(bInterval-1) microframes of 125 us: the largest power of two not above the period.
  unsigned microframes = periodMs * 8;
  unsigned exponent = static_cast<unsigned>(std::bit_width(microframes)) - 1;
  spec.intervalHigh = static_cast<std::uint8_t>(std::min(exponent + 1, 16u));
  spec.intervalSuper = spec.intervalHigh;
  return spec;
}

const AlternateSettingSpec* InterfaceSpec::alternate(std::uint8_t alternateSetting) const {
  for (const auto& alt : alternates)
    if (alt.alternateSetting == alternateSetting) return &alt;
  return nullptr;
}

const InterfaceSpec* FunctionLayout::interface(std::uint8_t number) const {
  for (const auto& intf : interfaces)
    if (intf.number == number) return &intf;
  return nullptr;
}

std::vector<std::byte> buildDeviceDescriptor(const DeviceIdentity& identity,
                                             const FunctionLayout& layout,
                                             const StringIndices& strings, Speed speed) {
  DeviceDescriptorFields f;
  f.bcdUSB = speed == Speed::Super ? 0x0320 : 0x0200;
  f.bDeviceClass = layout.deviceClass;
  f.bDeviceSubClass = layout.deviceSubClass;
  f.bDeviceProtocol = layout.deviceProtocol;
  f.bMaxPacketSize0 = speed == Speed::Super ? 9 : 64;  // SuperSpeed: 2^9 = 512
  f.idVendor = identity.vendorId;
  f.idProduct = identity.productId;
  f.bcdDevice = identity.bcdDevice;
  f.iManufacturer = strings.manufacturer;
  f.iProduct = strings.product;
  f.iSerialNumber = strings.serialNumber;
  f.bNumConfigurations = 1;
  std::vector<std::byte> out;
  appendDeviceDescriptor(out, f);
  return out;
}

std::vector<std::byte> buildConfigurationDescriptor(const DeviceIdentity& identity,
                                                    const FunctionLayout& layout, Speed speed,
                                                    std::uint8_t descriptorType) {
  std::vector<std::byte> out;
  ConfigurationDescriptorFields config;
  config.bDescriptorType = descriptorType;
  config.bNumInterfaces = static_cast<std::uint8_t>(layout.interfaces.size());
  config.bConfigurationValue = 1;
  config.bmAttributes = static_cast<std::uint8_t>(0x80 | (identity.selfPowered ? 0x40 : 0) |
                                                  (identity.remoteWakeupCapable ? 0x20 : 0));
  unsigned unit = speed == Speed::Super ? 8 : 2;
  config.bMaxPower = static_cast<std::uint8_t>(
      std::min<unsigned>((identity.maxPowerMilliamps + unit - 1) / unit, 255));
  appendConfigurationDescriptor(out, config);
  if (layout.association) appendInterfaceAssociation(out, *layout.association);
  for (const auto& intf : layout.interfaces) {
    for (const auto& alt : intf.alternates) {
      InterfaceDescriptorFields fields;
      fields.bInterfaceNumber = intf.number;
      fields.bAlternateSetting = alt.alternateSetting;
      fields.bNumEndpoints = static_cast<std::uint8_t>(alt.endpoints.size());
      fields.bInterfaceClass = alt.interfaceClass;
      fields.bInterfaceSubClass = alt.interfaceSubClass;
      fields.bInterfaceProtocol = alt.interfaceProtocol;
      fields.iInterface = alt.iInterface;
      appendInterfaceDescriptor(out, fields);
      out.insert(out.end(), alt.classDescriptors.begin(), alt.classDescriptors.end());
      for (const auto& ep : alt.endpoints) {
        EndpointDescriptorFields epFields;
        epFields.bEndpointAddress = ep.address;
        epFields.bmAttributes = static_cast<std::uint8_t>(ep.type);
        epFields.wMaxPacketSize = ep.maxPacketSize(speed);
        epFields.bInterval = ep.interval(speed);
        appendEndpointDescriptor(out, epFields);
        if (speed == Speed::Super) {
          std::uint16_t bytesPerInterval =
              ep.type == EndpointType::Interrupt ? ep.maxPacketSize(speed) : 0;
          appendSuperSpeedCompanion(out, 0, 0, bytesPerInterval);
        }
      }
    }
  }
  writeLe16(out, 2, static_cast<std::uint16_t>(out.size()));
  return out;
}

std::vector<std::byte> buildDeviceQualifier(const DeviceIdentity&, const FunctionLayout& layout,
                                            Speed) {
  DeviceQualifierFields f;
  f.bcdUSB = 0x0200;
  f.bDeviceClass = layout.deviceClass;
  f.bDeviceSubClass = layout.deviceSubClass;
  f.bDeviceProtocol = layout.deviceProtocol;
  f.bMaxPacketSize0 = 64;
  f.bNumConfigurations = 1;
  std::vector<std::byte> out;
  appendDeviceQualifier(out, f);
  return out;
}

std::vector<std::byte> buildBosDescriptor() {
  std::vector<std::byte> out;
  ByteWriter writer(out);
  writer.u8(5).u8(descriptor_type::Bos).le16(0).u8(2);
  // USB 2.0 extension (capability type 2): no LPM.
  writer.u8(7).u8(descriptor_type::DeviceCapability).u8(2).le32(0);
  // SuperSpeed USB (capability type 3): full, high and SuperSpeed; fully functional from
  // full speed; exit latencies the emulation can trivially meet.
  writer.u8(10).u8(descriptor_type::DeviceCapability).u8(3).u8(0).le16(0x000E).u8(1).u8(0x0A).le16(
      0x0020);
  writeLe16(out, 2, static_cast<std::uint16_t>(out.size()));
  return out;
}

// ---- parsers --------------------------------------------------------------------------------

std::optional<DeviceDescriptorFields> parseDeviceDescriptor(std::span<const std::byte> b) {
  if (b.size() < DeviceDescriptorLength || readU8(b, 0) < DeviceDescriptorLength ||
      readU8(b, 1) != descriptor_type::Device)
    return std::nullopt;
  DeviceDescriptorFields f;
  f.bcdUSB = readLe16(b, 2);
  f.bDeviceClass = readU8(b, 4);
  f.bDeviceSubClass = readU8(b, 5);
  f.bDeviceProtocol = readU8(b, 6);
  f.bMaxPacketSize0 = readU8(b, 7);
  f.idVendor = readLe16(b, 8);
  f.idProduct = readLe16(b, 10);
  f.bcdDevice = readLe16(b, 12);
  f.iManufacturer = readU8(b, 14);
  f.iProduct = readU8(b, 15);
  f.iSerialNumber = readU8(b, 16);
  f.bNumConfigurations = readU8(b, 17);
  return f;
}

std::optional<DeviceQualifierFields> parseDeviceQualifier(std::span<const std::byte> b) {
  if (b.size() < DeviceQualifierLength || readU8(b, 0) < DeviceQualifierLength ||
      readU8(b, 1) != descriptor_type::DeviceQualifier)
    return std::nullopt;
  DeviceQualifierFields f;
  f.bcdUSB = readLe16(b, 2);
  f.bDeviceClass = readU8(b, 4);
  f.bDeviceSubClass = readU8(b, 5);
  f.bDeviceProtocol = readU8(b, 6);
  f.bMaxPacketSize0 = readU8(b, 7);
  f.bNumConfigurations = readU8(b, 8);
  return f;
}

std::optional<std::u16string> parseStringDescriptor(std::span<const std::byte> b) {
  if (b.size() < 2) return std::nullopt;
  std::size_t length = readU8(b, 0);
  if (length < 2 || length > b.size() || (length & 1) != 0 ||
      readU8(b, 1) != descriptor_type::String)
    return std::nullopt;
  std::u16string text;
  for (std::size_t i = 2; i + 1 < length; i += 2) text.push_back(static_cast<char16_t>(readLe16(b, i)));
  return text;
}

std::string_view toString(DescriptorError error) {
  switch (error) {
    case DescriptorError::None: return "None";
    case DescriptorError::TooShort: return "TooShort";
    case DescriptorError::NotConfiguration: return "NotConfiguration";
    case DescriptorError::BadLength: return "BadLength";
    case DescriptorError::TotalLengthMismatch: return "TotalLengthMismatch";
    case DescriptorError::BadFixedLength: return "BadFixedLength";
    case DescriptorError::EndpointOutsideInterface: return "EndpointOutsideInterface";
    case DescriptorError::EndpointCountMismatch: return "EndpointCountMismatch";
    case DescriptorError::InterfaceCountMismatch: return "InterfaceCountMismatch";
    case DescriptorError::DuplicateAlternate: return "DuplicateAlternate";
  }
  return "?";
}

const ParsedAlternateSetting* ParsedConfiguration::find(std::uint8_t interfaceNumber,
                                                        std::uint8_t alternateSetting) const {
  for (const auto& alt : alternates)
    if (alt.fields.bInterfaceNumber == interfaceNumber &&
        alt.fields.bAlternateSetting == alternateSetting)
      return &alt;
  return nullptr;
}

ConfigurationParseResult parseConfigurationDescriptor(std::span<const std::byte> b) {
  ConfigurationParseResult result;
  auto fail = [&](DescriptorError error, std::size_t offset) {
    result.error = error;
    result.errorOffset = offset;
    result.configuration = {};
    return result;
  };
  if (b.size() < ConfigurationDescriptorLength) return fail(DescriptorError::TooShort, 0);
  std::uint8_t type = readU8(b, 1);
  if (type != descriptor_type::Configuration && type != descriptor_type::OtherSpeedConfiguration)
    return fail(DescriptorError::NotConfiguration, 0);
  if (readU8(b, 0) < ConfigurationDescriptorLength) return fail(DescriptorError::BadFixedLength, 0);

  auto& config = result.configuration;
  config.fields.bDescriptorType = type;
  config.fields.wTotalLength = readLe16(b, 2);
  config.fields.bNumInterfaces = readU8(b, 4);
  config.fields.bConfigurationValue = readU8(b, 5);
  config.fields.iConfiguration = readU8(b, 6);
  config.fields.bmAttributes = readU8(b, 7);
  config.fields.bMaxPower = readU8(b, 8);
  if (config.fields.wTotalLength != b.size())
    return fail(DescriptorError::TotalLengthMismatch, 2);

  std::size_t offset = readU8(b, 0);
  ParsedAlternateSetting* current = nullptr;
  std::vector<std::size_t> interfaceOffsets;
  while (offset < b.size()) {
    if (b.size() - offset < 2) return fail(DescriptorError::BadLength, offset);
    std::size_t length = readU8(b, offset);
    if (length < 2 || length > b.size() - offset) return fail(DescriptorError::BadLength, offset);
    auto d = b.subspan(offset, length);
    switch (readU8(d, 1)) {
      case descriptor_type::Interface: {
        if (length < InterfaceDescriptorLength) return fail(DescriptorError::BadFixedLength, offset);
        ParsedAlternateSetting alt;
        alt.fields.bInterfaceNumber = readU8(d, 2);
        alt.fields.bAlternateSetting = readU8(d, 3);
        alt.fields.bNumEndpoints = readU8(d, 4);
        alt.fields.bInterfaceClass = readU8(d, 5);
        alt.fields.bInterfaceSubClass = readU8(d, 6);
        alt.fields.bInterfaceProtocol = readU8(d, 7);
        alt.fields.iInterface = readU8(d, 8);
        if (config.find(alt.fields.bInterfaceNumber, alt.fields.bAlternateSetting))
          return fail(DescriptorError::DuplicateAlternate, offset);
        config.alternates.push_back(std::move(alt));
        interfaceOffsets.push_back(offset);
        current = &config.alternates.back();
        break;
      }
      case descriptor_type::Endpoint: {
        if (!current) return fail(DescriptorError::EndpointOutsideInterface, offset);
        if (length < EndpointDescriptorLength) return fail(DescriptorError::BadFixedLength, offset);
        ParsedEndpoint ep;
        ep.fields.bEndpointAddress = readU8(d, 2);
        ep.fields.bmAttributes = readU8(d, 3);
        ep.fields.wMaxPacketSize = readLe16(d, 4);
        ep.fields.bInterval = readU8(d, 6);
        current->endpoints.push_back(ep);
        break;
      }
      case descriptor_type::SuperSpeedEndpointCompanion:
        if (!current || current->endpoints.empty())
          return fail(DescriptorError::EndpointOutsideInterface, offset);
        current->endpoints.back().superSpeedCompanion = d;
        break;
      case descriptor_type::InterfaceAssociation: {
        if (length < InterfaceAssociationLength)
          return fail(DescriptorError::BadFixedLength, offset);
        InterfaceAssociationFields iad;
        iad.bFirstInterface = readU8(d, 2);
        iad.bInterfaceCount = readU8(d, 3);
        iad.bFunctionClass = readU8(d, 4);
        iad.bFunctionSubClass = readU8(d, 5);
        iad.bFunctionProtocol = readU8(d, 6);
        iad.iFunction = readU8(d, 7);
        config.associations.push_back(iad);
        // An IAD starts a new function: class descriptors after it are not the previous
        // interface's.
        current = nullptr;
        break;
      }
      default:
        if (current) current->classDescriptors.push_back(d);
        break;
    }
    offset += length;
  }

  std::set<std::uint8_t> interfaceNumbers;
  for (std::size_t i = 0; i < config.alternates.size(); ++i) {
    const auto& alt = config.alternates[i];
    if (alt.endpoints.size() != alt.fields.bNumEndpoints)
      return fail(DescriptorError::EndpointCountMismatch, interfaceOffsets[i]);
    interfaceNumbers.insert(alt.fields.bInterfaceNumber);
  }
  if (interfaceNumbers.size() != config.fields.bNumInterfaces)
    return fail(DescriptorError::InterfaceCountMismatch, 4);
  return result;
}

}  // namespace ndishost::usb::device
