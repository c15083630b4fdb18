// IRPs down a device stack and completions back up: ordering, SL_INVOKE_ON_* flags,
// PendingReturned propagation, STATUS_MORE_PROCESSING_REQUIRED and reuse, and the rules
// IofCallDriver/IofCompleteRequest enforce.
#include "io_test_support.hpp"

#include <atomic>

#include "nt/io/irp_allocator.hpp"
#include "nt/io/object_header.hpp"
#include "nt/support/trace.hpp"
#include "nt/support/violation.hpp"

using namespace iotest;
using namespace ndishost::nt;

namespace {

// bottom <- middle <- top, each from its own driver, each journaling what it sees.
struct ThreeDeepStack {
  TestDriver busDriver{u"bus"};
  TestDriver functionDriver{u"function"};
  TestDriver filterDriver{u"filter"};
  Journal journal;
  NTSTATUS bottomStatus = STATUS_SUCCESS;
  CompletionProbe middleProbe, topProbe;
  PDEVICE_OBJECT bottom, middle, top;

  ThreeDeepStack() {
    bottom = busDriver.createDevice("bottom", [this](PDEVICE_OBJECT, PIRP irp) {
      journal.add("dispatch bottom");
      return completeWith(irp, bottomStatus, 42);
    });
    middle = functionDriver.createDevice(
        "middle",
        [this](PDEVICE_OBJECT device, PIRP irp) {
          journal.add("dispatch middle");
          IoCopyCurrentIrpStackLocationToNext(irp);
          // Only on error: a successful IRP must skip this routine.
          IoSetCompletionRoutine(irp, &probeCompletion, &middleProbe, FALSE, TRUE, FALSE);
          return IoCallDriver(testDevice(device).lower, irp);
        },
        bottom);
    top = filterDriver.createDevice(
        "top",
        [this](PDEVICE_OBJECT device, PIRP irp) {
          journal.add("dispatch top");
          IoCopyCurrentIrpStackLocationToNext(irp);
          IoSetCompletionRoutine(irp, &probeCompletion, &topProbe, TRUE, TRUE, TRUE);
          return IoCallDriver(testDevice(device).lower, irp);
        },
        middle);
    middleProbe.routine = [this](PDEVICE_OBJECT device, PIRP irp) {
      journal.add(device == middle ? "completion middle" : "completion middle: wrong device");
      if (irp->PendingReturned) IoMarkIrpPending(irp);
      return STATUS_SUCCESS;
    };
    topProbe.routine = [this](PDEVICE_OBJECT device, PIRP irp) {
      journal.add(device == top ? "completion top" : "completion top: wrong device");
      if (irp->PendingReturned) IoMarkIrpPending(irp);
      return STATUS_SUCCESS;
    };
  }
};

// Sends a driver-allocated IRP to the stack; the originator's routine takes it back.
struct OriginatorIrp {
  PIRP irp;
  CompletionProbe probe;
  Journal* journal;
  std::atomic<bool> pendingReturned{false};
  Event done;

