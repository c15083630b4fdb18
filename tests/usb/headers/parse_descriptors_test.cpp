// The USBD descriptor parsers over the bytes a CDC-NCM function returns for its
// configuration: an IAD, the communication interface with its functional descriptors and
// notification endpoint, and the data interface with an empty alternate setting 0 and the
// bulk pair in alternate setting 1. Buffers are exactly as long as the bytes, so a read past
// the end shows under ASan.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <wdm.h>
#include <usbdlib.h>

#include "ncm_configuration.hpp"

namespace {

using namespace usbd_test;

TEST(UsbdParse, TheGuidesInterfaceLoopFindsEachInterfacesFirstSetting) {
  Configuration config;
  ASSERT_EQ(config.bytes.size(), config.descriptor()->wTotalLength);
  PVOID start = config.descriptor();
  std::vector<std::size_t> found;
  for (int i = 0; i < config.descriptor()->bNumInterfaces; ++i) {
    PUSB_INTERFACE_DESCRIPTOR interface =
        USBD_ParseConfigurationDescriptorEx(config.descriptor(), start, -1, 0, -1, -1, -1);
    ASSERT_NE(interface, nullptr);
    found.push_back(config.offsetOf(interface));
    start = reinterpret_cast<PUCHAR>(interface) + interface->bLength;
  }
  EXPECT_EQ(found, (std::vector<std::size_t>{kInterface0, kInterface1Alt0}));
  EXPECT_EQ(USBD_ParseConfigurationDescriptorEx(config.descriptor(), start, -1, 0, -1, -1, -1), nullptr);
}

TEST(UsbdParse, EveryCriterionNarrowsTheSearch) {
  Configuration config;
  auto* cfg = config.descriptor();
  EXPECT_EQ(config.offsetOf(USBD_ParseConfigurationDescriptorEx(cfg, cfg, -1, -1, USB_DEVICE_CLASS_COMMUNICATIONS,
                                                                0x0D, -1)),
            kInterface0);
  EXPECT_EQ(config.offsetOf(USBD_ParseConfigurationDescriptorEx(cfg, cfg, -1, -1, USB_DEVICE_CLASS_CDC_DATA, -1, 1)),
            kInterface1Alt0);
  EXPECT_EQ(config.offsetOf(USBD_ParseConfigurationDescriptorEx(cfg, cfg, 1, 1, -1, -1, -1)), kInterface1Alt1);
  EXPECT_EQ(USBD_ParseConfigurationDescriptorEx(cfg, cfg, 1, 2, -1, -1, -1), nullptr);
  EXPECT_EQ(USBD_ParseConfigurationDescriptorEx(cfg, cfg, -1, -1, USB_DEVICE_CLASS_VENDOR_SPECIFIC, -1, -1), nullptr);
  // Starting just past interface 0 (the usual StartPosition: previous + bLength) skips it.
  EXPECT_EQ(config.offsetOf(USBD_ParseConfigurationDescriptorEx(cfg, config.at(kInterface0 + 9), -1, -1, -1, -1, -1)),
            kInterface1Alt0);
  EXPECT_EQ(config.offsetOf(USBD_ParseConfigurationDescriptor(cfg, 1, 1)), kInterface1Alt1);
  EXPECT_EQ(USBD_ParseConfigurationDescriptor(cfg, 2, 0), nullptr);
}

TEST(UsbdParse, SearchStaysWithinWTotalLength) {
  Configuration config;
  config.bytes[2] = static_cast<std::uint8_t>(kInterface1Alt0);  // the device reports fewer bytes
  auto* cfg = config.descriptor();
  EXPECT_EQ(USBD_ParseConfigurationDescriptorEx(cfg, cfg, 1, -1, -1, -1, -1), nullptr);
  EXPECT_EQ(config.offsetOf(USBD_ParseConfigurationDescriptorEx(cfg, cfg, 0, -1, -1, -1, -1)), kInterface0);
}

TEST(UsbdParse, ParseDescriptorsWalksEndpointsAndClassSpecificDescriptors) {
  Configuration config;
  auto total = static_cast<ULONG>(config.bytes.size());
  std::vector<UCHAR> endpoints;
  PVOID start = config.bytes.data();
  while (PUSB_COMMON_DESCRIPTOR d = USBD_ParseDescriptors(config.bytes.data(), total, start,
                                                          USB_ENDPOINT_DESCRIPTOR_TYPE)) {
    endpoints.push_back(reinterpret_cast<PUSB_ENDPOINT_DESCRIPTOR>(d)->bEndpointAddress);
    start = reinterpret_cast<PUCHAR>(d) + d->bLength;
    if (start == config.end()) break;
  }
  EXPECT_EQ(endpoints, (std::vector<UCHAR>{0x81, 0x82, 0x03}));

  PUSB_COMMON_DESCRIPTOR header = USBD_ParseDescriptors(config.bytes.data(), total, config.bytes.data(), 0x24);
  ASSERT_NE(header, nullptr);
  EXPECT_EQ(config.offsetOf(header), kInterface0 + 9);
  EXPECT_EQ(USBD_ParseDescriptors(config.bytes.data(), total, config.bytes.data(), USB_STRING_DESCRIPTOR_TYPE),
            nullptr);
  // The start position itself is a candidate.
  EXPECT_EQ(config.offsetOf(USBD_ParseDescriptors(config.bytes.data(), total, config.at(kInterface1Alt1),
                                                  USB_INTERFACE_DESCRIPTOR_TYPE)),
            kInterface1Alt1);
}

TEST(UsbdParse, ParseDescriptorsRejectsStartPositionsOutsideTheBuffer) {
  Configuration config;
  auto total = static_cast<ULONG>(config.bytes.size());
  EXPECT_EQ(USBD_ParseDescriptors(config.bytes.data(), total, config.end(), USB_ENDPOINT_DESCRIPTOR_TYPE), nullptr);
  EXPECT_EQ(USBD_ParseDescriptors(config.at(kInterface0), total - kInterface0, config.bytes.data(),
                                  USB_CONFIGURATION_DESCRIPTOR_TYPE),
            nullptr);
}

TEST(UsbdParse, MalformedLengthsEndTheWalkInsteadOfLoopingOrOverrunning) {
  Configuration zeroLength;
  zeroLength.bytes[kInterface1Alt0] = 0;  // would never advance
  auto total = static_cast<ULONG>(zeroLength.bytes.size());
  PUSB_COMMON_DESCRIPTOR header = USBD_ParseDescriptors(zeroLength.bytes.data(), total, zeroLength.bytes.data(), 0x24);
  ASSERT_NE(header, nullptr);
  EXPECT_EQ(zeroLength.offsetOf(header), kInterface0 + 9);
  // The interrupt endpoint before the broken descriptor is still found ...
  EXPECT_NE(USBD_ParseDescriptors(zeroLength.bytes.data(), total, zeroLength.at(kInterface1Alt0 - 7),
                                  USB_ENDPOINT_DESCRIPTOR_TYPE),
            nullptr);
  // ... and nothing after it.
  EXPECT_EQ(USBD_ParseDescriptors(zeroLength.bytes.data(), total, zeroLength.at(kInterface1Alt0),
                                  USB_ENDPOINT_DESCRIPTOR_TYPE),
            nullptr);

  Configuration overrun;
  overrun.bytes[overrun.bytes.size() - 7] = 0x40;  // the last endpoint claims 64 bytes
  auto* cfg = overrun.descriptor();
  EXPECT_EQ(USBD_ParseDescriptors(overrun.bytes.data(), static_cast<ULONG>(overrun.bytes.size()),
                                  overrun.at(overrun.bytes.size() - 7), USB_ENDPOINT_DESCRIPTOR_TYPE),
            nullptr);
  EXPECT_EQ(USBD_GetInterfaceLength(reinterpret_cast<PUSB_INTERFACE_DESCRIPTOR>(overrun.at(kInterface1Alt1)),
                                    overrun.end()),
            9u + 7u);
  EXPECT_NE(USBD_ParseConfigurationDescriptorEx(cfg, cfg, 1, 1, -1, -1, -1), nullptr);
}

TEST(UsbdParse, InterfaceLengthCoversEndpointsAndClassDescriptorsUpToTheNextInterface) {
  Configuration config;
  auto interfaceAt = [&](std::size_t offset) { return reinterpret_cast<PUSB_INTERFACE_DESCRIPTOR>(config.at(offset)); };
  // 9 interface + 5 + 5 + 13 + 6 functional + 7 endpoint.
  EXPECT_EQ(USBD_GetInterfaceLength(interfaceAt(kInterface0), config.end()), 45u);
  // Alternate setting 0 has no endpoints: the next alternate setting ends it.
  EXPECT_EQ(USBD_GetInterfaceLength(interfaceAt(kInterface1Alt0), config.end()), 9u);
  EXPECT_EQ(USBD_GetInterfaceLength(interfaceAt(kInterface1Alt1), config.end()), 23u);
  // BufferEnd inside the bulk OUT endpoint: that descriptor is not counted.
  EXPECT_EQ(USBD_GetInterfaceLength(interfaceAt(kInterface1Alt1), config.end() - 3), 16u);
  EXPECT_EQ(USBD_GetInterfaceLength(interfaceAt(kInterface1Alt1), config.at(kInterface1Alt1)), 0u);
}

}  // namespace
