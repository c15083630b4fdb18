// IRPs the I/O manager builds: device control requests with each transfer type, and the
// synchronous and asynchronous FSD requests.
#include "io_test_support.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>

using namespace iotest;
using namespace ndishost::nt;

namespace {

constexpr ULONG kBufferedIoctl = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS);
constexpr ULONG kInDirectIoctl = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_IN_DIRECT, FILE_READ_ACCESS);
constexpr ULONG kOutDirectIoctl = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_OUT_DIRECT, FILE_WRITE_ACCESS);
constexpr ULONG kNeitherIoctl = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803, METHOD_NEITHER, FILE_ANY_ACCESS);

// What the test device saw of the last request.
struct Seen {
  UCHAR major = 0xFF;
  ULONG code = 0;
  ULONG inputLength = 0, outputLength = 0;
  PVOID systemBuffer = nullptr, userBuffer = nullptr, type3Input = nullptr;
  PMDL mdl = nullptr;
  ULONG flags = 0;
  std::string input;  // the bytes the device received as input
};

// An "echo" device: reverses its input into its output, reading and writing wherever the
// transfer type puts them. For METHOD_IN_DIRECT the MDL-described buffer is the input.
NTSTATUS echo(Seen& seen, PIRP irp, NTSTATUS status) {
  PIO_STACK_LOCATION location = IoGetCurrentIrpStackLocation(irp);
  seen.major = location->MajorFunction;
  seen.code = location->Parameters.DeviceIoControl.IoControlCode;
  seen.inputLength = location->Parameters.DeviceIoControl.InputBufferLength;
  seen.outputLength = location->Parameters.DeviceIoControl.OutputBufferLength;
  seen.systemBuffer = irp->AssociatedIrp.SystemBuffer;
  seen.userBuffer = irp->UserBuffer;
  seen.type3Input = location->Parameters.DeviceIoControl.Type3InputBuffer;
  seen.mdl = irp->MdlAddress;
  seen.flags = irp->Flags;
  ULONG written = 0;
  switch (METHOD_FROM_CTL_CODE(seen.code)) {
    case METHOD_BUFFERED: {
      auto* buffer = static_cast<char*>(irp->AssociatedIrp.SystemBuffer);
      seen.input.assign(buffer, seen.inputLength);
      std::string reversed(seen.input.rbegin(), seen.input.rend());
      written = std::min<ULONG>(seen.outputLength, static_cast<ULONG>(reversed.size()));
      std::memcpy(buffer, reversed.data(), written);
      break;
    }
    case METHOD_OUT_DIRECT: {
      seen.input.assign(static_cast<char*>(irp->AssociatedIrp.SystemBuffer), seen.inputLength);
      auto* out = static_cast<char*>(MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority));
      std::string reversed(seen.input.rbegin(), seen.input.rend());
      written = std::min<ULONG>(MmGetMdlByteCount(irp->MdlAddress), static_cast<ULONG>(reversed.size()));
      std::memcpy(out, reversed.data(), written);
      break;
    }
    case METHOD_IN_DIRECT: {
      // The "output" buffer carries data to the device.
      auto* data = static_cast<char*>(MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority));
      seen.input.assign(data, MmGetMdlByteCount(irp->MdlAddress));
      written = 0;
      break;
    }
    case METHOD_NEITHER: {
      seen.input.assign(static_cast<char*>(location->Parameters.DeviceIoControl.Type3InputBuffer), seen.inputLength);
      std::string reversed(seen.input.rbegin(), seen.input.rend());
      written = std::min<ULONG>(seen.outputLength, static_cast<ULONG>(reversed.size()));
      std::memcpy(irp->UserBuffer, reversed.data(), written);
      break;
    }
  }
  return completeWith(irp, status, NT_SUCCESS(status) ? written : 0);
}

struct IoctlDevice {
  TestDriver driver{u"ioctl"};
  Seen seen;
  NTSTATUS status = STATUS_SUCCESS;
  PDEVICE_OBJECT device = driver.createDevice("echo", [this](PDEVICE_OBJECT, PIRP irp) { return echo(seen, irp, status); });