  OriginatorIrp(PDEVICE_OBJECT target, Journal& j, UCHAR major = IRP_MJ_READ) : journal(&j) {
    irp = IoAllocateIrp(target->StackSize, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = major;
    probe.routine = [this](PDEVICE_OBJECT device, PIRP completed) {
      journal->add(device == nullptr ? "completion originator" : "completion originator: has a device");
      pendingReturned = completed->PendingReturned != FALSE;
      done.set();
      return STATUS_MORE_PROCESSING_REQUIRED;
    };
    IoSetCompletionRoutine(irp, &probeCompletion, &probe, TRUE, TRUE, TRUE);
  }
  ~OriginatorIrp() { IoFreeIrp(irp); }
};

}  // namespace

TEST_F(IoTest, AttachingBuildsTheStackAndSizesIt) {
  ThreeDeepStack stack;
  EXPECT_EQ(stack.bottom->StackSize, 1);
  EXPECT_EQ(stack.middle->StackSize, 2);
  EXPECT_EQ(stack.top->StackSize, 3);
  EXPECT_EQ(testDevice(stack.top).lower, stack.middle);
  EXPECT_EQ(stack.bottom->AttachedDevice, stack.middle);
  EXPECT_EQ(IoGetAttachedDevice(stack.bottom), stack.top);
  EXPECT_EQ(lowerDevice(stack.top), stack.middle);
}

TEST_F(IoTest, IrpGoesDownAndCompletionRoutinesRunBottomUpPerInvokeFlags) {
  ThreeDeepStack stack;
  OriginatorIrp request(stack.top, stack.journal);
  EXPECT_EQ(IoCallDriver(stack.top, request.irp), STATUS_SUCCESS);
  EXPECT_EQ(stack.journal.entries(),
            (std::vector<std::string>{"dispatch top", "dispatch middle", "dispatch bottom", "completion top",
                                      "completion originator"}));
  EXPECT_EQ(request.irp->IoStatus.Status, STATUS_SUCCESS);
  EXPECT_EQ(request.irp->IoStatus.Information, 42u);
  EXPECT_FALSE(request.pendingReturned);
  // Completion walked back past the top: no stack location is current any more.
  EXPECT_EQ(request.irp->CurrentLocation, request.irp->StackCount + 1);
}

TEST_F(IoTest, ErrorCompletionInvokesOnErrorRoutines) {
  ThreeDeepStack stack;
  stack.bottomStatus = STATUS_DEVICE_NOT_CONNECTED;
  OriginatorIrp request(stack.top, stack.journal);
  EXPECT_EQ(IoCallDriver(stack.top, request.irp), STATUS_DEVICE_NOT_CONNECTED);
  EXPECT_EQ(stack.journal.entries(),
            (std::vector<std::string>{"dispatch top", "dispatch middle", "dispatch bottom", "completion middle",
                                      "completion top", "completion originator"}));
}

TEST_F(IoTest, LowerStackLocationsAreZeroedWhenTheCompletionRoutineRuns) {
  TestDriver driver{u"zero"};
  PDEVICE_OBJECT lower = driver.createDevice("lower", [](PDEVICE_OBJECT, PIRP irp) { return completeWith(irp, STATUS_SUCCESS); });
  PIRP irp = IoAllocateIrp(2, FALSE);
  IoSetNextIrpStackLocation(irp);  // the originator keeps a location of its own
  PIO_STACK_LOCATION own = IoGetCurrentIrpStackLocation(irp);
  own->DeviceObject = nullptr;
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = IRP_MJ_WRITE;
  next->Parameters.Write.Length = 77;
  bool zeroed = false;
  CompletionProbe probe{[&](PDEVICE_OBJECT, PIRP completed) {
    PIO_STACK_LOCATION below = IoGetNextIrpStackLocation(completed);
    zeroed = below->MajorFunction == 0 && below->Parameters.Write.Length == 0 && below->DeviceObject == nullptr;
    return STATUS_MORE_PROCESSING_REQUIRED;
  }};
  IoSetCompletionRoutine(irp, &probeCompletion, &probe, TRUE, TRUE, TRUE);
  IoCallDriver(lower, irp);
  EXPECT_TRUE(zeroed);
  IoFreeIrp(irp);
}

TEST_F(IoTest, PendingFromADpcPropagatesPendingReturnedUpTheStack) {
  TestDriver busDriver{u"dpcbus"};
  TestDriver filterDriver{u"dpcfilter"};
  Journal journal;
  struct Pended {
    KDPC dpc;
    PIRP irp = nullptr;
    std::atomic<KIRQL> completionIrql{0xFF};
  } pended;
  KeInitializeDpc(
      &pended.dpc,
      [](PKDPC, PVOID context, PVOID, PVOID) {
        auto* p = static_cast<Pended*>(context);
        p->completionIrql = KeGetCurrentIrql();
        completeWith(p->irp, STATUS_SUCCESS, 7);
      },
      &pended);
  PDEVICE_OBJECT bottom = busDriver.createDevice("bottom", [&](PDEVICE_OBJECT, PIRP irp) {
    IoMarkIrpPending(irp);
    pended.irp = irp;
    KeInsertQueueDpc(&pended.dpc, nullptr, nullptr);
    return STATUS_PENDING;
  });
  // The filter skips its location and sets no routine: the I/O manager carries the
  // pending mark up for it.
  PDEVICE_OBJECT filter = filterDriver.createDevice("filter", &passDown, bottom);

  OriginatorIrp request(filter, journal);
  EXPECT_EQ(IoCallDriver(filter, request.irp), STATUS_PENDING);
  ASSERT_TRUE(request.done.wait());
  EXPECT_TRUE(request.pendingReturned);
  EXPECT_EQ(pended.completionIrql.load(), DISPATCH_LEVEL);
  EXPECT_EQ(request.irp->IoStatus.Information, 7u);
}

TEST_F(IoTest, MiddleDriverSeesPendingReturnedAndMustRemarkIt) {
  TestDriver busDriver{u"pbus"};
  TestDriver functionDriver{u"pfunction"};
  Journal journal;
  Event releaseBottom;
  PIRP held = nullptr;
  PDEVICE_OBJECT bottom = busDriver.createDevice("bottom", [&](PDEVICE_OBJECT, PIRP irp) {
    IoMarkIrpPending(irp);
    held = irp;
    return STATUS_PENDING;
  });
  bool middleSawPending = false;
  CompletionProbe middleProbe{[&](PDEVICE_OBJECT, PIRP irp) {
    middleSawPending = irp->PendingReturned != FALSE;
    if (irp->PendingReturned) IoMarkIrpPending(irp);
    return STATUS_SUCCESS;
  }};
  PDEVICE_OBJECT middle = functionDriver.createDevice(
      "middle",
      [&](PDEVICE_OBJECT device, PIRP irp) {
        IoCopyCurrentIrpStackLocationToNext(irp);
        IoSetCompletionRoutine(irp, &probeCompletion, &middleProbe, TRUE, TRUE, TRUE);
        return IoCallDriver(testDevice(device).lower, irp);
      },
      bottom);
  OriginatorIrp request(middle, journal);
  EXPECT_EQ(IoCallDriver(middle, request.irp), STATUS_PENDING);
  ASSERT_NE(held, nullptr);
  completeWith(held, STATUS_SUCCESS);
  EXPECT_TRUE(middleSawPending);
  EXPECT_TRUE(request.pendingReturned);
}

TEST_F(IoTest, MoreProcessingRequiredStopsCompletionThenReuseAndResend) {
  TestDriver driver{u"retry"};
  int calls = 0;
  PDEVICE_OBJECT device = driver.createDevice("device", [&](PDEVICE_OBJECT, PIRP irp) {
    ++calls;
    return completeWith(irp, calls == 1 ? STATUS_DEVICE_BUSY : STATUS_SUCCESS, calls);
  });
  PIRP irp = IoAllocateIrp(device->StackSize, FALSE);
  NTSTATUS seen = STATUS_PENDING;
  CompletionProbe probe{[&](PDEVICE_OBJECT, PIRP completed) {
    seen = completed->IoStatus.Status;
    return STATUS_MORE_PROCESSING_REQUIRED;
  }};
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt > 0) IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
    EXPECT_EQ(irp->IoStatus.Status, attempt == 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL);
    EXPECT_EQ(irp->CurrentLocation, irp->StackCount + 1);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_WRITE;
    IoSetCompletionRoutine(irp, &probeCompletion, &probe, TRUE, TRUE, TRUE);
    IoCallDriver(device, irp);
  }
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(seen, STATUS_SUCCESS);
  EXPECT_EQ(irp->IoStatus.Information, 2u);
  IoFreeIrp(irp);
}

