// IRPs the I/O manager builds for drivers: device control requests and the read, write,
// flush and shutdown requests of IoBuild(A)synchronousFsdRequest, with their buffers
// described the way the target device asked for (buffered, direct or neither).
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irp_allocator.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/io/object_header.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt {
namespace {

bool checkTarget(PDEVICE_OBJECT device, const char* ddi, const void* caller) {
  if (objectHeaderOf(device, ObjectType::Device) != nullptr) return true;
  reportViolation({"io.invalid-device-object", bugcheck::DriverVerifierDetectedViolation,
                   reinterpret_cast<std::uintptr_t>(device)},
                  caller, fmt::format("{} was passed {}, which is not a device object", ddi, static_cast<void*>(device)));
  return false;
}

// A system buffer of `size` bytes holding a copy of `input`; the rest zeroed.
bool attachSystemBuffer(PIRP irp, std::size_t size, const void* input, std::size_t inputLength) {
  void* buffer = allocateSystemBuffer(size);
  if (buffer == nullptr) return false;
  if (inputLength != 0) std::memcpy(buffer, input, inputLength);
  std::memset(static_cast<char*>(buffer) + inputLength, 0, size - inputLength);
  irp->AssociatedIrp.SystemBuffer = buffer;
  irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
  irpHeaderOf(irp)->systemBuffer = buffer;
  return true;
}

// Direct I/O: an MDL describing the caller's buffer, its pages "locked" for `operation`.
bool attachMdl(PIRP irp, PVOID buffer, ULONG length, LOCK_OPERATION operation) {
  PMDL mdl = IoAllocateMdl(buffer, length, FALSE, FALSE, nullptr);
  if (mdl == nullptr) return false;
  MmProbeAndLockPages(mdl, KernelMode, operation);
  irp->MdlAddress = mdl;
  return true;
}

// Undoes a half-built IRP (allocation failures only).
PIRP abandon(PIRP irp) {
  if (PMDL mdl = irp->MdlAddress) {
    MmUnlockPages(mdl);
    IoFreeMdl(mdl);
    irp->MdlAddress = nullptr;
  }
  releaseIrp(irp);
  return nullptr;
}

PIRP buildFsdRequest(ULONG majorFunction, PDEVICE_OBJECT device, PVOID buffer, ULONG length,
                     PLARGE_INTEGER startingOffset, PIO_STATUS_BLOCK statusBlock, IrpOrigin origin,
                     const void* caller, const char* ddi) {
  if (!checkTarget(device, ddi, caller)) return nullptr;
  PIRP irp = allocateIrp(device->StackSize, origin, caller);
  if (irp == nullptr) return nullptr;
  irp->RequestorMode = KernelMode;
  irp->UserIosb = statusBlock;
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = static_cast<UCHAR>(majorFunction);

  if (majorFunction == IRP_MJ_READ || majorFunction == IRP_MJ_WRITE) {
    const bool read = majorFunction == IRP_MJ_READ;
    next->Parameters.Read.Length = length;
    next->Parameters.Read.ByteOffset.QuadPart = startingOffset != nullptr ? startingOffset->QuadPart : 0;
    irp->Flags |= read ? IRP_READ_OPERATION : IRP_WRITE_OPERATION;
    irp->UserBuffer = buffer;
    if (length != 0 && (device->Flags & DO_BUFFERED_IO) != 0) {
      if (!attachSystemBuffer(irp, length, read ? nullptr : buffer, read ? 0 : length)) return abandon(irp);
      if (read) {
        irp->Flags |= IRP_INPUT_OPERATION;
        irpHeaderOf(irp)->copyBackLength = length;
      }
    } else if (length != 0 && (device->Flags & DO_DIRECT_IO) != 0) {
      // A read writes into the caller's pages; a write reads from them.
      if (!attachMdl(irp, buffer, length, read ? IoWriteAccess : IoReadAccess)) return abandon(irp);
    }
  }
  return irp;
}

}  // namespace
}  // namespace ndishost::nt

using namespace ndishost::nt;

// IRQL <= APC_LEVEL.
extern "C" PIRP NTAPI IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                                    PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                                    ULONG OutputBufferLength, BOOLEAN InternalDeviceIoControl,
                                                    PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(APC_LEVEL, "IoBuildDeviceIoControlRequest", caller);
  if (!checkTarget(DeviceObject, "IoBuildDeviceIoControlRequest", caller)) return nullptr;
  if (InputBuffer == nullptr) InputBufferLength = 0;
  if (OutputBuffer == nullptr) OutputBufferLength = 0;

  PIRP irp = allocateIrp(DeviceObject->StackSize, IrpOrigin::Synchronous, caller);
  if (irp == nullptr) return nullptr;
  irp->RequestorMode = KernelMode;
  irp->UserIosb = IoStatusBlock;
  irp->UserEvent = Event;
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL : IRP_MJ_DEVICE_CONTROL;
  next->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
  next->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
  next->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;

  switch (METHOD_FROM_CTL_CODE(IoControlCode)) {
    case METHOD_BUFFERED: {
      // One system buffer carries the input down and the output back up.
      std::size_t size = std::max(InputBufferLength, OutputBufferLength);
      if (size != 0) {
        if (!attachSystemBuffer(irp, size, InputBuffer, InputBufferLength)) return abandon(irp);
        if (OutputBufferLength != 0) {
          irp->Flags |= IRP_INPUT_OPERATION;
          irpHeaderOf(irp)->copyBackLength = OutputBufferLength;
        }
      }
      irp->UserBuffer = OutputBuffer;
      break;
    }
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT: {
      // The input is buffered; the output buffer is described by an MDL (IN_DIRECT: the
      // device reads from it; OUT_DIRECT: the device writes into it).
      if (InputBufferLength != 0 && !attachSystemBuffer(irp, InputBufferLength, InputBuffer, InputBufferLength)) {
        return abandon(irp);
      }
      if (OutputBufferLength != 0) {
        LOCK_OPERATION operation = METHOD_FROM_CTL_CODE(IoControlCode) == METHOD_IN_DIRECT ? IoReadAccess : IoWriteAccess;
        if (!attachMdl(irp, OutputBuffer, OutputBufferLength, operation)) return abandon(irp);
      }
      irp->UserBuffer = OutputBuffer;
      break;
    }
    case METHOD_NEITHER:
    default:
      next->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
      irp->UserBuffer = OutputBuffer;
      break;
  }
  return irp;
}

// IRQL <= APC_LEVEL.
extern "C" PIRP NTAPI IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                                   ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                                   PIO_STATUS_BLOCK IoStatusBlock) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(APC_LEVEL, "IoBuildSynchronousFsdRequest", caller);
  PIRP irp = buildFsdRequest(MajorFunction, DeviceObject, Buffer, Length, StartingOffset, IoStatusBlock,
                             IrpOrigin::Synchronous, caller, "IoBuildSynchronousFsdRequest");
  if (irp != nullptr) irp->UserEvent = Event;
  return irp;
}

// IRQL <= APC_LEVEL.
extern "C" PIRP NTAPI IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                                    ULONG Length, PLARGE_INTEGER StartingOffset,
                                                    PIO_STATUS_BLOCK IoStatusBlock) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(APC_LEVEL, "IoBuildAsynchronousFsdRequest", caller);
  return buildFsdRequest(MajorFunction, DeviceObject, Buffer, Length, StartingOffset, IoStatusBlock,
                         IrpOrigin::Asynchronous, caller, "IoBuildAsynchronousFsdRequest");
}
