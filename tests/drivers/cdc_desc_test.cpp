// The CDC configuration walker against the descriptors the emulated ECM, NCM and RNDIS
// functions really present, and against malformed descriptor sets.
#include <gtest/gtest.h>

#include "cdc_desc.h"
#include "parser_test_support.hpp"
#include "usb/device/cdc_ecm_function.hpp"
#include "usb/device/cdc_ncm_function.hpp"
#include "usb/device/descriptors.hpp"
#include "usb/device/rndis_function.hpp"

using namespace ndishost::usb::device;
using namespace usbnic_test;

namespace {

template <class Function, class Config>
Bytes configurationOf(Config config, Speed speed = Speed::High) {
  NullPort port;
  Function function(config, port);
  StringTable strings;
  const FunctionLayout layout = function.describe(strings);
  return toBytes(buildConfigurationDescriptor(DeviceIdentity{}, layout, speed));
}

CDC_DESC_ERROR parse(const Bytes& b, CDC_FUNCTION_INFO& info) {
  auto copy = exactCopy(b.data(), b.size());
  return CdcParseConfiguration(copy.get(), static_cast<ULONG>(b.size()), &info);
}

}  // namespace

TEST(CdcDescriptors, FindsTheEmulatedNcmFunction) {
  CDC_FUNCTION_INFO info;
  ASSERT_EQ(parse(configurationOf<CdcNcmFunction>(CdcNcmConfig{}), info), CdcDescOk);
  EXPECT_EQ(info.Kind, CdcFunctionNcm);
  EXPECT_EQ(info.ConfigurationValue, 1);
  EXPECT_EQ(info.ControlInterface, 0);
  EXPECT_EQ(info.DataInterface, 1);
  EXPECT_EQ(info.DataIdleAlternateSetting, 0);
  EXPECT_EQ(info.DataAlternateSetting, 1);
  EXPECT_EQ(info.InterruptEndpoint, 0x81);
  EXPECT_EQ(info.BulkInEndpoint, 0x82);
  EXPECT_EQ(info.BulkOutEndpoint, 0x03);
  EXPECT_EQ(info.BulkInMaxPacket, 512);
  EXPECT_TRUE(info.HasEthernetDescriptor);
  EXPECT_NE(info.MacAddressStringIndex, 0);
  EXPECT_TRUE(info.HasNcmDescriptor);
  EXPECT_EQ(info.NcmVersion, 0x0100);
  EXPECT_NE(info.NcmCapabilities & 0x01, 0) << "packet filter capability";
}

TEST(CdcDescriptors, FindsTheEmulatedEcmFunctionWithAndWithoutIad) {
  for (bool iad : {false, true}) {
    CdcEcmConfig config;
    config.interfaceAssociation = iad;
    CDC_FUNCTION_INFO info;
    ASSERT_EQ(parse(configurationOf<CdcEcmFunction>(config, Speed::Full), info), CdcDescOk);
    EXPECT_EQ(info.Kind, CdcFunctionEcm);
    EXPECT_EQ(info.DataAlternateSetting, 1);
    EXPECT_EQ(info.BulkOutMaxPacket, 64) << "full speed";
    EXPECT_FALSE(info.HasNcmDescriptor);
    EXPECT_GE(info.MaxSegmentSize, 1514);
  }
}

TEST(CdcDescriptors, FindsTheEmulatedRndisFunctionInEveryClassForm) {
  for (auto cls : {RndisInterfaceClass::WirelessController, RndisInterfaceClass::CdcAbstractVendor,
                   RndisInterfaceClass::Miscellaneous}) {
    RndisConfig config;
    config.interfaceClass = cls;
    CDC_FUNCTION_INFO info;
    ASSERT_EQ(parse(configurationOf<RndisFunction>(config), info), CdcDescOk);
    EXPECT_EQ(info.Kind, CdcFunctionRndis);
    EXPECT_EQ(info.DataInterface, 1);
    EXPECT_EQ(info.DataAlternateSetting, 0);
    EXPECT_EQ(info.InterruptEndpoint, 0x81);
    EXPECT_NE(info.BulkInEndpoint, 0);
    EXPECT_NE(info.BulkOutEndpoint, 0);
  }
}

TEST(CdcDescriptors, RejectsStructurallyBrokenConfigurations) {
  const Bytes good = configurationOf<CdcNcmFunction>(CdcNcmConfig{});
  CDC_FUNCTION_INFO info;
  EXPECT_EQ(CdcParseConfiguration(nullptr, 0, &info), CdcDescTooShort);
  EXPECT_EQ(parse(Bytes(good.begin(), good.begin() + 8), info), CdcDescTooShort);

  Bytes wrongType = good;
  wrongType[1] = 0x01;
  EXPECT_EQ(parse(wrongType, info), CdcDescBadConfiguration);

  Bytes totalTooLong = good;
  putLe16(totalTooLong, 2, static_cast<std::uint16_t>(good.size() + 1));
  EXPECT_EQ(parse(totalTooLong, info), CdcDescBadConfiguration);

  Bytes zeroLength = good;
  zeroLength[9] = 0;  // the first interface descriptor's bLength
  EXPECT_EQ(parse(zeroLength, info), CdcDescBadLength);
  EXPECT_EQ(info.Kind, CdcFunctionNone);

  Bytes runsPastEnd = good;
  runsPastEnd[good.size() - 7] = 200;  // the last endpoint claims 200 bytes
  EXPECT_EQ(parse(runsPastEnd, info), CdcDescBadLength);
}