TEST_F(IoTest, CompletingTwiceIsRecorded) {
  TestDriver driver{u"twice"};
  PDEVICE_OBJECT device = driver.createDevice("device", [](PDEVICE_OBJECT, PIRP irp) {
    completeWith(irp, STATUS_SUCCESS);
    return completeWith(irp, STATUS_SUCCESS);
  });
  RecordViolationsScope scope;
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb{};
  PIRP irp = IoBuildDeviceIoControlRequest(CTL_CODE(FILE_DEVICE_UNKNOWN, 1, METHOD_NEITHER, FILE_ANY_ACCESS), device,
                                           nullptr, 0, nullptr, 0, FALSE, &event, &iosb);
  IoCallDriver(device, irp);
  auto violations = scope.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "irp.complete-twice");
  EXPECT_EQ(violations[0].code, 0x44u);
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
}

TEST_F(IoTest, CompletingWithPendingOrACancelRoutineIsRecorded) {
  TestDriver driver{u"sloppy"};
  PDEVICE_OBJECT device = driver.createDevice("device", [](PDEVICE_OBJECT, PIRP irp) {
    IoSetCancelRoutine(irp, [](PDEVICE_OBJECT, PIRP) {});
    return completeWith(irp, STATUS_PENDING);
  });
  RecordViolationsScope scope;
  ULONG_PTR information = 0;
  sendIrpSynchronously(device, IRP_MJ_FLUSH_BUFFERS, 0, nullptr, &information);
  auto violations = scope.take();
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[0].rule, "irp.complete-pending");
  EXPECT_EQ(violations[1].rule, "irp.cancel-routine-set");
}

