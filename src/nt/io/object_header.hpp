// The object manager's header, kept just before every device, driver and file object the
// I/O manager creates, as Windows keeps an OBJECT_HEADER before each object body.
//
// It holds the pointer count ObReferenceObject/ObDereferenceObject move and the routine
// that deletes the object when the count reaches zero, so a device object that is still
// referenced when its driver calls IoDeleteDevice lives on until the last reference goes.
#pragma once

#include <wdm.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ndishost::nt {

enum class ObjectType : std::uint8_t { Device, Driver, File };

const char* toString(ObjectType type);

struct alignas(MEMORY_ALLOCATION_ALIGNMENT) ObjectHeader {
  static constexpr std::uint32_t kMagic = 0x6A624F6E;  // "nObj"

  using DeleteProcedure = void (*)(ObjectHeader& header);

  std::uint32_t magic = kMagic;
  ObjectType type;
  std::atomic<std::int64_t> pointerCount{1};  // the creator's reference
  DeleteProcedure deleteProcedure;            // runs when pointerCount reaches zero
  std::size_t allocationSize;

  ObjectHeader(ObjectType t, DeleteProcedure procedure, std::size_t size)
      : type(t), deleteProcedure(procedure), allocationSize(size) {}

  void* body() { return this + 1; }
};

// Allocates a zeroed object of `bodySize` bytes (16-byte aligned) behind a header with one
// reference. The body pointer is what drivers see.
ObjectHeader& allocateObject(ObjectType type, std::size_t bodySize, ObjectHeader::DeleteProcedure deleteProcedure);

// Releases the memory of an object whose count has reached zero (for delete procedures).
void freeObjectMemory(ObjectHeader& header);

// The header of an I/O manager object, or null when `body` is not one (wrong magic).
ObjectHeader* objectHeaderOf(const void* body);

// The same with the type checked: null unless `body` is an object of `type`.
ObjectHeader* objectHeaderOf(const void* body, ObjectType type);

// Take and drop references from runtime code (no attribution, no checks beyond the header).
void referenceObject(ObjectHeader& header);
void dereferenceObject(ObjectHeader& header);

// Objects of other subsystems that drivers may also pass to ObReferenceObject and
// ObDereferenceObject (a thread object from PsCreateSystemThread, say) are handled by
// their owner: the handler adds `delta` (+1 or -1) to the object's count and returns true,
// or returns false when the object is not one of its own. It is asked first, before the
// I/O manager looks for its header before the object. One handler; null to clear.
using ForeignObjectReferenceHandler = bool (*)(void* object, int delta);
void setForeignObjectReferenceHandler(ForeignObjectReferenceHandler handler);

}  // namespace ndishost::nt
