// Configuration: the keyword store behind NdisOpenConfigurationEx and the reads, writes and
// NetworkAddress parsing drivers do through it.
#include "ndis_test.hpp"

#include <cstring>
#include <memory>

#include "ndis/config/configuration_store.hpp"
#include "ndis/core/ndis_object.hpp"

using namespace ndistest;
using ndishost::ndis::ConfigurationStore;
using ndishost::ndis::StandaloneHandle;
using ndishost::nt::RecordViolationsScope;

namespace {

class ConfigTest : public NdisTest {
 protected:
  void SetUp() override {
    store_->setInteger(u"*SpeedDuplex", 6);
    store_->setString(u"ReceiveBuffers", u"42");
    store_->setString(u"VlanMask", u"1A");
    store_->setString(u"Name", u"usb0");
    store_->setMultiString(u"Protocols", {u"ip", u"ipv6"});
    store_->setBinary(u"Blob", {1, 2, 3});
    NDIS_CONFIGURATION_OBJECT object = {};
    object.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    object.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    object.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    object.NdisHandle = adapter_.handle();
    ASSERT_EQ(NdisOpenConfigurationEx(&object, &config_), NDIS_STATUS_SUCCESS);
  }
  void TearDown() override {
    if (config_ != nullptr) NdisCloseConfiguration(config_);
  }

  PNDIS_CONFIGURATION_PARAMETER read(const char16_t* keyword, NDIS_PARAMETER_TYPE type, NDIS_STATUS* status) {
    NDIS_STRING name;
    RtlInitUnicodeString(&name, reinterpret_cast<PCWSTR>(keyword));
    PNDIS_CONFIGURATION_PARAMETER value = nullptr;
    NdisReadConfiguration(status, &value, config_, &name, type);
    return value;
  }

  static std::u16string text(const NDIS_STRING& s) {
    return {reinterpret_cast<const char16_t*>(s.Buffer), s.Length / sizeof(WCHAR)};
  }

