// The PnP structures drivers fill for the PnP manager have their Windows x64 layout.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include <wdm.h>

static_assert(sizeof(DEVICE_CAPABILITIES) == 64);
static_assert(offsetof(DEVICE_CAPABILITIES, Version) == 2);
static_assert(offsetof(DEVICE_CAPABILITIES, Address) == 8);
static_assert(offsetof(DEVICE_CAPABILITIES, UINumber) == 12);
static_assert(offsetof(DEVICE_CAPABILITIES, DeviceState) == 16);
static_assert(offsetof(DEVICE_CAPABILITIES, SystemWake) == 44);
static_assert(offsetof(DEVICE_CAPABILITIES, DeviceWake) == 48);
static_assert(offsetof(DEVICE_CAPABILITIES, D3Latency) == 60);
static_assert(sizeof(PNP_BUS_INFORMATION) == 24);
static_assert(offsetof(PNP_BUS_INFORMATION, LegacyBusType) == 16);
static_assert(DevicePropertyAddress == 0x10 && DevicePropertyContainerID == 0x16);
static_assert(PNP_DEVICE_FAILED == 0x4 && PNP_DEVICE_REMOVED == 0x8);

TEST(PnpLayout, CapabilityBitsAreInTheirDocumentedOrder) {
  DEVICE_CAPABILITIES caps{};
  caps.DeviceD1 = 1;
  caps.SurpriseRemovalOK = 1;
  caps.DecodeIoOnBoot = 1;
  ULONG bits;
  std::memcpy(&bits, reinterpret_cast<const char*>(&caps) + 4, sizeof(bits));
  EXPECT_EQ(bits, (1u << 0) | (1u << 9) | (1u << 22));
}