TEST_F(IoTest, NoStackLocationLeftIsRecorded) {
  TestDriver busDriver{u"shortbus"};
  TestDriver filterDriver{u"shortfilter"};
  PDEVICE_OBJECT bottom = busDriver.createDevice("bottom", [](PDEVICE_OBJECT, PIRP irp) { return completeWith(irp, STATUS_SUCCESS); });
  NTSTATUS forwarded = STATUS_PENDING;
  PDEVICE_OBJECT filter = filterDriver.createDevice(
      "filter",
      [&](PDEVICE_OBJECT device, PIRP irp) {
        // Writing the next location here (IoCopyCurrentIrpStackLocationToNext) would already
        // scribble over the IRP, as on Windows; IoCallDriver is where the I/O manager can tell.
        forwarded = IoCallDriver(testDevice(device).lower, irp);
        return completeWith(irp, STATUS_INSUFFICIENT_RESOURCES);
      },
      bottom);
  RecordViolationsScope scope;
  PIRP irp = IoAllocateIrp(1, FALSE);  // one location short for a two-deep stack
  IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
  CompletionProbe probe{[](PDEVICE_OBJECT, PIRP) { return STATUS_MORE_PROCESSING_REQUIRED; }};
  IoSetCompletionRoutine(irp, &probeCompletion, &probe, TRUE, TRUE, TRUE);
  IoCallDriver(filter, irp);
  auto violations = scope.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "irp.no-stack-location");
  EXPECT_EQ(violations[0].code, 0x35u);
  EXPECT_EQ(forwarded, STATUS_INVALID_PARAMETER);
  EXPECT_EQ(irp->IoStatus.Status, STATUS_INSUFFICIENT_RESOURCES);
  IoFreeIrp(irp);
}

TEST_F(IoTest, DriverAllocatedIrpNobodyTakesBackIsRecorded) {
  TestDriver driver{u"orphan"};
  PDEVICE_OBJECT device = driver.createDevice("device", [](PDEVICE_OBJECT, PIRP irp) { return completeWith(irp, STATUS_SUCCESS); });
  RecordViolationsScope scope;
  PIRP irp = IoAllocateIrp(device->StackSize, FALSE);
  IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
  IoCallDriver(device, irp);
  auto violations = scope.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "irp.completion-not-stopped");
  IoFreeIrp(irp);
  EXPECT_TRUE(scope.take().empty());
}

