// Windows x64 layouts seen from C++ must equal those seen from C (layout_test_c.c) and
// those the DDI reference implies. The static_asserts make a wrong layout a build error;
// the runtime comparison catches a C/C++ disagreement (e.g. a flag applied to one only).
#include <cstddef>

#include <gtest/gtest.h>
#include <ntddk.h>

extern "C" {
struct layout_c_sizes {
  size_t irp, io_stack_location, device_object, driver_object, mdl, kdpc, ktimer, kevent;
  size_t irp_tail_current_stack_location, device_object_stack_size;
};
void layout_c_sizes_get(layout_c_sizes* s);
}

static_assert(sizeof(IRP) == 0xD0);
static_assert(offsetof(IRP, Tail.Overlay.CurrentStackLocation) == 0xB8);
static_assert(sizeof(IO_STACK_LOCATION) == 0x48);
static_assert(sizeof(DEVICE_OBJECT) == 0x150);
static_assert(sizeof(DRIVER_OBJECT) == 0x150);
static_assert(sizeof(MDL) == 0x30);
static_assert(alignof(IRP) == MEMORY_ALLOCATION_ALIGNMENT);
static_assert(sizeof(L"x"[0]) == 2, "runtime and drivers agree that WCHAR is UTF-16");

TEST(Layout, CAndCppAgreeWithWindowsX64) {
  layout_c_sizes c{};
  layout_c_sizes_get(&c);
  EXPECT_EQ(c.irp, sizeof(IRP));
  EXPECT_EQ(c.io_stack_location, sizeof(IO_STACK_LOCATION));
  EXPECT_EQ(c.device_object, sizeof(DEVICE_OBJECT));
  EXPECT_EQ(c.driver_object, sizeof(DRIVER_OBJECT));
  EXPECT_EQ(c.mdl, sizeof(MDL));
  EXPECT_EQ(c.kdpc, sizeof(KDPC));
  EXPECT_EQ(c.ktimer, sizeof(KTIMER));
  EXPECT_EQ(c.kevent, sizeof(KEVENT));
  EXPECT_EQ(c.irp_tail_current_stack_location, offsetof(IRP, Tail.Overlay.CurrentStackLocation));
  EXPECT_EQ(c.device_object_stack_size, offsetof(DEVICE_OBJECT, StackSize));
}

TEST(Layout, NtStatusClassification) {
  EXPECT_TRUE(NT_SUCCESS(STATUS_SUCCESS));
  EXPECT_TRUE(NT_SUCCESS(STATUS_PENDING));
  EXPECT_TRUE(NT_SUCCESS(STATUS_TIMEOUT));
  EXPECT_FALSE(NT_SUCCESS(STATUS_CANCELLED));
  EXPECT_TRUE(NT_ERROR(STATUS_INSUFFICIENT_RESOURCES));
  EXPECT_TRUE(NT_WARNING(STATUS_BUFFER_OVERFLOW));
  EXPECT_TRUE(NT_INFORMATION(0x40000000L));
  EXPECT_EQ(static_cast<ULONG>(STATUS_MORE_PROCESSING_REQUIRED), 0xC0000016u);
}

struct Outer {
  ULONG before;
  LIST_ENTRY link;
  ULONG after;
};

TEST(Layout, ContainingRecordAndFieldHelpers) {
  Outer o{};
  EXPECT_EQ(CONTAINING_RECORD(&o.link, Outer, link), &o);
  EXPECT_EQ(FIELD_OFFSET(Outer, link), 8);
  EXPECT_EQ(RTL_FIELD_SIZE(Outer, link), sizeof(LIST_ENTRY));
  EXPECT_EQ(RTL_SIZEOF_THROUGH_FIELD(Outer, link), 24u);
  EXPECT_EQ(ALIGN_UP_BY(13, 8), 16u);
  EXPECT_EQ(ALIGN_DOWN_BY(13, 8), 8u);
  ULONG array[7];
  EXPECT_EQ(RTL_NUMBER_OF(array), 7u);
}

TEST(Layout, LargeIntegerParts) {
  LARGE_INTEGER li;
  li.QuadPart = -2;
  EXPECT_EQ(li.LowPart, 0xFFFFFFFEu);
  EXPECT_EQ(li.HighPart, -1);
  EXPECT_EQ(li.u.LowPart, li.LowPart);
}
