// The UsbBuild* macros and the usbspec.h wire structures, exercised on real URBs and
// descriptor bytes: every field the reference says a macro sets is set, from C and C++
// alike, and nothing else is touched.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>

#define NDIS_WDM 1
#define NDIS630_MINIPORT 1
#include <ndis.h>
#include <usb.h>
#include <usbdlib.h>
#include <usbioctl.h>

#include "urb_build.h"

namespace {

// A URB with room for a select-configuration request of two interfaces and five pipes.
union UrbStorage {
  URB urb;
  std::array<std::uint8_t, GET_SELECT_CONFIGURATION_REQUEST_SIZE(2, 5)> bytes;
};

UrbStorage zeroed() {
  UrbStorage storage;
  std::memset(&storage, 0, sizeof(storage));
  return storage;
}

bool sameBytes(const UrbStorage& a, const UrbStorage& b) {
  return std::memcmp(&a, &b, sizeof(UrbStorage)) == 0;
}

PVOID fakePointer(std::uintptr_t value) { return reinterpret_cast<PVOID>(value); }

TEST(UsbBuildMacros, BulkTransferSetsTheDocumentedFields) {
  auto cxx = zeroed();
  std::array<std::uint8_t, 512> buffer{};
  auto* link = reinterpret_cast<PURB>(fakePointer(0x5000));
  UsbBuildInterruptOrBulkTransferRequest(&cxx.urb, sizeof(struct _URB_BULK_OR_INTERRUPT_TRANSFER),
                                         fakePointer(0x1000), buffer.data(), nullptr,
                                         static_cast<ULONG>(buffer.size()),
                                         USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK, link);
  const auto& bulk = cxx.urb.UrbBulkOrInterruptTransfer;
  EXPECT_EQ(bulk.Hdr.Function, URB_FUNCTION_BULK_OR_INTERRUPT_TRANSFER);
  EXPECT_EQ(bulk.Hdr.Length, 128u);
  EXPECT_EQ(bulk.PipeHandle, fakePointer(0x1000));
  EXPECT_EQ(bulk.TransferBuffer, buffer.data());
  EXPECT_EQ(bulk.TransferBufferMDL, nullptr);
  EXPECT_EQ(bulk.TransferBufferLength, 512u);
  EXPECT_EQ(bulk.TransferFlags, ULONG{USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK});
  EXPECT_EQ(bulk.UrbLink, link);
  EXPECT_EQ(bulk.Hdr.Status, USBD_STATUS_SUCCESS);

  auto c = zeroed();
  usbh_c_build_bulk(&c.urb, fakePointer(0x1000), buffer.data(), 512, link);
  EXPECT_TRUE(sameBytes(c, cxx));
}

TEST(UsbBuildMacros, GetDescriptorPutsTypeIndexAndLanguageWhereTheSetupPacketTakesThem) {
  auto cxx = zeroed();
  std::array<std::uint8_t, 255> buffer{};
  UsbBuildGetDescriptorRequest(&cxx.urb, (USHORT)sizeof(struct _URB_CONTROL_DESCRIPTOR_REQUEST),
                               USB_STRING_DESCRIPTOR_TYPE, 2, 0x0409, buffer.data(), nullptr,
                               static_cast<ULONG>(buffer.size()), nullptr);
  const auto& request = cxx.urb.UrbControlDescriptorRequest;
  EXPECT_EQ(request.Hdr.Function, URB_FUNCTION_GET_DESCRIPTOR_FROM_DEVICE);
  EXPECT_EQ(request.Hdr.Length, 136u);
  EXPECT_EQ(request.DescriptorType, USB_STRING_DESCRIPTOR_TYPE);
  EXPECT_EQ(request.Index, 2u);
  EXPECT_EQ(request.LanguageId, 0x0409u);
  EXPECT_EQ(request.TransferBuffer, buffer.data());
  EXPECT_EQ(request.TransferBufferLength, 255u);
  // Index and DescriptorType sit where wValue's low and high bytes would.
  EXPECT_EQ(cxx.bytes[130], 2u);
  EXPECT_EQ(cxx.bytes[131], USB_STRING_DESCRIPTOR_TYPE);

  auto c = zeroed();
  usbh_c_build_get_descriptor(&c.urb, buffer.data(), 255);
  EXPECT_TRUE(sameBytes(c, cxx));
}

TEST(UsbBuildMacros, VendorOrClassRequestSetsRequestValueIndexAndFlags) {
  auto cxx = zeroed();
  std::array<std::uint8_t, 64> buffer{};
  UsbBuildVendorRequest(&cxx.urb, URB_FUNCTION_CLASS_INTERFACE,
                        (USHORT)sizeof(struct _URB_CONTROL_VENDOR_OR_CLASS_REQUEST),
                        USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK, 0, 0x80, 0x1234, 1,
                        buffer.data(), nullptr, 64, nullptr);
  const auto& request = cxx.urb.UrbControlVendorClassRequest;
  EXPECT_EQ(request.Hdr.Function, URB_FUNCTION_CLASS_INTERFACE);
  EXPECT_EQ(request.Hdr.Length, 136u);
  EXPECT_EQ(request.Request, 0x80u);
  EXPECT_EQ(request.Value, 0x1234u);
  EXPECT_EQ(request.Index, 1u);
  EXPECT_EQ(request.TransferFlags, ULONG{USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK});
  EXPECT_EQ(request.TransferBufferLength, 64u);
  EXPECT_EQ(request.TransferBuffer, buffer.data());

  auto c = zeroed();
  usbh_c_build_vendor(&c.urb, buffer.data(), 64);
  EXPECT_TRUE(sameBytes(c, cxx));
}

TEST(UsbBuildMacros, FeatureRequestHasItsFixedLengthAndNoDataStage) {
  auto cxx = zeroed();
  UsbBuildFeatureRequest(&cxx.urb, URB_FUNCTION_CLEAR_FEATURE_TO_ENDPOINT,
                         USB_FEATURE_ENDPOINT_STALL, 0x81, nullptr);
  const auto& request = cxx.urb.UrbControlFeatureRequest;
  EXPECT_EQ(request.Hdr.Function, URB_FUNCTION_CLEAR_FEATURE_TO_ENDPOINT);
  EXPECT_EQ(request.Hdr.Length, sizeof(struct _URB_CONTROL_FEATURE_REQUEST));
  EXPECT_EQ(request.FeatureSelector, USB_FEATURE_ENDPOINT_STALL);
  EXPECT_EQ(request.Index, 0x81u);
  EXPECT_EQ(request.Reserved3, 0u);  // the transfer length slot stays untouched

  auto c = zeroed();
  usbh_c_build_feature(&c.urb);
  EXPECT_TRUE(sameBytes(c, cxx));
}

TEST(UsbBuildMacros, GetStatusAlwaysTransfersTwoBytes) {
  auto cxx = zeroed();
  USHORT status = 0xFFFF;
  UsbBuildGetStatusRequest(&cxx.urb, URB_FUNCTION_GET_STATUS_FROM_DEVICE, 0, &status, nullptr,
                           nullptr);
  const auto& request = cxx.urb.UrbControlGetStatusRequest;
  EXPECT_EQ(request.Hdr.Function, URB_FUNCTION_GET_STATUS_FROM_DEVICE);
  EXPECT_EQ(request.Hdr.Length, sizeof(struct _URB_CONTROL_GET_STATUS_REQUEST));
  EXPECT_EQ(request.TransferBufferLength, 2u);
  EXPECT_EQ(request.TransferBuffer, &status);
  EXPECT_EQ(request.Index, 0u);

  auto c = zeroed();
  usbh_c_build_get_status(&c.urb, &status);
  EXPECT_TRUE(sameBytes(c, cxx));
}

TEST(UsbBuildMacros, SelectConfigurationCarriesTheDescriptorAndTheVariableLength) {
  auto cxx = zeroed();
  USB_CONFIGURATION_DESCRIPTOR descriptor{};
  UsbBuildSelectConfigurationRequest(&cxx.urb, (USHORT)GET_SELECT_CONFIGURATION_REQUEST_SIZE(2, 3),
                                     &descriptor);
  EXPECT_EQ(cxx.urb.UrbHeader.Function, URB_FUNCTION_SELECT_CONFIGURATION);
  // Two interfaces with three pipes in all: 88 + 48 + 24.
  EXPECT_EQ(cxx.urb.UrbHeader.Length, 160u);
  EXPECT_EQ(cxx.urb.UrbSelectConfiguration.ConfigurationDescriptor, &descriptor);

  auto c = zeroed();
  usbh_c_build_select_configuration(&c.urb, &descriptor);
  EXPECT_TRUE(sameBytes(c, cxx));
}

TEST(UsbBuildMacros, SelectInterfaceDerivesTheInterfaceLengthFromTheUrbLength) {
  auto cxx = zeroed();
  UsbBuildSelectInterfaceRequest(&cxx.urb, (USHORT)GET_SELECT_INTERFACE_REQUEST_SIZE(2),
                                 fakePointer(0x2000), 1, 1);
  const auto& request = cxx.urb.UrbSelectInterface;
  EXPECT_EQ(request.Hdr.Function, URB_FUNCTION_SELECT_INTERFACE);
  EXPECT_EQ(request.Hdr.Length, 104u);
  EXPECT_EQ(request.ConfigurationHandle, fakePointer(0x2000));
  EXPECT_EQ(request.Interface.InterfaceNumber, 1u);
  EXPECT_EQ(request.Interface.AlternateSetting, 1u);
  EXPECT_EQ(request.Interface.Length, GET_USBD_INTERFACE_SIZE(2));

  auto c = zeroed();
  usbh_c_build_select_interface(&c.urb, fakePointer(0x2000));
  EXPECT_TRUE(sameBytes(c, cxx));
}

TEST(UsbBuildMacros, OpenStaticStreamsZeroesTheUrbAndDescribesTheStreamArray) {
  auto storage = zeroed();
  std::memset(&storage, 0xA5, sizeof(storage));  // the builder zeroes what it does not set
  std::array<USBD_STREAM_INFORMATION, 4> streams{};
  UsbBuildOpenStaticStreamsRequest(&storage.urb, fakePointer(0x3000), 4, streams.data());
  const auto& request = storage.urb.UrbOpenStaticStreams;
  EXPECT_EQ(request.Hdr.Function, URB_FUNCTION_OPEN_STATIC_STREAMS);
  EXPECT_EQ(request.Hdr.Length, sizeof(struct _URB_OPEN_STATIC_STREAMS));
  EXPECT_EQ(request.Hdr.Status, USBD_STATUS_SUCCESS);
  EXPECT_EQ(request.Hdr.UsbdDeviceHandle, nullptr);
  EXPECT_EQ(request.PipeHandle, fakePointer(0x3000));
  EXPECT_EQ(request.NumberOfStreams, 4u);
  EXPECT_EQ(request.StreamInfoVersion, URB_OPEN_STATIC_STREAMS_VERSION_100);
  EXPECT_EQ(request.StreamInfoSize, sizeof(USBD_STREAM_INFORMATION));
  EXPECT_EQ(request.Streams, streams.data());
  // Bytes past the open-streams request are not the builder's.
  EXPECT_EQ(storage.bytes[sizeof(struct _URB_OPEN_STATIC_STREAMS)], 0xA5);
}

TEST(UsbBuildMacros, AreSingleStatements) {
  auto storage = zeroed();
  EXPECT_EQ(usbh_c_build_in_if_else(&storage.urb, 1), URB_FUNCTION_BULK_OR_INTERRUPT_TRANSFER);
  EXPECT_EQ(usbh_c_build_in_if_else(&storage.urb, 0), URB_FUNCTION_SET_FEATURE_TO_DEVICE);
}

TEST(UsbSpec, SetupPacketBitFieldsFollowTheWireBits) {
  USB_DEFAULT_PIPE_SETUP_PACKET setup{};
  setup.bmRequestType.Dir = BMREQUEST_DEVICE_TO_HOST;
  setup.bmRequestType.Type = BMREQUEST_VENDOR;
  setup.bmRequestType.Recipient = BMREQUEST_TO_INTERFACE;
  setup.bRequest = USB_REQUEST_GET_DESCRIPTOR;
  setup.wValue.HiByte = USB_STRING_DESCRIPTOR_TYPE;
  setup.wValue.LowByte = 3;
  setup.wIndex.W = 0x0409;
  setup.wLength = 0x00FF;
  EXPECT_EQ(setup.bmRequestType.B, 0xC1u);
  EXPECT_EQ(setup.wValue.W, USB_DESCRIPTOR_MAKE_TYPE_AND_INDEX(USB_STRING_DESCRIPTOR_TYPE, 3));
  const std::array<std::uint8_t, 8> wire{0xC1, 0x06, 0x03, 0x03, 0x09, 0x04, 0xFF, 0x00};
  EXPECT_EQ(std::memcmp(&setup, wire.data(), wire.size()), 0);
}

TEST(UsbSpec, DescriptorsOverlayDeviceBytes) {
  // A CDC-NCM device's device descriptor and one bulk IN endpoint, as sent on the wire.
  const std::array<std::uint8_t, 18> device{0x12, 0x01, 0x00, 0x02, 0x02, 0x00, 0x00, 0x40, 0x25,
                                            0x05, 0xA7, 0xA4, 0x01, 0x04, 0x01, 0x02, 0x03, 0x01};
  const std::array<std::uint8_t, 7> endpoint{0x07, 0x05, 0x81, 0x02, 0x00, 0x02, 0x00};
  USB_DEVICE_DESCRIPTOR dd;
  std::memcpy(&dd, device.data(), sizeof(dd));
  EXPECT_EQ(dd.bDescriptorType, USB_DEVICE_DESCRIPTOR_TYPE);
  EXPECT_EQ(dd.bcdUSB, 0x0200u);
  EXPECT_EQ(dd.bDeviceClass, USB_DEVICE_CLASS_COMMUNICATIONS);
  EXPECT_EQ(dd.bMaxPacketSize0, 64u);
  EXPECT_EQ(dd.idVendor, 0x0525u);
  EXPECT_EQ(dd.idProduct, 0xA4A7u);
  EXPECT_EQ(dd.bNumConfigurations, 1u);
  USB_ENDPOINT_DESCRIPTOR ed;
  std::memcpy(&ed, endpoint.data(), sizeof(ed));
  EXPECT_TRUE(USB_ENDPOINT_DIRECTION_IN(ed.bEndpointAddress));
  EXPECT_EQ(ed.bEndpointAddress & USB_ENDPOINT_ADDRESS_MASK, 1);
  EXPECT_EQ(ed.bmAttributes & USB_ENDPOINT_TYPE_MASK, USB_ENDPOINT_TYPE_BULK);
  EXPECT_EQ(ed.wMaxPacketSize, 512u);
  USB_HIGH_SPEED_MAXPACKET mp;
  mp.us = 0x1400;  // 1024 bytes, 2 extra transactions per microframe
  EXPECT_EQ(mp.MaxPacket, 1024u);
  EXPECT_EQ(mp.HSmux, 2u);
}

TEST(UsbSpec, SuperSpeedCompanionAttributesDecodePerTransferType) {
  const std::array<std::uint8_t, 6> bytes{0x06, 0x30, 0x0F, 0x04, 0x00, 0x00};
  USB_SUPERSPEED_ENDPOINT_COMPANION_DESCRIPTOR companion;
  std::memcpy(&companion, bytes.data(), sizeof(companion));
  EXPECT_EQ(companion.bDescriptorType, USB_SUPERSPEED_ENDPOINT_COMPANION_DESCRIPTOR_TYPE);
  EXPECT_EQ(companion.bMaxBurst, 15u);
  EXPECT_EQ(companion.bmAttributes.Bulk.MaxStreams, 4u);
  companion.bmAttributes.AsUchar = 0x82;
  EXPECT_EQ(companion.bmAttributes.Isochronous.Mult, 2u);
  EXPECT_EQ(companion.bmAttributes.Isochronous.SspCompanion, 1u);
}

TEST(UsbStatus, ClassificationFollowsTheTopTwoBits) {
  EXPECT_TRUE(USBD_SUCCESS(USBD_STATUS_SUCCESS));
  EXPECT_TRUE(USBD_PENDING(USBD_STATUS_PENDING));
  EXPECT_FALSE(USBD_PENDING(USBD_STATUS_SUCCESS));
  EXPECT_TRUE(USBD_ERROR(USBD_STATUS_CANCELED));
  EXPECT_TRUE(USBD_HALTED(USBD_STATUS_DEVICE_GONE));
  EXPECT_FALSE(USBD_HALTED(USBD_STATUS_ERROR_BUSY));
  EXPECT_TRUE(USBD_ERROR(USBD_STATUS_ERROR_BUSY));
  EXPECT_EQ(URB_FUNCTION_RESET_PIPE, URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL);
}

}  // namespace