TEST_F(IoTest, IrpMisuseOnFreeIsRecorded) {
  RecordViolationsScope scope;
  PIRP irp = IoAllocateIrp(2, FALSE);
  IoFreeIrp(irp);
  IoFreeIrp(irp);
  alignas(16) unsigned char raw[512] = {};
  auto* own = reinterpret_cast<PIRP>(raw);
  IoInitializeIrp(own, IoSizeOfIrp(3), 3);
  EXPECT_EQ(own->StackCount, 3);
  EXPECT_EQ(own->CurrentLocation, 4);
  EXPECT_EQ(IoGetNextIrpStackLocation(own), reinterpret_cast<PIO_STACK_LOCATION>(own + 1) + 2);
  IoFreeIrp(own);
  auto violations = scope.take();
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[0].rule, "irp.free-twice");
  EXPECT_EQ(violations[1].rule, "irp.free-not-allocated");
}

TEST_F(IoTest, IrpsComeFromLookasideListsWithoutHeapAllocationOnceWarm) {
  std::vector<PIRP> batch;
  for (int i = 0; i < 32; ++i) batch.push_back(IoAllocateIrp(4, FALSE));
  for (PIRP irp : batch) IoFreeIrp(irp);
  batch.clear();
  const IrpAllocatorStats warm = irpAllocatorStats();
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 32; ++i) batch.push_back(IoAllocateIrp(4, FALSE));
    for (PIRP irp : batch) IoFreeIrp(irp);
    batch.clear();
  }
  const IrpAllocatorStats after = irpAllocatorStats();
  EXPECT_EQ(after.heapAllocations, warm.heapAllocations);
  EXPECT_EQ(after.lookasideHits - warm.lookasideHits, 3200u);
  EXPECT_EQ(after.outstanding, warm.outstanding);
}

TEST_F(IoTest, IrpsAreChargedToTheAllocatingDriverInTheLedger) {
  static char image[256];
  auto fake = std::make_shared<DriverImage>();
  fake->name = "fake";
  fake->base = reinterpret_cast<std::uintptr_t>(image);
  fake->end = fake->base + sizeof(image);
  DriverImageRegistration registration(fake);
  EXPECT_EQ(ledgerCount(fake.get(), ResourceKind::Irp), 0u);
  PIRP irp = allocateIrp(2, IrpOrigin::Driver, image + 8);
  EXPECT_EQ(ledgerCount(fake.get(), ResourceKind::Irp), 1u);
  IoFreeIrp(irp);
  EXPECT_EQ(ledgerCount(fake.get(), ResourceKind::Irp), 0u);
}

TEST_F(IoTest, UnhandledMajorFunctionCompletesWithInvalidDeviceRequest) {
  auto driver = createDriverObject(u"plain", nullptr, nullptr);
  PDEVICE_OBJECT device = nullptr;
  ASSERT_EQ(IoCreateDevice(driver.get(), 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &device), STATUS_SUCCESS);
  EXPECT_EQ(sendIrpSynchronously(device, IRP_MJ_READ, 0, nullptr, nullptr), STATUS_INVALID_DEVICE_REQUEST);
  IoDeleteDevice(device);
}

