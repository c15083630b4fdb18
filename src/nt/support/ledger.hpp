// Who owns what: the live kernel resources each driver holds, for leak reports at unload.
//
// Each subsystem embeds a LedgerEntry in the header it already keeps beside the object it
// hands out (a pool block's header, an IRP's allocation header, an IO_WORKITEM), so
// tracking costs no allocation: add() and remove() link and unlink the entry under a
// lock. At driver unload the loader asks for the entries whose owner is that driver's
// image and reports each one (kind, address, tag, size, call site).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nt/support/driver_image.hpp"

namespace ndishost::nt {

enum class ResourceKind : std::uint8_t {
  Pool,
  Irp,
  Mdl,
  WorkItem,
  Timer,
  Dpc,
  DeviceObject,
  Lookaside,
  Other,
};

const char* toString(ResourceKind kind);

struct LedgerEntry {
  LedgerEntry* prev = nullptr;
  LedgerEntry* next = nullptr;
  ResourceKind kind = ResourceKind::Other;
  const DriverImage* owner = nullptr;  // nullptr: the host's own resource (not reported)
  const void* object = nullptr;        // what the driver holds (the pointer it was given)
  const void* callSite = nullptr;      // return address of the allocating call
  std::uint32_t tag = 0;               // pool tag, 0 when the kind has none
  std::size_t size = 0;
};

struct LeakRecord {
  ResourceKind kind;
  const void* object;
  const void* callSite;
  std::uint32_t tag;
  std::size_t size;
};

// Links `entry`; fills entry.owner from callSite (findDriverImage) when owner is unset.
void ledgerAdd(LedgerEntry& entry);
void ledgerRemove(LedgerEntry& entry);

// Live entries owned by `image` (pointer identity), oldest first.
std::vector<LeakRecord> ledgerOutstanding(const DriverImage& image);
std::size_t ledgerCount(const DriverImage* image, ResourceKind kind);

// "Ndhs" for 0x7368644E: the four characters of a pool tag as Windows tools print them.
std::string tagToString(std::uint32_t tag);

}  // namespace ndishost::nt
