// NdisOpenConfigurationEx / NdisReadConfiguration / NdisWriteConfiguration /
// NdisReadNetworkAddress / NdisCloseConfiguration over a ConfigurationStore. All
// PASSIVE_LEVEL.
//
// A configuration handle owns every NDIS_CONFIGURATION_PARAMETER, string and address it
// hands out (std::deque: stable addresses), so they stay valid until
// NdisCloseConfiguration frees them all at once.
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>

#include "ndis/config/configuration_store.hpp"
#include "nt/rtl/text_codec.hpp"
#include "ndis/core/ndis_object.hpp"
#include "ndis/core/ndis_rules.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/log.hpp"

namespace ndishost::ndis {
namespace {

struct OpenConfiguration {
  ConfigurationStore* store = nullptr;
  std::deque<NDIS_CONFIGURATION_PARAMETER> parameters;
  std::deque<std::u16string> strings;
  std::deque<std::vector<std::uint8_t>> buffers;
  nt::LedgerEntry ledger;
};

std::mutex handlesLock;
std::unordered_set<const OpenConfiguration*> liveHandles;

OpenConfiguration* checkHandle(NDIS_HANDLE handle, const char* ddi, const void* caller) {
  {
    std::lock_guard guard(handlesLock);
    if (liveHandles.contains(static_cast<const OpenConfiguration*>(handle)))
      return static_cast<OpenConfiguration*>(handle);
  }
  reportNdisViolation("ndis.config-bad-handle", NdisBugSubcode::BadHandle, handle, 0, caller,
                      fmt::format("{} was passed {}, which is not an open configuration handle", ddi, handle));
  return nullptr;
}

std::u16string_view keywordOf(PNDIS_STRING keyword) {
  if (keyword == nullptr || keyword->Buffer == nullptr) return {};
  return {reinterpret_cast<const char16_t*>(keyword->Buffer), keyword->Length / sizeof(WCHAR)};
}

std::string narrow(std::u16string_view text) { return nt::rtl::toUtf8(text); }

bool equalsIgnoringCase(std::u16string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char16_t x = a[i] >= u'a' && a[i] <= u'z' ? char16_t(a[i] - 32) : a[i];
    char y = b[i] >= 'a' && b[i] <= 'z' ? char(b[i] - 32) : b[i];
    if (x != static_cast<char16_t>(y)) return false;
  }
  return true;
}

// A registry-style string to ULONG: optional "0x" for base 16, digits of the base only.
std::optional<std::uint32_t> parseInteger(std::u16string_view text, unsigned base) {
  while (!text.empty() && (text.front() == u' ' || text.front() == u'\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == u' ' || text.back() == u'\t')) text.remove_suffix(1);
  if (base == 16 && text.size() > 2 && text[0] == u'0' && (text[1] == u'x' || text[1] == u'X')) text.remove_prefix(2);
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char16_t c : text) {
    unsigned digit;
    if (c >= u'0' && c <= u'9') digit = c - u'0';
    else if (c >= u'a' && c <= u'f') digit = c - u'a' + 10;
    else if (c >= u'A' && c <= u'F') digit = c - u'A' + 10;
    else return std::nullopt;
    if (digit >= base) return std::nullopt;
    value = value * base + digit;
    if (value > 0xFFFFFFFFull) return std::nullopt;
  }
  return static_cast<std::uint32_t>(value);
}

PNDIS_CONFIGURATION_PARAMETER newParameter(OpenConfiguration& h, NDIS_PARAMETER_TYPE type) {
  NDIS_CONFIGURATION_PARAMETER& p = h.parameters.emplace_back();
  std::memset(&p, 0, sizeof(p));
  p.ParameterType = type;
  return &p;
}

PNDIS_CONFIGURATION_PARAMETER integerParameter(OpenConfiguration& h, std::uint32_t value) {
  PNDIS_CONFIGURATION_PARAMETER p = newParameter(h, NdisParameterInteger);
  p->ParameterData.IntegerData = value;
  return p;
}

// `text` may hold inner NULs (a multi-string); the buffer gets one more NUL at the end.
PNDIS_CONFIGURATION_PARAMETER stringParameter(OpenConfiguration& h, NDIS_PARAMETER_TYPE type, std::u16string text) {
  std::u16string& stored = h.strings.emplace_back(std::move(text));
  PNDIS_CONFIGURATION_PARAMETER p = newParameter(h, type);
  p->ParameterData.StringData.Length = static_cast<USHORT>(stored.size() * sizeof(WCHAR));
  p->ParameterData.StringData.MaximumLength = static_cast<USHORT>((stored.size() + 1) * sizeof(WCHAR));
  p->ParameterData.StringData.Buffer = reinterpret_cast<PWSTR>(stored.data());
  return p;
}

std::u16string joinMultiString(const ConfigurationValue::MultiString& values) {
  std::u16string joined;
  for (const auto& value : values) {
    joined += value;
    joined.push_back(u'\0');
  }
  return joined;  // stringParameter adds the final NUL of the double-NUL terminator
}

std::u16string decimal(std::uint32_t value) {
  std::string text = std::to_string(value);
  return {text.begin(), text.end()};
}

// The value as the driver asked for it, or null when it cannot be converted.
PNDIS_CONFIGURATION_PARAMETER convert(OpenConfiguration& h, const ConfigurationValue& value, NDIS_PARAMETER_TYPE type) {
  if (type == NdisParameterInteger || type == NdisParameterHexInteger) {
    // Both come back as NdisParameterInteger; a string value is parsed in the asked base.
    if (const auto* integer = std::get_if<std::uint32_t>(&value.data)) return integerParameter(h, *integer);
    if (const auto* text = std::get_if<std::u16string>(&value.data)) {
      auto parsed = parseInteger(*text, type == NdisParameterHexInteger ? 16 : 10);
      return parsed ? integerParameter(h, *parsed) : nullptr;
    }
    return nullptr;
  }
  // Otherwise the value's own type decides, as the registry's does (an integer asked for as
  // a string comes back as its decimal text).
  if (const auto* integer = std::get_if<std::uint32_t>(&value.data)) {
    return type == NdisParameterString ? stringParameter(h, NdisParameterString, decimal(*integer))
                                       : integerParameter(h, *integer);
  }
  if (const auto* text = std::get_if<std::u16string>(&value.data)) {
    return type == NdisParameterMultiString ? stringParameter(h, NdisParameterMultiString, *text + u'\0')
                                            : stringParameter(h, NdisParameterString, *text);
  }
  if (const auto* multi = std::get_if<ConfigurationValue::MultiString>(&value.data)) {
    return stringParameter(h, NdisParameterMultiString, joinMultiString(*multi));
  }
  const auto& bytes = std::get<ConfigurationValue::Binary>(value.data);
  if (bytes.size() > 0xFFFF) return nullptr;
  auto& stored = h.buffers.emplace_back(bytes);
  PNDIS_CONFIGURATION_PARAMETER p = newParameter(h, NdisParameterBinary);
  p->ParameterData.BinaryData.Length = static_cast<USHORT>(stored.size());
  p->ParameterData.BinaryData.Buffer = stored.data();
  return p;
}

// "NetworkAddress": hex digits, optionally in hyphen-separated pairs, to bytes.
std::optional<std::vector<std::uint8_t>> parseNetworkAddress(std::u16string_view text) {
  std::vector<std::uint8_t> bytes;
  int pending = -1;
  for (char16_t c : text) {
    if (c == u'-') {
      if (pending >= 0) return std::nullopt;  // a hyphen inside a pair
      continue;
    }
    auto digit = parseInteger(std::u16string_view(&c, 1), 16);
    if (!digit) return std::nullopt;
    if (pending < 0) {
      pending = static_cast<int>(*digit);
    } else {
      bytes.push_back(static_cast<std::uint8_t>(pending * 16 + *digit));
      pending = -1;
    }
  }
  if (pending >= 0 || bytes.empty()) return std::nullopt;
  return bytes;
}

}  // namespace
}  // namespace ndishost::ndis

