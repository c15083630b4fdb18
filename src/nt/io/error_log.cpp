// The system error log: entries drivers write go to the runtime's "io" log.
#include <cstring>
#include <new>
#include <string>

#include <fmt/format.h>

#include "nt/io/io_objects.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/support/log.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt {
namespace {

struct alignas(MEMORY_ALLOCATION_ALIGNMENT) ErrorLogHeader {
  static constexpr std::uint32_t kMagic = 0x674C7245;  // "ErLg"
  std::uint32_t magic;
  UCHAR size;
  PVOID ioObject;
};

ErrorLogHeader* headerOf(PVOID entry, const char* ddi, const void* caller) {
  auto* header = entry != nullptr ? static_cast<ErrorLogHeader*>(entry) - 1 : nullptr;
  if (header != nullptr && header->magic == ErrorLogHeader::kMagic) return header;
  reportViolation({"errorlog.invalid-entry", bugcheck::DriverVerifierDetectedViolation,
                   reinterpret_cast<std::uintptr_t>(entry)},
                  caller, fmt::format("{} was passed {}, which is not an entry from IoAllocateErrorLogEntry", ddi, entry));
  return nullptr;
}

void release(ErrorLogHeader* header) {
  header->magic = 0;
  ::operator delete(static_cast<void*>(header), std::align_val_t{MEMORY_ALLOCATION_ALIGNMENT});
}

std::string describeIoObject(PVOID ioObject) {
  ObjectHeader* header = objectHeaderOf(ioObject);
  if (header == nullptr) return "?";
  if (header->type == ObjectType::Device) return describeDevice(static_cast<PDEVICE_OBJECT>(ioObject));
  if (header->type == ObjectType::Driver) return driverServiceName(static_cast<PDRIVER_OBJECT>(ioObject));
  return "?";
}

// The insertion strings: NumberOfStrings NUL-terminated UTF-16 strings at StringOffset.
std::string insertionStrings(const IO_ERROR_LOG_PACKET& packet, UCHAR size) {
  std::string text;
  const auto* base = reinterpret_cast<const char*>(&packet);
  std::size_t offset = packet.StringOffset;
  for (USHORT i = 0; i < packet.NumberOfStrings && offset + sizeof(WCHAR) <= size; ++i) {
    std::u16string s;
    while (offset + sizeof(WCHAR) <= size) {
      char16_t c;
      std::memcpy(&c, base + offset, sizeof(c));
      offset += sizeof(WCHAR);
      if (c == 0) break;
      s.push_back(c);
    }
    text += fmt::format(" \"{}\"", narrow(s));
  }
  return text;
}

}  // namespace
}  // namespace ndishost::nt

using namespace ndishost::nt;

// IRQL <= DISPATCH_LEVEL. Null when EntrySize cannot hold a packet or exceeds ERROR_LOG_MAXIMUM_SIZE.
extern "C" PVOID NTAPI IoAllocateErrorLogEntry(PVOID IoObject, UCHAR EntrySize) {
  checkIrqlAtMost(DISPATCH_LEVEL, "IoAllocateErrorLogEntry", __builtin_return_address(0));
  if (EntrySize < sizeof(IO_ERROR_LOG_PACKET) || EntrySize > ERROR_LOG_MAXIMUM_SIZE) return nullptr;
  void* memory = ::operator new(sizeof(ErrorLogHeader) + EntrySize, std::align_val_t{MEMORY_ALLOCATION_ALIGNMENT},
                                std::nothrow);
  if (memory == nullptr) return nullptr;
  auto* header = new (memory) ErrorLogHeader{ErrorLogHeader::kMagic, EntrySize, IoObject};
  std::memset(header + 1, 0, EntrySize);
  return header + 1;
}

// IRQL <= DISPATCH_LEVEL. Logs the entry and frees it.
extern "C" VOID NTAPI IoWriteErrorLogEntry(PVOID ElEntry) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoWriteErrorLogEntry", caller);
  ErrorLogHeader* header = headerOf(ElEntry, "IoWriteErrorLogEntry", caller);
  if (header == nullptr) return;
  const auto& packet = *static_cast<const IO_ERROR_LOG_PACKET*>(ElEntry);
  std::string dump;
  std::size_t words = std::min<std::size_t>(packet.DumpDataSize / sizeof(ULONG),
                                            (header->size - FIELD_OFFSET(IO_ERROR_LOG_PACKET, DumpData)) / sizeof(ULONG));
  for (std::size_t i = 0; i < words; ++i) dump += fmt::format(" {:08X}", packet.DumpData[i]);
  logger("io").warn("error log: {}: ErrorCode 0x{:08X} UniqueErrorValue {} FinalStatus {} {} retry {} sequence {}{}{}",
                    describeIoObject(header->ioObject), static_cast<ULONG>(packet.ErrorCode), packet.UniqueErrorValue,
                    statusName(packet.FinalStatus), majorFunctionName(packet.MajorFunctionCode), packet.RetryCount,
                    packet.SequenceNumber, dump.empty() ? "" : " dump" + dump, insertionStrings(packet, header->size));
  release(header);
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI IoFreeErrorLogEntry(PVOID ElEntry) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoFreeErrorLogEntry", caller);
  if (ErrorLogHeader* header = headerOf(ElEntry, "IoFreeErrorLogEntry", caller)) release(header);
}
