// File objects, as far as kernel drivers meet them: IoGetDeviceObjectPointer opens a
// named device (IRP_MJ_CREATE, then IRP_MJ_CLEANUP as its handle closes) and returns the
// file object, whose last dereference sends IRP_MJ_CLOSE and releases the device.
#include <atomic>
#include <new>

#include <fmt/format.h>

#include "nt/io/io_objects.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/io/object_namespace.hpp"
#include "nt/support/log.hpp"

namespace ndishost::nt {
namespace {

constexpr std::size_t kFileStateOffset = alignObjectPart(sizeof(FILE_OBJECT));

struct FileState {
  WORK_QUEUE_ITEM closeItem;  // the close runs at PASSIVE_LEVEL, deferred when needed
};

FileState& fileState(PFILE_OBJECT file) {
  return *std::launder(reinterpret_cast<FileState*>(reinterpret_cast<char*>(file) + kFileStateOffset));
}

std::atomic_ref<LONG> openCount(PDEVICE_OBJECT device) { return std::atomic_ref<LONG>(device->ReferenceCount); }

PDEVICE_OBJECT topOf(PDEVICE_OBJECT device) {
  std::lock_guard guard(ioDatabaseLock());
  while (device->AttachedDevice != nullptr) device = device->AttachedDevice;
  return device;
}

void sendFileIrp(PFILE_OBJECT file, UCHAR major) {
  NTSTATUS status = sendIrpSynchronously(topOf(file->DeviceObject), major, 0,
                                         [file](PIO_STACK_LOCATION location) { location->FileObject = file; }, nullptr);
  if (!NT_SUCCESS(status) && status != STATUS_INVALID_DEVICE_REQUEST) {
    logger("io").debug("{} for file object {}: {}", majorFunctionName(major), static_cast<void*>(file),
                       statusName(status));
  }
}

void freeFile(PFILE_OBJECT file) {
  PDEVICE_OBJECT device = file->DeviceObject;
  ObjectHeader* header = objectHeaderOf(file);
  fileState(file).~FileState();
  freeObjectMemory(*header);
  dereferenceObject(*objectHeaderOf(device));
}

VOID NTAPI closeFile(PVOID parameter) {
  auto* file = static_cast<PFILE_OBJECT>(parameter);
  sendFileIrp(file, IRP_MJ_CLOSE);
  openCount(file->DeviceObject).fetch_sub(1);
  freeFile(file);
}

// Runs when the file object's last reference goes, at whatever IRQL that happened.
void deleteFileObject(ObjectHeader& header) {
  auto* file = static_cast<PFILE_OBJECT>(header.body());
  if (KeGetCurrentIrql() == PASSIVE_LEVEL) {
    closeFile(file);
    return;
  }
  ExInitializeWorkItem(&fileState(file).closeItem, &closeFile, file);
  ExQueueWorkItem(&fileState(file).closeItem, DelayedWorkQueue);
}

}  // namespace
}  // namespace ndishost::nt

using namespace ndishost::nt;

// PASSIVE_LEVEL. *DeviceObject is the top of the named device's stack; *FileObject holds
// the reference that keeps the device, released with ObDereferenceObject(*FileObject).
extern "C" NTSTATUS NTAPI IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess,
                                                   PFILE_OBJECT* FileObject, PDEVICE_OBJECT* DeviceObject) {
  checkIrqlAtMost(PASSIVE_LEVEL, "IoGetDeviceObjectPointer", __builtin_return_address(0));
  if (ObjectName == nullptr || FileObject == nullptr || DeviceObject == nullptr) return STATUS_INVALID_PARAMETER;
  std::u16string_view name = toView(ObjectName);
  if (name.empty() || name.front() != u'\\') return STATUS_OBJECT_NAME_INVALID;
  PDEVICE_OBJECT device = namespaceReferenceDevice(name);
  if (device == nullptr) return STATUS_OBJECT_NAME_NOT_FOUND;

  NTSTATUS refusal = STATUS_SUCCESS;
  {
    std::lock_guard guard(ioDatabaseLock());
    if (deviceState(device).deletePending || (device->Flags & DO_DEVICE_INITIALIZING) != 0) {
      refusal = STATUS_NO_SUCH_DEVICE;
    } else if ((device->Flags & DO_EXCLUSIVE) != 0 && openCount(device).load() != 0) {
      refusal = STATUS_ACCESS_DENIED;
    }
  }
  if (!NT_SUCCESS(refusal)) {
    dereferenceObject(*objectHeaderOf(device));
    return refusal;
  }

  ObjectHeader& header = allocateObject(ObjectType::File, kFileStateOffset + sizeof(FileState), &deleteFileObject);
  auto* file = static_cast<PFILE_OBJECT>(header.body());
  new (&fileState(file)) FileState;
  file->Type = IO_TYPE_FILE;
  file->Size = sizeof(FILE_OBJECT);
  file->DeviceObject = device;  // the file's reference on the device is the one taken above
  file->ReadAccess = (DesiredAccess & (FILE_READ_DATA | 0x80000000u /* GENERIC_READ */)) != 0;
  file->WriteAccess = (DesiredAccess & (FILE_WRITE_DATA | FILE_APPEND_DATA | 0x40000000u /* GENERIC_WRITE */)) != 0;
  KeInitializeEvent(&file->Lock, SynchronizationEvent, FALSE);
  KeInitializeEvent(&file->Event, NotificationEvent, FALSE);
  file->IrpList.Flink = file->IrpList.Blink = &file->IrpList;

  NTSTATUS status = sendIrpSynchronously(topOf(device), IRP_MJ_CREATE, 0,
                                         [file](PIO_STACK_LOCATION location) { location->FileObject = file; }, nullptr);
  if (!NT_SUCCESS(status)) {
    // Never opened, so no close: just drop the object and the device reference.
    freeFile(file);
    return status;
  }
  openCount(device).fetch_add(1);
  // Windows opens a handle, references the file object and closes the handle again:
  // the driver sees the cleanup now and the close when the last reference goes.
  sendFileIrp(file, IRP_MJ_CLEANUP);
  *FileObject = file;
  *DeviceObject = topOf(device);
  return STATUS_SUCCESS;
}