TEST(CdcDescriptors, RejectsMissingPieces) {
  const Bytes good = configurationOf<CdcEcmFunction>(CdcEcmConfig{});
  CDC_FUNCTION_INFO info;
  // Rename the communications interface's class: no control interface any more.
  Bytes noControl = good;
  noControl[9 + 5] = 0xFF;
  EXPECT_EQ(parse(noControl, info), CdcDescNoControlInterface);

  // Point the union at an interface that does not exist.
  Bytes badUnion = good;
  for (std::size_t at = 0; at + 4 < badUnion.size(); at += badUnion[at]) {
    if (badUnion[at + 1] == CDC_CS_INTERFACE && badUnion[at + 2] == CDC_FUNC_UNION) badUnion[at + 4] = 9;
  }
  EXPECT_EQ(parse(badUnion, info), CdcDescNoDataInterface);

  // Turn every bulk endpoint into an interrupt endpoint: no bulk pair.
  Bytes noBulk = good;
  for (std::size_t at = 0; at + 3 < noBulk.size(); at += noBulk[at]) {
    if (noBulk[at + 1] == 0x05 && (noBulk[at + 3] & 3) == 2) noBulk[at + 3] = 3;
  }
  EXPECT_EQ(parse(noBulk, info), CdcDescNoBulkPair);

  // Remove the Ethernet Networking descriptor's identity (subtype): ECM needs it.
  Bytes noEthernet = good;
  for (std::size_t at = 0; at + 2 < noEthernet.size(); at += noEthernet[at]) {
    if (noEthernet[at + 1] == CDC_CS_INTERFACE && noEthernet[at + 2] == CDC_FUNC_ETHERNET)
      noEthernet[at + 2] = 0x7F;
  }
  EXPECT_EQ(parse(noEthernet, info), CdcDescMissingFunctional);
}

TEST(CdcDescriptors, EveryTruncationAndByteFlipStaysInBounds) {
  for (const Bytes& good : {configurationOf<CdcNcmFunction>(CdcNcmConfig{}),
                            configurationOf<RndisFunction>(RndisConfig{})}) {
    CDC_FUNCTION_INFO info;
    for (std::size_t n = 0; n <= good.size(); ++n) {
      Bytes prefix(good.begin(), good.begin() + n);
      parse(prefix, info);  // any verdict, but no out-of-bounds read (ASan)
    }
    Lcg rng{7};
    for (int round = 0; round < 4000; ++round) {
      Bytes mutated = good;
      const int flips = 1 + rng.next() % 3;
      for (int i = 0; i < flips; ++i) mutated[rng.next() % mutated.size()] = static_cast<unsigned char>(rng.next());
      if (parse(mutated, info) == CdcDescOk) {
        EXPECT_NE(info.BulkInEndpoint & 0x80, 0);
        EXPECT_EQ(info.BulkOutEndpoint & 0x80, 0);
      }
    }
  }
}

TEST(CdcDescriptors, MacAddressString) {
  const std::u16string text = u"02005E1000aF";
  Bytes d(2 + 2 * text.size());
  d[0] = static_cast<unsigned char>(d.size());
  d[1] = 3;
  for (std::size_t i = 0; i < text.size(); ++i) putLe16(d, 2 + 2 * i, text[i]);
  UCHAR mac[6];
  auto copy = exactCopy(d.data(), d.size());
  ASSERT_TRUE(CdcParseMacAddressString(copy.get(), static_cast<ULONG>(d.size()), mac));
  const UCHAR expected[6] = {0x02, 0x00, 0x5E, 0x10, 0x00, 0xAF};
  EXPECT_EQ(0, std::memcmp(mac, expected, 6));

  Bytes notHex = d;
  putLe16(notHex, 4, u'G');
  EXPECT_FALSE(CdcParseMacAddressString(notHex.data(), static_cast<ULONG>(notHex.size()), mac));
  Bytes shortOne(d.begin(), d.end() - 2);
  shortOne[0] = static_cast<unsigned char>(shortOne.size());
  auto shortCopy = exactCopy(shortOne.data(), shortOne.size());
  EXPECT_FALSE(CdcParseMacAddressString(shortCopy.get(), static_cast<ULONG>(shortOne.size()), mac));
  Bytes lying = d;
  lying[0] = 60;  // bLength beyond the bytes received
  EXPECT_FALSE(CdcParseMacAddressString(lying.data(), static_cast<ULONG>(lying.size()), mac));
}

TEST(CdcDescriptors, Notifications) {
  CDC_NOTIFICATION n;
  const Bytes connected = {0xA1, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
  ASSERT_TRUE(CdcParseNotification(connected.data(), 8, &n));
  EXPECT_EQ(n.Code, CDC_NOTIFY_NETWORK_CONNECTION);
  EXPECT_EQ(n.Value, 1);
  Bytes speed = {0xA1, 0x2A, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  putLe32(speed, 8, 1000000000u);
  putLe32(speed, 12, 100000000u);
  ASSERT_TRUE(CdcParseNotification(speed.data(), 16, &n));
  EXPECT_EQ(n.DownlinkBitRate, 1000000000u);
  EXPECT_EQ(n.UplinkBitRate, 100000000u);
  // wLength beyond the transfer, bad request type, unknown code, short.
  auto truncated = exactCopy(speed.data(), 12);
  EXPECT_FALSE(CdcParseNotification(truncated.get(), 12, &n));
  Bytes wrongType = connected;
  wrongType[0] = 0x21;
  EXPECT_FALSE(CdcParseNotification(wrongType.data(), 8, &n));
  Bytes unknown = connected;
  unknown[1] = 0x55;
  EXPECT_FALSE(CdcParseNotification(unknown.data(), 8, &n));
  EXPECT_FALSE(CdcParseNotification(connected.data(), 7, &n));
}