TEST_F(IoTest, PnpIrpNobodyHandlesComesBackNotSupported) {
  TestDriver busDriver{u"pnpbus"};
  TestDriver filterDriver{u"pnpfilter"};
  UCHAR minorSeen = 0xFF;
  DEVICE_RELATION_TYPE typeSeen = TransportRelations;
  PDEVICE_OBJECT bottom = busDriver.createDevice("bottom", [&](PDEVICE_OBJECT, PIRP irp) {
    PIO_STACK_LOCATION location = IoGetCurrentIrpStackLocation(irp);
    minorSeen = location->MinorFunction;
    typeSeen = location->Parameters.QueryDeviceRelations.Type;
    NTSTATUS status = irp->IoStatus.Status;  // a bus driver leaves unhandled IRPs as they are
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
  });
  PDEVICE_OBJECT top = filterDriver.createDevice("top", &passDown, bottom);
  ULONG_PTR information = 1;
  NTSTATUS status = sendIrpSynchronously(
      top, IRP_MJ_PNP, IRP_MN_QUERY_DEVICE_RELATIONS,
      [](PIO_STACK_LOCATION location) { location->Parameters.QueryDeviceRelations.Type = BusRelations; }, &information);
  EXPECT_EQ(status, STATUS_NOT_SUPPORTED);
  EXPECT_EQ(information, 0u);
  EXPECT_EQ(minorSeen, IRP_MN_QUERY_DEVICE_RELATIONS);
  EXPECT_EQ(typeSeen, BusRelations);
}

TEST_F(IoTest, SendIrpSynchronouslyWaitsForAPendedIrp) {
  TestDriver driver{u"slow"};
  struct Pended {
    PIO_WORKITEM item = nullptr;
    PIRP irp = nullptr;
  } pended;
  PDEVICE_OBJECT device = driver.createDevice("device", [&](PDEVICE_OBJECT self, PIRP irp) {
    IoMarkIrpPending(irp);
    pended.irp = irp;
    pended.item = IoAllocateWorkItem(self);
    IoQueueWorkItem(
        pended.item,
        [](PDEVICE_OBJECT, PVOID context) {
          auto* p = static_cast<Pended*>(context);
          IoFreeWorkItem(p->item);
          completeWith(p->irp, STATUS_SUCCESS, 99);
        },
        DelayedWorkQueue, &pended);
    return STATUS_PENDING;
  });
  ULONG_PTR information = 0;
  EXPECT_EQ(sendIrpSynchronously(device, IRP_MJ_PNP, IRP_MN_START_DEVICE, nullptr, &information), STATUS_SUCCESS);
  EXPECT_EQ(information, 99u);
}

TEST_F(IoTest, ForwardIrpSynchronouslyReturnsAfterTheLowerDriverCompleted) {
  TestDriver busDriver{u"fwdbus"};
  TestDriver functionDriver{u"fwdfunction"};
  PDEVICE_OBJECT bottom = busDriver.createDevice("bottom", [](PDEVICE_OBJECT, PIRP irp) { return completeWith(irp, STATUS_SUCCESS, 5); });
  NTSTATUS lowerStatus = STATUS_PENDING;
  PDEVICE_OBJECT top = functionDriver.createDevice(
      "top",
      [&](PDEVICE_OBJECT device, PIRP irp) {
        EXPECT_TRUE(IoForwardIrpSynchronously(testDevice(device).lower, irp));
        lowerStatus = irp->IoStatus.Status;
        return completeWith(irp, STATUS_SUCCESS, irp->IoStatus.Information + 1);
      },
      bottom);
  ULONG_PTR information = 0;
  EXPECT_EQ(sendIrpSynchronously(top, IRP_MJ_PNP, IRP_MN_START_DEVICE, nullptr, &information), STATUS_SUCCESS);
  EXPECT_EQ(lowerStatus, STATUS_SUCCESS);
  EXPECT_EQ(information, 6u);
}