  std::shared_ptr<ConfigurationStore> store_ = std::make_shared<ConfigurationStore>();
  StandaloneHandle adapter_{"config test adapter", nullptr, store_};
  NDIS_HANDLE config_ = nullptr;
};

TEST_F(ConfigTest, ReadsEachTypeWithConversions) {
  NDIS_STATUS status;
  auto* p = read(u"*speedduplex", NdisParameterInteger, &status);  // keywords ignore case
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(p->ParameterType, NdisParameterInteger);
  EXPECT_EQ(p->ParameterData.IntegerData, 6u);

  p = read(u"ReceiveBuffers", NdisParameterInteger, &status);  // a string, read in base 10
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(p->ParameterData.IntegerData, 42u);
  p = read(u"VlanMask", NdisParameterHexInteger, &status);  // in base 16; the type comes back Integer
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(p->ParameterType, NdisParameterInteger);
  EXPECT_EQ(p->ParameterData.IntegerData, 0x1Au);
  read(u"VlanMask", NdisParameterInteger, &status);  // "1A" is not decimal
  EXPECT_EQ(status, NDIS_STATUS_FAILURE);

  p = read(u"Name", NdisParameterString, &status);
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(p->ParameterType, NdisParameterString);
  EXPECT_EQ(text(p->ParameterData.StringData), u"usb0");
  EXPECT_EQ(p->ParameterData.StringData.Buffer[4], 0);  // NUL-terminated too

  p = read(u"*SpeedDuplex", NdisParameterString, &status);
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(text(p->ParameterData.StringData), u"6");

  p = read(u"Protocols", NdisParameterMultiString, &status);
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(p->ParameterType, NdisParameterMultiString);
  EXPECT_EQ(text(p->ParameterData.StringData), std::u16string(u"ip\0ipv6\0", 8));

  p = read(u"Blob", NdisParameterBinary, &status);
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(p->ParameterType, NdisParameterBinary);
  ASSERT_EQ(p->ParameterData.BinaryData.Length, 3u);
  EXPECT_EQ(static_cast<PUCHAR>(p->ParameterData.BinaryData.Buffer)[2], 3);

  // Earlier results stay valid until NdisCloseConfiguration.
  auto* first = read(u"Name", NdisParameterString, &status);
  for (int i = 0; i < 50; ++i) read(u"*SpeedDuplex", NdisParameterInteger, &status);
  EXPECT_EQ(text(first->ParameterData.StringData), u"usb0");

  p = read(u"NdisVersion", NdisParameterInteger, &status);
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(p->ParameterData.IntegerData, 0x00060059u);
}

TEST_F(ConfigTest, MissingKeywordFails) {
  NDIS_STATUS status = NDIS_STATUS_SUCCESS;
  EXPECT_EQ(read(u"NoSuchKeyword", NdisParameterInteger, &status), nullptr);
  EXPECT_EQ(status, NDIS_STATUS_FAILURE);
}

TEST_F(ConfigTest, WriteThenRead) {
  NDIS_STRING name;
  RtlInitUnicodeString(&name, reinterpret_cast<PCWSTR>(u"MTU"));
  NDIS_CONFIGURATION_PARAMETER value = {};
  value.ParameterType = NdisParameterInteger;
  value.ParameterData.IntegerData = 1500;
  NDIS_STATUS status;
  NdisWriteConfiguration(&status, config_, &name, &value);
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  auto* p = read(u"MTU", NdisParameterInteger, &status);
  ASSERT_EQ(status, NDIS_STATUS_SUCCESS);
  EXPECT_EQ(p->ParameterData.IntegerData, 1500u);
  auto stored = store_->find(u"mtu");
  ASSERT_TRUE(stored.has_value());  // written to the adapter's store
  int unknownType = 9;  // stored as the C enum's int, as a C driver could
  std::memcpy(&value.ParameterType, &unknownType, sizeof(unknownType));
  NdisWriteConfiguration(&status, config_, &name, &value);
  EXPECT_EQ(status, NDIS_STATUS_NOT_SUPPORTED);
}

TEST_F(ConfigTest, NetworkAddressParsing) {
  auto readAddress = [&](std::vector<UCHAR>* bytes) {
    NDIS_STATUS status;
    PVOID address = nullptr;
    UINT length = 0;
    NdisReadNetworkAddress(&status, &address, &length, config_);
    if (status == NDIS_STATUS_SUCCESS) bytes->assign(static_cast<PUCHAR>(address), static_cast<PUCHAR>(address) + length);
    return status;
  };
  std::vector<UCHAR> bytes;
  EXPECT_EQ(readAddress(&bytes), NDIS_STATUS_FAILURE);  // absent
  const std::vector<UCHAR> expected{0x02, 0x00, 0x5E, 0x10, 0x00, 0xAB};
  store_->setString(u"NetworkAddress", u"02005E1000ab");
  ASSERT_EQ(readAddress(&bytes), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(bytes, expected);
  store_->setString(u"NetworkAddress", u"02-00-5E-10-00-AB");
  ASSERT_EQ(readAddress(&bytes), NDIS_STATUS_SUCCESS);
  EXPECT_EQ(bytes, expected);
  store_->setString(u"NetworkAddress", u"02-00-5G-10-00-AB");  // not hex
  EXPECT_EQ(readAddress(&bytes), NDIS_STATUS_FAILURE);
  store_->setString(u"NetworkAddress", u"02005");  // half a byte
  EXPECT_EQ(readAddress(&bytes), NDIS_STATUS_FAILURE);
  store_->setInteger(u"NetworkAddress", 5);  // not a string
  EXPECT_EQ(readAddress(&bytes), NDIS_STATUS_FAILURE);
}

TEST_F(ConfigTest, OpenValidatesAndCloseFreesEverything) {
  NDIS_CONFIGURATION_OBJECT object = {};
  object.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  object.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
  object.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
  object.NdisHandle = adapter_.handle();
  NDIS_HANDLE other = nullptr;
  EXPECT_EQ(NdisOpenConfigurationEx(&object, &other), NDIS_STATUS_FAILURE);
  object.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
  object.Header.Size = 4;
  EXPECT_EQ(NdisOpenConfigurationEx(&object, &other), NDIS_STATUS_FAILURE);
  object.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
  StandaloneHandle bare("no configuration", nullptr, nullptr);
  object.NdisHandle = bare.handle();
  EXPECT_EQ(NdisOpenConfigurationEx(&object, &other), NDIS_STATUS_FAILURE);
  EXPECT_EQ(other, nullptr);

  NDIS_STATUS status;
  read(u"Name", NdisParameterString, &status);
  NdisCloseConfiguration(config_);
  RecordViolationsScope scope;
  read(u"Name", NdisParameterString, &status);  // the handle is gone
  EXPECT_EQ(status, NDIS_STATUS_FAILURE);
  EXPECT_EQ(rules(scope), std::vector<std::string>{"ndis.config-bad-handle"});
  config_ = nullptr;
}

}  // namespace
