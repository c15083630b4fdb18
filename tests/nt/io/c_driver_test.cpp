// Drives the C test driver (c_driver.c) through AddDevice, its IOCTLs and PnP removal.
#include "io_test_support.hpp"

#include "c_driver.h"

using namespace iotest;
using namespace ndishost::nt;

namespace {

struct CDriverStack {
  TestDriver bus{u"cbus"};
  DriverObjectHandle driver = createDriverObject(u"cdriver", &CDriverEntry, nullptr);
  PDEVICE_OBJECT pdo = bus.createDevice("pdo", [](PDEVICE_OBJECT, PIRP irp) {
    PIO_STACK_LOCATION location = IoGetCurrentIrpStackLocation(irp);
    if (location->MajorFunction == IRP_MJ_DEVICE_CONTROL) return completeWith(irp, STATUS_SUCCESS, 1);
    if (location->MajorFunction == IRP_MJ_PNP && location->MinorFunction == IRP_MN_REMOVE_DEVICE) {
      return completeWith(irp, STATUS_SUCCESS);
    }
    NTSTATUS status = irp->IoStatus.Status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
  });
  PDEVICE_OBJECT fdo = nullptr;

  CDriverStack() {
    EXPECT_EQ(callDriverEntry(driver.get(), u"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\cdriver"),
              STATUS_SUCCESS);
    EXPECT_EQ(driver->DriverExtension->AddDevice(driver.get(), pdo), STATUS_SUCCESS);
    fdo = driver->DeviceObject;
  }

  // Sends an IOCTL without waiting; returns the IRP's dispatch status.
  NTSTATUS start(ULONG code, ULONG* output, Event& done, IO_STATUS_BLOCK& iosb) {
    PIRP irp = IoBuildDeviceIoControlRequest(code, fdo, nullptr, 0, output, sizeof(ULONG), FALSE, &done.event, &iosb);
    return IoCallDriver(fdo, irp);
  }
};

}  // namespace

TEST_F(IoTest, CDriverAddsItsDeviceOnTopOfThePdo) {
  CDriverStack stack;
  ASSERT_NE(stack.fdo, nullptr);
  EXPECT_EQ(stack.pdo->AttachedDevice, stack.fdo);
  EXPECT_EQ(stack.fdo->StackSize, 2);
  EXPECT_EQ(stack.fdo->Flags & DO_DEVICE_INITIALIZING, 0u);
  EXPECT_TRUE(callDriverUnload(stack.driver.get()));
  sendIrpSynchronously(stack.fdo, IRP_MJ_PNP, IRP_MN_REMOVE_DEVICE, nullptr, nullptr);
}

TEST_F(IoTest, CDriverQueuesForwardsAndWorks) {
  CDriverStack stack;
  auto* ext = static_cast<PCDRIVER_EXTENSION>(stack.fdo->DeviceExtension);

  Event queuedDone[2];
  IO_STATUS_BLOCK queuedIosb[2] = {};
  ULONG unused[2] = {};
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(stack.start(IOCTL_CDRIVER_QUEUE, &unused[i], queuedDone[i], queuedIosb[i]), STATUS_PENDING);
  }
  EXPECT_FALSE(queuedDone[0].wait(0));

  Event drainDone;
  IO_STATUS_BLOCK drainIosb{};
  ULONG drained = 0;
  EXPECT_EQ(stack.start(IOCTL_CDRIVER_DRAIN, &drained, drainDone, drainIosb), STATUS_SUCCESS);
  EXPECT_EQ(drained, 2u);
  for (auto& done : queuedDone) EXPECT_TRUE(done.wait());

  Event forwardDone;
  IO_STATUS_BLOCK forwardIosb{};
  ULONG out = 0;
  EXPECT_EQ(stack.start(IOCTL_CDRIVER_FORWARD, &out, forwardDone, forwardIosb), STATUS_SUCCESS);
  EXPECT_EQ(forwardIosb.Information, 1001u);
  EXPECT_EQ(ext->Forwarded, 1);

  Event workDone;
  IO_STATUS_BLOCK workIosb{};
  ULONG work = 0;
  EXPECT_EQ(stack.start(IOCTL_CDRIVER_WORK, &work, workDone, workIosb), STATUS_PENDING);
  ASSERT_TRUE(workDone.wait());
  EXPECT_EQ(workIosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(work, 0x600Du);
  EXPECT_EQ(ext->WorkIrql, PASSIVE_LEVEL);
  runtime_.runUntilIdle();

  // A queued IRP is cancelled through the queue; removal then waits for nothing.
  Event cancelDone;
  IO_STATUS_BLOCK cancelIosb{};
  ULONG cancelOut = 0;
  PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_CDRIVER_QUEUE, stack.fdo, nullptr, 0, &cancelOut, sizeof(ULONG),
                                           FALSE, &cancelDone.event, &cancelIosb);
  EXPECT_EQ(IoCallDriver(stack.fdo, irp), STATUS_PENDING);
  EXPECT_TRUE(IoCancelIrp(irp));
  ASSERT_TRUE(cancelDone.wait());
  EXPECT_EQ(cancelIosb.Status, STATUS_CANCELLED);

  EXPECT_EQ(sendIrpSynchronously(stack.fdo, IRP_MJ_PNP, IRP_MN_REMOVE_DEVICE, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_TRUE(driverDevices(stack.driver.get()).empty());
  EXPECT_EQ(stack.pdo->AttachedDevice, nullptr);
}