using namespace ndishost;
using namespace ndishost::ndis;

// IRQL PASSIVE_LEVEL. ConfigObject->NdisHandle: a miniport driver handle (the driver's
// parameters), an adapter handle (the adapter's), or a standalone handle with a store.
// NDIS_STATUS_FAILURE for a bad header, an unknown handle or a handle without
// configuration; NDIS_STATUS_RESOURCES when memory is exhausted.
extern "C" NDIS_STATUS NTAPI NdisOpenConfigurationEx(PNDIS_CONFIGURATION_OBJECT ConfigObject,
                                                    PNDIS_HANDLE ConfigurationHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisOpenConfigurationEx", caller);
  auto reject = [&](const std::string& why) {
    nt::logger("ndis").error("NdisOpenConfigurationEx ({}): {}", nt::describeCaller(caller), why);
    return NDIS_STATUS_FAILURE;
  };
  *ConfigurationHandle = nullptr;
  if (ConfigObject == nullptr) return reject("ConfigObject is NULL");
  const NDIS_OBJECT_HEADER& header = ConfigObject->Header;
  if (header.Type != NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT)
    return reject(fmt::format("Header.Type is {:#x}, expected NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT", header.Type));
  if (header.Revision < NDIS_CONFIGURATION_OBJECT_REVISION_1)
    return reject(fmt::format("Header.Revision {} is not NDIS_CONFIGURATION_OBJECT_REVISION_1", header.Revision));
  if (header.Size < NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1)
    return reject(fmt::format("Header.Size {} is smaller than NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1 ({})",
                              header.Size, NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1));
  NdisObject* object = NdisObject::fromHandle(ConfigObject->NdisHandle);
  if (object == nullptr) return reject(fmt::format("NdisHandle {} is not a live NDIS handle", ConfigObject->NdisHandle));
  ConfigurationStore* store = object->configuration();
  if (store == nullptr) return reject(fmt::format("{} ({}) has no configuration", object->describe(), toString(object->kind())));
  auto* handle = new (std::nothrow) OpenConfiguration();
  if (handle == nullptr) return NDIS_STATUS_RESOURCES;
  handle->store = store;
  handle->ledger.kind = nt::ResourceKind::Other;
  handle->ledger.object = handle;
  handle->ledger.callSite = caller;
  handle->ledger.size = sizeof(*handle);
  nt::ledgerAdd(handle->ledger);
  {
    std::lock_guard guard(handlesLock);
    liveHandles.insert(handle);
  }
  *ConfigurationHandle = handle;
  return NDIS_STATUS_SUCCESS;
}

