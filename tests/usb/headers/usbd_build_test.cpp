// USBD_CreateConfigurationRequestEx, USBD_ValidateConfigurationDescriptor and
// USBD_GetUSBDIVersion over the CDC-NCM configuration and broken variants of it.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <wdm.h>
#include <usbdlib.h>

#include "ncm_configuration.hpp"

namespace {

using namespace usbd_test;

PUSB_INTERFACE_DESCRIPTOR interfaceAt(Configuration& config, std::size_t offset) {
  return reinterpret_cast<PUSB_INTERFACE_DESCRIPTOR>(config.at(offset));
}

TEST(UsbdCreateConfigurationRequest, BuildsOneInterfaceInformationPerListEntry) {
  Configuration config;
  USBD_INTERFACE_LIST_ENTRY list[3] = {};
  list[0].InterfaceDescriptor = interfaceAt(config, kInterface0);
  list[1].InterfaceDescriptor = interfaceAt(config, kInterface1Alt1);
  PURB urb = USBD_CreateConfigurationRequestEx(config.descriptor(), list);
  ASSERT_NE(urb, nullptr);

  // Header, descriptor pointer and handle, then an interface with one pipe and one with two.
  const std::size_t firstSize = offsetof(USBD_INTERFACE_INFORMATION, Pipes) + 1 * sizeof(USBD_PIPE_INFORMATION);
  const std::size_t secondSize = offsetof(USBD_INTERFACE_INFORMATION, Pipes) + 2 * sizeof(USBD_PIPE_INFORMATION);
  EXPECT_EQ(urb->UrbHeader.Function, URB_FUNCTION_SELECT_CONFIGURATION);
  EXPECT_EQ(urb->UrbHeader.Length, offsetof(struct _URB_SELECT_CONFIGURATION, Interface) + firstSize + secondSize);
  EXPECT_EQ(urb->UrbHeader.Length, GET_SELECT_CONFIGURATION_REQUEST_SIZE(2, 3));
  EXPECT_EQ(urb->UrbSelectConfiguration.ConfigurationDescriptor, config.descriptor());
  EXPECT_EQ(urb->UrbSelectConfiguration.ConfigurationHandle, nullptr);

  ASSERT_EQ(list[0].Interface, &urb->UrbSelectConfiguration.Interface);
  ASSERT_EQ(reinterpret_cast<PUCHAR>(list[1].Interface), reinterpret_cast<PUCHAR>(list[0].Interface) + firstSize);
  EXPECT_EQ(list[2].Interface, nullptr);

  PUSBD_INTERFACE_INFORMATION communication = list[0].Interface;
  EXPECT_EQ(communication->Length, firstSize);
  EXPECT_EQ(communication->InterfaceNumber, 0);
  EXPECT_EQ(communication->AlternateSetting, 0);
  EXPECT_EQ(communication->Class, USB_DEVICE_CLASS_COMMUNICATIONS);
  EXPECT_EQ(communication->SubClass, 0x0D);
  EXPECT_EQ(communication->NumberOfPipes, 1u);
  EXPECT_EQ(communication->Pipes[0].MaximumTransferSize, USBD_DEFAULT_MAXIMUM_TRANSFER_SIZE);

  PUSBD_INTERFACE_INFORMATION data = list[1].Interface;
  EXPECT_EQ(data->Length, secondSize);
  EXPECT_EQ(data->InterfaceNumber, 1);
  EXPECT_EQ(data->AlternateSetting, 1);
  EXPECT_EQ(data->Class, USB_DEVICE_CLASS_CDC_DATA);
  EXPECT_EQ(data->Protocol, 1);
  EXPECT_EQ(data->NumberOfPipes, 2u);
  PUSBD_PIPE_INFORMATION pipes = data->Pipes;
  EXPECT_EQ(pipes[1].MaximumTransferSize, USBD_DEFAULT_MAXIMUM_TRANSFER_SIZE);
  EXPECT_EQ(pipes[1].PipeFlags, 0u);
  EXPECT_EQ(pipes[1].PipeHandle, nullptr);
  ExFreePool(urb);
}

TEST(UsbdCreateConfigurationRequest, AnInterfaceWithoutEndpointsStillGetsAFullSizedUrb) {
  Configuration config;
  USBD_INTERFACE_LIST_ENTRY list[2] = {};
  list[0].InterfaceDescriptor = interfaceAt(config, kInterface1Alt0);
  PURB urb = USBD_CreateConfigurationRequestEx(config.descriptor(), list);
  ASSERT_NE(urb, nullptr);
  EXPECT_EQ(urb->UrbHeader.Length, sizeof(struct _URB_SELECT_CONFIGURATION));
  EXPECT_EQ(list[0].Interface->NumberOfPipes, 0u);
  EXPECT_EQ(list[0].Interface->Length, offsetof(USBD_INTERFACE_INFORMATION, Pipes));
  ExFreePool(urb);
}

TEST(UsbdCreateConfigurationRequest, RefusesEntriesThatAreNotInterfacesInsideTheConfiguration) {
  Configuration config;
  USBD_INTERFACE_LIST_ENTRY list[2] = {};
  EXPECT_EQ(USBD_CreateConfigurationRequestEx(config.descriptor(), list), nullptr);  // empty list
  EXPECT_EQ(USBD_CreateConfigurationRequestEx(nullptr, list), nullptr);
  EXPECT_EQ(USBD_CreateConfigurationRequestEx(config.descriptor(), nullptr), nullptr);

  // An endpoint descriptor passed as an interface.
  list[0].InterfaceDescriptor = interfaceAt(config, kInterface1Alt1 + 9);
  EXPECT_EQ(USBD_CreateConfigurationRequestEx(config.descriptor(), list), nullptr);

  // An interface outside wTotalLength (the device reported fewer bytes).
  config.bytes[2] = static_cast<std::uint8_t>(kInterface1Alt1 + 4);
  list[0].InterfaceDescriptor = interfaceAt(config, kInterface1Alt1);
  EXPECT_EQ(USBD_CreateConfigurationRequestEx(config.descriptor(), list), nullptr);
  EXPECT_EQ(list[0].Interface, nullptr);

  // A memory address before the configuration.
  Configuration other;
  list[0].InterfaceDescriptor = interfaceAt(other, kInterface0);
  EXPECT_EQ(USBD_CreateConfigurationRequestEx(config.descriptor(), list), nullptr);
}

TEST(UsbdCreateConfigurationRequest, RefusesImpossibleEndpointCounts) {
  Configuration config;
  config.bytes[kInterface1Alt1 + 4] = 31;
  USBD_INTERFACE_LIST_ENTRY list[2] = {};
  list[0].InterfaceDescriptor = interfaceAt(config, kInterface1Alt1);
  EXPECT_EQ(USBD_CreateConfigurationRequestEx(config.descriptor(), list), nullptr);
}

TEST(UsbdVersion, ReportsTheStacksUsbdiVersion) {
  USBD_VERSION_INFORMATION version{};
  USBD_GetUSBDIVersion(&version);
  EXPECT_EQ(version.USBDI_Version, static_cast<ULONG>(USBDI_VERSION));
  EXPECT_EQ(version.Supported_USB_Version, 0x200u);
}

struct Validation {
  USBD_STATUS status;
  std::ptrdiff_t offset;
};

Validation validate(Configuration& config, USHORT level, std::size_t length = 0) {
  PUCHAR offset = nullptr;
  ULONG bufferLength = static_cast<ULONG>(length != 0 ? length : config.bytes.size());
  USBD_STATUS status = USBD_ValidateConfigurationDescriptor(config.descriptor(), bufferLength, level, &offset, 0);
  return {status, offset == nullptr ? -1 : offset - config.bytes.data()};
}

TEST(UsbdValidateConfiguration, TheNcmConfigurationPassesEveryLevel) {
  Configuration config;
  for (USHORT level = 1; level <= 3; ++level) EXPECT_EQ(validate(config, level).status, USBD_STATUS_SUCCESS) << level;
  PUCHAR offset = nullptr;
  EXPECT_EQ(USBD_ValidateConfigurationDescriptor(config.descriptor(), 94, 4, &offset, 0),
            USBD_STATUS_INVALID_PARAMETER);
  EXPECT_EQ(USBD_ValidateConfigurationDescriptor(config.descriptor(), 94, 0, &offset, 0),
            USBD_STATUS_INVALID_PARAMETER);
}

TEST(UsbdValidateConfiguration, HeaderFaults) {
  Configuration shortBuffer;
  EXPECT_EQ(validate(shortBuffer, 1, 8).status, USBD_STATUS_BAD_CONFIG_DESC_LENGTH);
  Configuration longerThanBuffer;
  Validation v = validate(longerThanBuffer, 1, 93);  // wTotalLength 94 > 93 bytes given
  EXPECT_EQ(v.status, USBD_STATUS_BAD_CONFIG_DESC_LENGTH);
  EXPECT_EQ(v.offset, 2);
  Configuration wrongType;
  wrongType.bytes[1] = USB_DEVICE_DESCRIPTOR_TYPE;
  EXPECT_EQ(validate(wrongType, 1).status, USBD_STATUS_BAD_DESCRIPTOR_TYPE);
  Configuration shortHeader;
  shortHeader.bytes[0] = 4;
  EXPECT_EQ(validate(shortHeader, 1).status, USBD_STATUS_BAD_DESCRIPTOR_BLEN);
}

TEST(UsbdValidateConfiguration, ZeroOrOverlongLengthsAreFoundAtTheirOffset) {
  Configuration zero;
  zero.bytes[kInterface1Alt0] = 0;
  EXPECT_EQ(validate(zero, 1).status, USBD_STATUS_SUCCESS);  // level 1 checks the header only
  Validation v = validate(zero, 2);
  EXPECT_EQ(v.status, USBD_STATUS_BAD_DESCRIPTOR_BLEN);
  EXPECT_EQ(v.offset, static_cast<std::ptrdiff_t>(kInterface1Alt0));

  Configuration overlong;
  overlong.bytes[overlong.bytes.size() - 7] = 8;  // the last endpoint runs one byte past the end
  v = validate(overlong, 2);
  EXPECT_EQ(v.status, USBD_STATUS_BAD_DESCRIPTOR_BLEN);
  EXPECT_EQ(v.offset, static_cast<std::ptrdiff_t>(overlong.bytes.size() - 7));
}

TEST(UsbdValidateConfiguration, EndpointAndInterfaceFaults) {
  Configuration endpointZero;
  endpointZero.bytes[kInterface1Alt1 + 9 + 2] = 0x80;  // endpoint 0 IN
  EXPECT_EQ(validate(endpointZero, 2).status, USBD_STATUS_BAD_ENDPOINT_ADDRESS);

  Configuration duplicate;
  duplicate.bytes[kInterface1Alt1 + 16 + 2] = 0x82;  // bulk OUT given bulk IN's address
  Validation v = validate(duplicate, 2);
  EXPECT_EQ(v.status, USBD_STATUS_BAD_ENDPOINT_ADDRESS);
  EXPECT_EQ(v.offset, static_cast<std::ptrdiff_t>(kInterface1Alt1 + 16));

  Configuration interfaceCount;
  interfaceCount.bytes[4] = 3;
  EXPECT_EQ(validate(interfaceCount, 2).status, USBD_STATUS_BAD_NUMBER_OF_INTERFACES);

  Configuration endpointCount;
  endpointCount.bytes[kInterface1Alt1 + 4] = 3;  // declares three, has two
  EXPECT_EQ(validate(endpointCount, 2).status, USBD_STATUS_SUCCESS);
  v = validate(endpointCount, 3);
  EXPECT_EQ(v.status, USBD_STATUS_BAD_NUMBER_OF_ENDPOINTS);
  EXPECT_EQ(v.offset, static_cast<std::ptrdiff_t>(kInterface1Alt1));

  Configuration outOfOrder;
  outOfOrder.bytes[kInterface0 + 2] = 1;  // interface 1 first, never 0
  EXPECT_EQ(validate(outOfOrder, 3).status, USBD_STATUS_BAD_INTERFACE_DESCRIPTOR);
}

}  // namespace
