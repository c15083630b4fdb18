// Object headers and the Ob reference-count DDIs for device, driver and file objects.
#include "nt/io/object_header.hpp"

#include <cstring>
#include <new>

#include <fmt/format.h>

#include "nt/io/irql_rules.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt {
namespace {

constexpr std::size_t kHeaderSize = sizeof(ObjectHeader);
static_assert(kHeaderSize % MEMORY_ALLOCATION_ALIGNMENT == 0, "object bodies must stay 16-byte aligned");

std::atomic<ForeignObjectReferenceHandler> foreignHandler{nullptr};

bool handledElsewhere(PVOID object, int delta) {
  ForeignObjectReferenceHandler handler = foreignHandler.load(std::memory_order_acquire);
  return handler != nullptr && handler(object, delta);
}

LONG_PTR reference(PVOID object, const void* caller, const char* ddi) {
  checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
  if (handledElsewhere(object, +1)) return 1;
  ObjectHeader* header = objectHeaderOf(object);
  if (header == nullptr) {
    reportViolation({"ob.not-an-object", bugcheck::DriverVerifierDetectedViolation, reinterpret_cast<std::uintptr_t>(object)},
                    caller, fmt::format("{} on {} which is not a device, driver or file object", ddi, object));
    return 0;
  }
  return static_cast<LONG_PTR>(header->pointerCount.fetch_add(1, std::memory_order_relaxed) + 1);
}

LONG_PTR dereference(PVOID object, const void* caller, const char* ddi) {
  checkIrqlAtMost(DISPATCH_LEVEL, ddi, caller);
  if (handledElsewhere(object, -1)) return 1;
  ObjectHeader* header = objectHeaderOf(object);
  if (header == nullptr) {
    reportViolation({"ob.not-an-object", bugcheck::DriverVerifierDetectedViolation, reinterpret_cast<std::uintptr_t>(object)},
                    caller, fmt::format("{} on {} which is not a device, driver or file object", ddi, object));
    return 0;
  }
  // The reference that brings the count to zero deletes the object; a further one finds
  // freed memory, which only a sanitizer build can catch.
  std::int64_t previous = header->pointerCount.fetch_sub(1, std::memory_order_acq_rel);
  if (previous == 1) header->deleteProcedure(*header);
  return static_cast<LONG_PTR>(previous - 1);
}

}  // namespace

const char* toString(ObjectType type) {
  switch (type) {
    case ObjectType::Device: return "device";
    case ObjectType::Driver: return "driver";
    case ObjectType::File: return "file";
  }
  return "?";
}

ObjectHeader& allocateObject(ObjectType type, std::size_t bodySize, ObjectHeader::DeleteProcedure deleteProcedure) {
  std::size_t total = kHeaderSize + bodySize;
  void* memory = ::operator new(total, std::align_val_t{MEMORY_ALLOCATION_ALIGNMENT});
  std::memset(memory, 0, total);
  return *new (memory) ObjectHeader(type, deleteProcedure, total);
}

void freeObjectMemory(ObjectHeader& header) {
  header.magic = 0;  // a stale pointer used after this is recognisably not an object
  header.~ObjectHeader();
  ::operator delete(static_cast<void*>(&header), std::align_val_t{MEMORY_ALLOCATION_ALIGNMENT});
}

ObjectHeader* objectHeaderOf(const void* body) {
  if (body == nullptr) return nullptr;
  auto* header = reinterpret_cast<ObjectHeader*>(const_cast<char*>(static_cast<const char*>(body)) - kHeaderSize);
  return header->magic == ObjectHeader::kMagic ? header : nullptr;
}

ObjectHeader* objectHeaderOf(const void* body, ObjectType type) {
  ObjectHeader* header = objectHeaderOf(body);
  return header != nullptr && header->type == type ? header : nullptr;
}

void setForeignObjectReferenceHandler(ForeignObjectReferenceHandler handler) {
  foreignHandler.store(handler, std::memory_order_release);
}

void referenceObject(ObjectHeader& header) { header.pointerCount.fetch_add(1, std::memory_order_relaxed); }

void dereferenceObject(ObjectHeader& header) {
  if (header.pointerCount.fetch_sub(1, std::memory_order_acq_rel) == 1) header.deleteProcedure(header);
}

}  // namespace ndishost::nt

using namespace ndishost::nt;

// IRQL <= DISPATCH_LEVEL.
extern "C" LONG_PTR FASTCALL ObfReferenceObject(PVOID Object) {
  return reference(Object, __builtin_return_address(0), "ObReferenceObject");
}

// IRQL <= DISPATCH_LEVEL.
extern "C" LONG_PTR FASTCALL ObfDereferenceObject(PVOID Object) {
  return dereference(Object, __builtin_return_address(0), "ObDereferenceObject");
}

// IRQL <= DISPATCH_LEVEL. The tag only serves reference tracing, which ndishost does not keep.
extern "C" LONG_PTR FASTCALL ObfReferenceObjectWithTag(PVOID Object, ULONG Tag) {
  (void)Tag;
  return reference(Object, __builtin_return_address(0), "ObReferenceObjectWithTag");
}

// IRQL <= DISPATCH_LEVEL.
extern "C" LONG_PTR FASTCALL ObfDereferenceObjectWithTag(PVOID Object, ULONG Tag) {
  (void)Tag;
  return dereference(Object, __builtin_return_address(0), "ObDereferenceObjectWithTag");
}