// IRQL PASSIVE_LEVEL. Frees every parameter, string and address handed out through the handle.
extern "C" VOID NTAPI NdisCloseConfiguration(NDIS_HANDLE ConfigurationHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisCloseConfiguration", caller);
  OpenConfiguration* handle = checkHandle(ConfigurationHandle, "NdisCloseConfiguration", caller);
  if (handle == nullptr) return;
  {
    std::lock_guard guard(handlesLock);
    liveHandles.erase(handle);
  }
  nt::ledgerRemove(handle->ledger);
  delete handle;
}

// IRQL PASSIVE_LEVEL. NDIS_STATUS_FAILURE when the keyword is absent or its value cannot be
// read as asked (an integer request of a non-numeric string). Integer and HexInteger
// requests parse string values in base 10 / 16 and come back as NdisParameterInteger. The
// predefined "ProcessorType" and "NdisVersion" keywords answer when the store has none.
extern "C" VOID NTAPI NdisReadConfiguration(PNDIS_STATUS Status, PNDIS_CONFIGURATION_PARAMETER* ParameterValue,
                                           NDIS_HANDLE ConfigurationHandle, PNDIS_STRING Keyword,
                                           NDIS_PARAMETER_TYPE ParameterType) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisReadConfiguration", caller);
  *Status = NDIS_STATUS_FAILURE;
  *ParameterValue = nullptr;
  OpenConfiguration* handle = checkHandle(ConfigurationHandle, "NdisReadConfiguration", caller);
  if (handle == nullptr) return;
  std::u16string_view keyword = keywordOf(Keyword);
  std::optional<ConfigurationValue> value = handle->store->find(keyword);
  if (!value) {
    if (equalsIgnoringCase(keyword, "ProcessorType")) value = ConfigurationValue{std::uint32_t(NdisProcessorAmd64)};
    if (equalsIgnoringCase(keyword, "NdisVersion")) value = ConfigurationValue{std::uint32_t(NDIS_RUNTIME_VERSION_689)};
  }
  if (!value) {
    nt::logger("ndis").debug("NdisReadConfiguration ({}): keyword \"{}\" is not configured",
                             nt::describeCaller(caller), narrow(keyword));
    return;
  }
  PNDIS_CONFIGURATION_PARAMETER parameter = convert(*handle, *value, ParameterType);
  if (parameter == nullptr) {
    nt::logger("ndis").warn("NdisReadConfiguration ({}): keyword \"{}\" cannot be read as parameter type {}",
                            nt::describeCaller(caller), narrow(keyword), static_cast<int>(ParameterType));
    return;
  }
  *ParameterValue = parameter;
  *Status = NDIS_STATUS_SUCCESS;
}