TEST_F(IoTest, SetCompletionRoutineExHoldsTheDeviceAndHonoursFlags) {
  TestDriver busDriver{u"exbus"};
  TestDriver functionDriver{u"exfunction"};
  PDEVICE_OBJECT bottom = busDriver.createDevice("bottom", [](PDEVICE_OBJECT, PIRP irp) { return completeWith(irp, STATUS_SUCCESS); });
  std::int64_t countDuringCompletion = 0;
  bool onErrorCalled = false;
  CompletionProbe onSuccess{[&](PDEVICE_OBJECT device, PIRP irp) {
    countDuringCompletion = objectHeaderOf(device)->pointerCount.load();
    if (irp->PendingReturned) IoMarkIrpPending(irp);
    return STATUS_SUCCESS;
  }};
  CompletionProbe onError{[&](PDEVICE_OBJECT, PIRP) {
    onErrorCalled = true;
    return STATUS_SUCCESS;
  }};
  bool errorOnly = false;
  PDEVICE_OBJECT top = functionDriver.createDevice(
      "top",
      [&](PDEVICE_OBJECT device, PIRP irp) {
        IoCopyCurrentIrpStackLocationToNext(irp);
        EXPECT_EQ(IoSetCompletionRoutineEx(device, irp, &probeCompletion, errorOnly ? &onError : &onSuccess,
                                           !errorOnly, TRUE, FALSE),
                  STATUS_SUCCESS);
        return IoCallDriver(testDevice(device).lower, irp);
      },
      bottom);
  const std::int64_t before = objectHeaderOf(top)->pointerCount.load();
  EXPECT_EQ(sendIrpSynchronously(top, IRP_MJ_READ, 0, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(countDuringCompletion, before + 1);
  errorOnly = true;
  EXPECT_EQ(sendIrpSynchronously(top, IRP_MJ_READ, 0, nullptr, nullptr), STATUS_SUCCESS);
  EXPECT_FALSE(onErrorCalled);
  EXPECT_EQ(objectHeaderOf(top)->pointerCount.load(), before);
}

TEST_F(IoTest, TraceShowsDispatchAndCompletionWithNames) {
  TestDriver driver{u"traced"};
  PDEVICE_OBJECT device = driver.createDevice("tracedev", [](PDEVICE_OBJECT, PIRP irp) { return completeWith(irp, STATUS_SUCCESS, 3); });
  std::vector<TraceEvent> events;
  std::mutex lock;
  {
    TraceSubscription subscription([&](const TraceEvent& e) {
      std::lock_guard guard(lock);
      if (e.category == TraceCategory::Irp) events.push_back(e);
    });
    sendIrpSynchronously(device, IRP_MJ_PNP, IRP_MN_START_DEVICE, nullptr, nullptr);
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].source, "tracedev [traced]");
  EXPECT_NE(events[0].text.find("dispatch IRP"), std::string::npos);
  EXPECT_NE(events[0].text.find("IRP_MJ_PNP IRP_MN_START_DEVICE"), std::string::npos);
  EXPECT_NE(events[1].text.find("complete IRP"), std::string::npos);
  EXPECT_NE(events[1].text.find("STATUS_SUCCESS information 0x3"), std::string::npos);
}

TEST(IoNames, FunctionCodesAndStatusesHaveTheirWdkNames) {
  EXPECT_EQ(majorFunctionName(IRP_MJ_PNP), "IRP_MJ_PNP");
  EXPECT_EQ(majorFunctionName(IRP_MJ_INTERNAL_DEVICE_CONTROL), "IRP_MJ_INTERNAL_DEVICE_CONTROL");
  EXPECT_EQ(majorFunctionName(0x40), "IRP_MJ_0x40");
  EXPECT_EQ(minorFunctionName(IRP_MJ_PNP, IRP_MN_SURPRISE_REMOVAL), "IRP_MN_SURPRISE_REMOVAL");
  EXPECT_EQ(minorFunctionName(IRP_MJ_PNP, IRP_MN_DEVICE_ENUMERATED), "IRP_MN_DEVICE_ENUMERATED");
  EXPECT_EQ(minorFunctionName(IRP_MJ_POWER, IRP_MN_SET_POWER), "IRP_MN_SET_POWER");
  EXPECT_EQ(minorFunctionName(IRP_MJ_READ, 0), "");
  EXPECT_EQ(ioControlCodeName(0x00220003), "IOCTL_INTERNAL_USB_SUBMIT_URB");
  EXPECT_EQ(statusName(STATUS_CANCELLED), "STATUS_CANCELLED");
  EXPECT_EQ(statusName(static_cast<NTSTATUS>(0xC0001234)), "0xC0001234");
}
