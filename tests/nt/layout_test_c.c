/* The Windows x64 layouts, as a C driver sees them. The C++ half of the test compares
 * these numbers with what C++ sees, so both languages agree with Windows and each other. */
#include <ntddk.h>

#define CHECK_SIZE(type, size) C_ASSERT(sizeof(type) == (size))
#define CHECK_OFFSET(type, member, offset) C_ASSERT(FIELD_OFFSET(type, member) == (offset))

CHECK_SIZE(LIST_ENTRY, 0x10);
CHECK_SIZE(UNICODE_STRING, 0x10);
CHECK_SIZE(IO_STATUS_BLOCK, 0x10);
CHECK_SIZE(KEVENT, 0x18);
CHECK_SIZE(KDPC, 0x40);
CHECK_SIZE(KTIMER, 0x40);
CHECK_SIZE(MDL, 0x30);
CHECK_OFFSET(MDL, ByteCount, 0x28);
CHECK_OFFSET(MDL, ByteOffset, 0x2C);
CHECK_SIZE(IRP, 0xD0);
CHECK_OFFSET(IRP, MdlAddress, 0x08);
CHECK_OFFSET(IRP, IoStatus, 0x30);
CHECK_OFFSET(IRP, StackCount, 0x42);
CHECK_OFFSET(IRP, CurrentLocation, 0x43);
CHECK_OFFSET(IRP, Cancel, 0x44);
CHECK_OFFSET(IRP, CancelRoutine, 0x68);
CHECK_OFFSET(IRP, Tail.Overlay.CurrentStackLocation, 0xB8);
CHECK_SIZE(IO_STACK_LOCATION, 0x48);
CHECK_OFFSET(IO_STACK_LOCATION, Parameters, 0x08);
CHECK_OFFSET(IO_STACK_LOCATION, DeviceObject, 0x28);
CHECK_OFFSET(IO_STACK_LOCATION, CompletionRoutine, 0x38);
CHECK_OFFSET(IO_STACK_LOCATION, Context, 0x40);
CHECK_OFFSET(IO_STACK_LOCATION, Parameters.DeviceIoControl.InputBufferLength, 0x10);
CHECK_OFFSET(IO_STACK_LOCATION, Parameters.DeviceIoControl.IoControlCode, 0x18);
CHECK_OFFSET(IO_STACK_LOCATION, Parameters.DeviceIoControl.Type3InputBuffer, 0x20);
CHECK_OFFSET(IO_STACK_LOCATION, Parameters.Power.Type, 0x10);
CHECK_OFFSET(IO_STACK_LOCATION, Parameters.Power.State, 0x18);
CHECK_SIZE(DEVICE_OBJECT, 0x150);
CHECK_OFFSET(DEVICE_OBJECT, DeviceExtension, 0x40);
CHECK_OFFSET(DEVICE_OBJECT, StackSize, 0x4C);
CHECK_OFFSET(DEVICE_OBJECT, Dpc, 0xC8);
CHECK_OFFSET(DEVICE_OBJECT, DeviceLock, 0x118);
CHECK_SIZE(DRIVER_OBJECT, 0x150);
CHECK_OFFSET(DRIVER_OBJECT, DriverExtension, 0x30);
CHECK_OFFSET(DRIVER_OBJECT, DriverUnload, 0x68);
CHECK_OFFSET(DRIVER_OBJECT, MajorFunction, 0x70);
CHECK_SIZE(KAPC, 0x58);
CHECK_SIZE(FILE_OBJECT, 0xD8);
CHECK_SIZE(KMUTEX, 0x38);
CHECK_SIZE(FAST_MUTEX, 0x38);
CHECK_SIZE(KLOCK_QUEUE_HANDLE, 0x18);
CHECK_SIZE(LARGE_INTEGER, 8);
CHECK_SIZE(ULONG, 4);
CHECK_SIZE(LONG, 4);
CHECK_SIZE(WCHAR, 2);
CHECK_SIZE(BOOLEAN, 1);
CHECK_SIZE(ULONG_PTR, 8);

/* L"..." must be UTF-16 for UNICODE_STRING to mean what drivers expect. */
C_ASSERT(sizeof(L"NDIS") == 10);
C_ASSERT(sizeof(L"NDIS"[0]) == sizeof(WCHAR));

struct layout_c_sizes {
  size_t irp, io_stack_location, device_object, driver_object, mdl, kdpc, ktimer, kevent;
  size_t irp_tail_current_stack_location, device_object_stack_size;
};

void layout_c_sizes_get(struct layout_c_sizes *s);
void layout_c_sizes_get(struct layout_c_sizes *s) {
  s->irp = sizeof(IRP);
  s->io_stack_location = sizeof(IO_STACK_LOCATION);
  s->device_object = sizeof(DEVICE_OBJECT);
  s->driver_object = sizeof(DRIVER_OBJECT);
  s->mdl = sizeof(MDL);
  s->kdpc = sizeof(KDPC);
  s->ktimer = sizeof(KTIMER);
  s->kevent = sizeof(KEVENT);
  s->irp_tail_current_stack_location = FIELD_OFFSET(IRP, Tail.Overlay.CurrentStackLocation);
  s->device_object_stack_size = FIELD_OFFSET(DEVICE_OBJECT, StackSize);
}