// IRQL PASSIVE_LEVEL. Writes into the store the handle reads (later opens see the value).
// NDIS_STATUS_NOT_SUPPORTED for an unknown ParameterType.
extern "C" VOID NTAPI NdisWriteConfiguration(PNDIS_STATUS Status, NDIS_HANDLE ConfigurationHandle, PNDIS_STRING Keyword,
                                            PNDIS_CONFIGURATION_PARAMETER ParameterValue) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisWriteConfiguration", caller);
  *Status = NDIS_STATUS_FAILURE;
  OpenConfiguration* handle = checkHandle(ConfigurationHandle, "NdisWriteConfiguration", caller);
  if (handle == nullptr || ParameterValue == nullptr) return;
  std::u16string keyword(keywordOf(Keyword));
  if (keyword.empty()) return;
  const auto& data = ParameterValue->ParameterData;
  auto text = [](const NDIS_STRING& s) {
    return std::u16string(reinterpret_cast<const char16_t*>(s.Buffer), s.Buffer != nullptr ? s.Length / sizeof(WCHAR) : 0);
  };
  // Read the type as the integer it is: a driver may pass a value outside the enum.
  int type = 0;
  std::memcpy(&type, &ParameterValue->ParameterType, sizeof(type));
  switch (type) {
    case NdisParameterInteger:
    case NdisParameterHexInteger:
      handle->store->setInteger(keyword, data.IntegerData);
      break;
    case NdisParameterString:
      handle->store->setString(keyword, text(data.StringData));
      break;
    case NdisParameterMultiString: {
      ConfigurationValue::MultiString values;
      std::u16string all = text(data.StringData);
      std::size_t start = 0;
      while (start < all.size()) {
        std::size_t end = all.find(u'\0', start);
        if (end == std::u16string::npos) end = all.size();
        if (end == start) break;  // the empty string that ends a multi-string
        values.push_back(all.substr(start, end - start));
        start = end + 1;
      }
      handle->store->setMultiString(keyword, std::move(values));
      break;
    }
    case NdisParameterBinary: {
      const auto* bytes = static_cast<const std::uint8_t*>(data.BinaryData.Buffer);
      handle->store->setBinary(keyword, std::vector<std::uint8_t>(bytes, bytes + (bytes != nullptr ? data.BinaryData.Length : 0)));
      break;
    }
    default:
      *Status = NDIS_STATUS_NOT_SUPPORTED;
      return;
  }
  *Status = NDIS_STATUS_SUCCESS;
}

// IRQL PASSIVE_LEVEL. The "NetworkAddress" string (hex digits, optionally in
// hyphen-separated pairs) as bytes, valid until NdisCloseConfiguration. NDIS_STATUS_FAILURE
// when it is absent, not a string, or not hex pairs.
extern "C" VOID NTAPI NdisReadNetworkAddress(PNDIS_STATUS Status, PVOID* NetworkAddress, PUINT NetworkAddressLength,
                                            NDIS_HANDLE ConfigurationHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisReadNetworkAddress", caller);
  *Status = NDIS_STATUS_FAILURE;
  *NetworkAddress = nullptr;
  *NetworkAddressLength = 0;
  OpenConfiguration* handle = checkHandle(ConfigurationHandle, "NdisReadNetworkAddress", caller);
  if (handle == nullptr) return;
  std::optional<ConfigurationValue> value = handle->store->find(u"NetworkAddress");
  const auto* text = value ? std::get_if<std::u16string>(&value->data) : nullptr;
  if (text == nullptr) return;
  auto bytes = parseNetworkAddress(*text);
  if (!bytes) {
    nt::logger("ndis").warn("NdisReadNetworkAddress ({}): NetworkAddress \"{}\" is not a hex address",
                            nt::describeCaller(caller), narrow(*text));
    return;
  }
  auto& stored = handle->buffers.emplace_back(std::move(*bytes));
  *NetworkAddress = stored.data();
  *NetworkAddressLength = static_cast<UINT>(stored.size());
  *Status = NDIS_STATUS_SUCCESS;
}