  // Builds, sends and waits; returns the status block.
  IO_STATUS_BLOCK send(ULONG code, const std::string& input, char* output, ULONG outputLength, bool internal = false) {
    Event done;
    IO_STATUS_BLOCK iosb{};
    iosb.Status = STATUS_PENDING;
    std::string in = input;
    PIRP irp = IoBuildDeviceIoControlRequest(code, device, in.empty() ? nullptr : in.data(),
                                             static_cast<ULONG>(in.size()), output, outputLength, internal,
                                             &done.event, &iosb);
    EXPECT_NE(irp, nullptr);
    if (irp == nullptr) return iosb;
    if (IoCallDriver(device, irp) == STATUS_PENDING) {
      EXPECT_TRUE(done.wait());
    }
    EXPECT_TRUE(done.wait(0));  // the I/O manager signalled the event either way
    return iosb;
  }
};

}  // namespace

TEST_F(IoTest, BufferedIoctlCopiesInputInAndOutputBack) {
  IoctlDevice d;
  std::array<char, 16> output{};
  IO_STATUS_BLOCK iosb = d.send(kBufferedIoctl, "abcdef", output.data(), 8);
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(iosb.Information, 6u);
  EXPECT_EQ(std::string(output.data(), 6), "fedcba");
  EXPECT_EQ(output[6], 0);
  EXPECT_EQ(d.seen.major, IRP_MJ_DEVICE_CONTROL);
  EXPECT_EQ(d.seen.inputLength, 6u);
  EXPECT_EQ(d.seen.outputLength, 8u);
  EXPECT_NE(d.seen.systemBuffer, nullptr);
  EXPECT_NE(d.seen.systemBuffer, static_cast<void*>(output.data()));
  EXPECT_EQ(d.seen.userBuffer, static_cast<void*>(output.data()));
  EXPECT_TRUE(d.seen.flags & IRP_BUFFERED_IO);
  EXPECT_EQ(d.seen.input, "abcdef");
}

TEST_F(IoTest, BufferedIoctlCopiesNothingBackOnError) {
  IoctlDevice d;
  d.status = STATUS_INVALID_PARAMETER;
  std::array<char, 8> output{};
  IO_STATUS_BLOCK iosb = d.send(kBufferedIoctl, "xyz", output.data(), 8);
  EXPECT_EQ(iosb.Status, STATUS_INVALID_PARAMETER);
  EXPECT_EQ(output[0], 0);
}

TEST_F(IoTest, InternalIoctlUsesTheInternalMajorFunction) {
  IoctlDevice d;
  std::array<char, 4> output{};
  IO_STATUS_BLOCK iosb = d.send(kNeitherIoctl, "1234", output.data(), 4, true);
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(d.seen.major, IRP_MJ_INTERNAL_DEVICE_CONTROL);
  EXPECT_EQ(std::string(output.data(), 4), "4321");
  EXPECT_EQ(d.seen.userBuffer, static_cast<void*>(output.data()));
  EXPECT_EQ(d.seen.systemBuffer, nullptr);
}

TEST_F(IoTest, OutDirectIoctlDescribesTheOutputWithAnMdl) {
  IoctlDevice d;
  std::array<char, 32> output{};
  IO_STATUS_BLOCK iosb = d.send(kOutDirectIoctl, "direct", output.data(), 32);
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(iosb.Information, 6u);
  EXPECT_EQ(std::string(output.data(), 6), "tcerid");
  ASSERT_NE(d.seen.mdl, nullptr);
  EXPECT_EQ(d.seen.input, "direct");
}

TEST_F(IoTest, InDirectIoctlHandsTheDeviceTheCallersBuffer) {
  IoctlDevice d;
  char payload[] = "to the device";
  IO_STATUS_BLOCK iosb = d.send(kInDirectIoctl, "", payload, sizeof(payload) - 1);
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(d.seen.input, "to the device");
}

TEST_F(IoTest, PendedIoctlCompletedFromADpcSignalsTheEventWithTheStatusBlockSet) {
  TestDriver driver{u"pendioctl"};
  struct Pended {
    KDPC dpc;
    PIRP irp = nullptr;
  } pended;
  KeInitializeDpc(
      &pended.dpc,
      [](PKDPC, PVOID context, PVOID, PVOID) {
        PIRP irp = static_cast<Pended*>(context)->irp;
        std::memcpy(irp->AssociatedIrp.SystemBuffer, "late", 4);
        completeWith(irp, STATUS_SUCCESS, 4);
      },
      &pended);
  PDEVICE_OBJECT device = driver.createDevice("device", [&](PDEVICE_OBJECT, PIRP irp) {
    IoMarkIrpPending(irp);
    pended.irp = irp;
    KeInsertQueueDpc(&pended.dpc, nullptr, nullptr);
    return STATUS_PENDING;
  });
  Event done;
  IO_STATUS_BLOCK iosb{};
  std::array<char, 8> output{};
  PIRP irp = IoBuildDeviceIoControlRequest(kBufferedIoctl, device, nullptr, 0, output.data(), 8, FALSE, &done.event, &iosb);
  ASSERT_EQ(IoCallDriver(device, irp), STATUS_PENDING);
  ASSERT_TRUE(done.wait());
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(iosb.Information, 4u);
  EXPECT_EQ(std::string(output.data(), 4), "late");
}

TEST_F(IoTest, SynchronousFsdReadFromABufferedDevice) {
  TestDriver driver{u"disk"};
  LONGLONG offsetSeen = -1;
  PDEVICE_OBJECT device = driver.createDevice(
      "disk",
      [&](PDEVICE_OBJECT, PIRP irp) {
        PIO_STACK_LOCATION location = IoGetCurrentIrpStackLocation(irp);
        EXPECT_EQ(location->MajorFunction, IRP_MJ_READ);
        offsetSeen = location->Parameters.Read.ByteOffset.QuadPart;
        std::memset(irp->AssociatedIrp.SystemBuffer, 'r', location->Parameters.Read.Length);
        return completeWith(irp, STATUS_SUCCESS, location->Parameters.Read.Length - 1);
      },
      nullptr, 0, DO_BUFFERED_IO);
  Event done;
  IO_STATUS_BLOCK iosb{};
  std::array<char, 16> buffer{};
  LARGE_INTEGER offset;
  offset.QuadPart = 4096;
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, device, buffer.data(), 16, &offset, &done.event, &iosb);
  ASSERT_NE(irp, nullptr);
  if (IoCallDriver(device, irp) == STATUS_PENDING) done.wait();
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(iosb.Information, 15u);
  EXPECT_EQ(offsetSeen, 4096);
  EXPECT_EQ(std::string(buffer.data(), 15), std::string(15, 'r'));
  EXPECT_EQ(buffer[15], 0);  // only Information bytes come back
}

TEST_F(IoTest, SynchronousFsdWriteToADirectIoDevice) {
  TestDriver driver{u"directdisk"};
  std::string written;
  PDEVICE_OBJECT device = driver.createDevice(
      "disk",
      [&](PDEVICE_OBJECT, PIRP irp) {
        EXPECT_EQ(irp->AssociatedIrp.SystemBuffer, nullptr);
        auto* data = static_cast<char*>(MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority));
        written.assign(data, MmGetMdlByteCount(irp->MdlAddress));
        return completeWith(irp, STATUS_SUCCESS, written.size());
      },
      nullptr, 0, DO_DIRECT_IO);
  Event done;
  IO_STATUS_BLOCK iosb{};
  char payload[] = "sector";
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_WRITE, device, payload, 6, nullptr, &done.event, &iosb);
  if (IoCallDriver(device, irp) == STATUS_PENDING) done.wait();
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(written, "sector");
}

TEST_F(IoTest, AsynchronousFsdRequestIsFreedByTheCallersCompletionRoutine) {
  TestDriver driver{u"asyncdisk"};
  PDEVICE_OBJECT device = driver.createDevice(
      "disk", [](PDEVICE_OBJECT, PIRP irp) {
        std::memcpy(irp->AssociatedIrp.SystemBuffer, "async", 5);
        return completeWith(irp, STATUS_SUCCESS, 5);
      },
      nullptr, 0, DO_BUFFERED_IO);
  const auto before = irpAllocatorStats().outstanding;
  IO_STATUS_BLOCK iosb{};
  std::array<char, 8> buffer{};
  PIRP irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, device, buffer.data(), 8, nullptr, &iosb);
  ASSERT_NE(irp, nullptr);
  std::string seenInSystemBuffer;
  CompletionProbe probe{[&](PDEVICE_OBJECT, PIRP completed) {
    seenInSystemBuffer.assign(static_cast<char*>(completed->AssociatedIrp.SystemBuffer), completed->IoStatus.Information);
    IoFreeIrp(completed);  // also releases the I/O manager's system buffer
    return STATUS_MORE_PROCESSING_REQUIRED;
  }};
  IoSetCompletionRoutine(irp, &probeCompletion, &probe, TRUE, TRUE, TRUE);
  EXPECT_EQ(IoCallDriver(device, irp), STATUS_SUCCESS);
  EXPECT_EQ(seenInSystemBuffer, "async");
  EXPECT_EQ(irpAllocatorStats().outstanding, before);
}
