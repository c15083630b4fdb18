// NdisTestBed: the runtime, a PnP manager with a generated manifest (the test bus at the
// root, each test miniport under its hardware ID) and the bus's control IOCTLs.
#include "ndis_test.hpp"

#include "ndis_test_bed.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <thread>

#include "ndistestbus_ioctl.h"
#include "nt/support/log.hpp"

namespace ndishost::ndis::test {
namespace {

// A TOML literal string: no escapes, so backslashes in IDs and paths stay as they are.
std::string literal(std::string_view text) {
  if (text.find('\'') != std::string_view::npos || text.find('\n') != std::string_view::npos)
    throw std::invalid_argument(fmt::format("NdisTestBed: cannot put {} in the manifest", text));
  return fmt::format("'{}'", text);
}

std::string manifestText(const NdisTestBedOptions& options) {
  std::string text = fmt::format(
      "[[driver]]\nname = 'ndistestbus'\npath = {}\nids = ['ROOT\\NDISTESTBUS']\n\n"
      "[[device]]\nhardware_ids = ['ROOT\\NDISTESTBUS']\ndescription = 'NDIS test bus'\n\n",
      literal(NDISHOST_TESTBUS_DRIVER));
  for (const TestMiniport& miniport : options.miniports) {
    text += fmt::format("[[driver]]\nname = {}\npath = {}\nids = [{}]\n", literal(miniport.name),
                        literal(miniport.path.string()), literal(miniport.hardwareId));
    if (!miniport.parameters.empty()) {
      text += "parameters = { ";
      bool first = true;
      for (const auto& [key, value] : miniport.parameters) {
        text += first ? "" : ", ";
        first = false;
        if (const auto* number = std::get_if<std::int64_t>(&value)) {
          text += fmt::format("{} = {}", key, *number);
        } else {
          text += fmt::format("{} = {}", key, literal(std::get<std::string>(value)));
        }
      }
      text += " }\n";
    }
    text += "\n";
  }
  return text;
}

std::string formatSerial(ULONG serial) { return fmt::format("{:02}", serial); }

// Sleeps without holding the deterministic scheduler's run token.
void pause(std::chrono::milliseconds duration) {
  nt::OutsideRuntimeScope outside;
  std::this_thread::sleep_for(duration);
}

}  // namespace

NdisTestBed::NdisTestBed(NdisTestBedOptions options) {
  runtime_ = std::make_unique<nt::Runtime>(options.runtime);
  if (options.configure) {
    setAdapterConfigurationProvider(options.configure);
    providerInstalled_ = true;
  }
  pnp_ = std::make_unique<nt::pnp::PnpManager>(
      nt::pnp::Manifest::parse(manifestText(options), "ndis-test-bed.toml", std::filesystem::current_path()));
  auto roots = pnp_->addRootDevicesFromManifest();
  if (roots.size() != 1) throw std::runtime_error("NdisTestBed: the test bus did not come up");
  busInstancePath_ = roots.front();
  auto bus = pnp_->device(busInstancePath_);
  if (!bus || bus->state != nt::pnp::DeviceNodeState::Started)
    throw std::runtime_error(fmt::format("NdisTestBed: the test bus {} did not start", busInstancePath_));
}

NdisTestBed::~NdisTestBed() {
  if (pnp_) {
    for (const auto& report : pnp_->shutdown())
      if (!report.empty()) nt::logger("ndis").warn("NdisTestBed: {}", report.format());
  }
  pnp_.reset();
  if (providerInstalled_) setAdapterConfigurationProvider({});
  runtime_.reset();
}

void NdisTestBed::settle() {
  pnp_->waitForIdle();
  runtime_->runUntilIdle();
}

namespace {

NTSTATUS NTAPI signalPnpIrpDone(PDEVICE_OBJECT device, PIRP irp, PVOID context) {
  (void)device;
  (void)irp;
  KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;  // the IRP is ours again; freed by sendPnpIrp
}

}  // namespace

NTSTATUS NdisTestBed::sendPnpIrp(std::string_view instancePath, UCHAR minorFunction) {
  PDEVICE_OBJECT top = pnp_->referenceTopOfStack(instancePath);
  if (top == nullptr) return STATUS_NO_SUCH_DEVICE;
  PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
  irp->IoStatus.Status = STATUS_NOT_SUPPORTED;  // what PnP IRPs start with
  irp->IoStatus.Information = 0;
  PIO_STACK_LOCATION stack = IoGetNextIrpStackLocation(irp);
  stack->MajorFunction = IRP_MJ_PNP;
  stack->MinorFunction = minorFunction;
  KEVENT done;
  KeInitializeEvent(&done, NotificationEvent, FALSE);
  IoSetCompletionRoutine(irp, signalPnpIrpDone, &done, TRUE, TRUE, TRUE);
  if (IoCallDriver(top, irp) == STATUS_PENDING) KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
  NTSTATUS status = irp->IoStatus.Status;
  IoFreeIrp(irp);
  ObDereferenceObject(top);
  return status;
}

NTSTATUS NdisTestBed::deviceIoControl(std::string_view instancePath, ULONG code, const void* in, ULONG inLength,
                                      void* out, ULONG outLength) {
  PDEVICE_OBJECT top = pnp_->referenceTopOfStack(instancePath);
  if (top == nullptr) return STATUS_NO_SUCH_DEVICE;
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb{};
  PIRP irp = IoBuildDeviceIoControlRequest(code, top, const_cast<void*>(in), inLength, out, outLength, FALSE, &event,
                                           &iosb);
  NTSTATUS status = STATUS_INSUFFICIENT_RESOURCES;
  if (irp != nullptr) {
    status = IoCallDriver(top, irp);
    if (status == STATUS_PENDING) {
      KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
      status = iosb.Status;
    }
  }
  ObDereferenceObject(top);
  return status;
}

std::string NdisTestBed::plug(std::string_view hardwareId, ULONG serialNo) {
  NDISTESTBUS_PLUG_IN request{};
  request.SerialNo = serialNo;
  if (hardwareId.empty() || hardwareId.size() >= NDISTESTBUS_MAX_ID_CHARS) return {};
  for (std::size_t i = 0; i < hardwareId.size(); ++i) request.HardwareId[i] = static_cast<WCHAR>(hardwareId[i]);
  NTSTATUS status = deviceIoControl(busInstancePath_, IOCTL_NDISTESTBUS_PLUG_IN, &request, sizeof(request), &request,
                                    sizeof(request));
  if (!NT_SUCCESS(status)) {
    nt::logger("ndis").error("NdisTestBed: plugging {} failed with {:#x}", hardwareId, static_cast<ULONG>(status));
    return {};
  }
  ULONG serial = request.SerialNo;  // the bus wrote the serial number over the request's first ULONG
  std::string instancePath = fmt::format("{}\\{}", hardwareId, formatSerial(serial));
  {
    std::lock_guard guard(serialsLock_);
    serials_[instancePath] = serial;
  }
  settle();
  return instancePath;
}

std::string NdisTestBed::plugRunning(std::string_view hardwareId, std::chrono::milliseconds limit) {
  std::string instancePath = plug(hardwareId);
  if (instancePath.empty() || !waitForState(instancePath, AdapterState::Running, limit)) return {};
  return instancePath;
}

Adapter* NdisTestBed::adapter(std::string_view instancePath) const {
  PDEVICE_OBJECT top = pnp_->referenceTopOfStack(instancePath);
  if (top == nullptr) return nullptr;
  // The NDIS FDO is the top of the stack unless an upper filter sits above it.
  PDEVICE_OBJECT device = top;  // referenced
  while (device != nullptr) {
    if (Adapter* found = Adapter::fromFdo(device); found != nullptr) {
      ObDereferenceObject(device);
      return found;
    }
    PDEVICE_OBJECT lower = IoGetLowerDeviceObject(device);  // referenced, or null at the PDO
    ObDereferenceObject(device);
    device = lower;
  }
  return nullptr;
}

std::optional<AdapterState> NdisTestBed::adapterState(std::string_view instancePath) const {
  Adapter* found = adapter(instancePath);
  if (found == nullptr) return std::nullopt;
  return found->state();
}

bool NdisTestBed::waitForState(std::string_view instancePath, AdapterState state, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    settle();
    if (adapterState(instancePath) == state) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    pause(std::chrono::milliseconds(1));
  }
}

ULONG NdisTestBed::serialOf(std::string_view instancePath) const {
  std::lock_guard guard(serialsLock_);
  auto it = serials_.find(instancePath);
  return it == serials_.end() ? 0 : it->second;
}

NTSTATUS NdisTestBed::unplug(std::string_view instancePath) {
  ULONG serial = serialOf(instancePath);
  if (serial == 0) return STATUS_NO_SUCH_DEVICE;
  NTSTATUS status = deviceIoControl(busInstancePath_, IOCTL_NDISTESTBUS_UNPLUG, &serial, sizeof(serial), nullptr, 0);
  if (NT_SUCCESS(status)) settle();
  return status;
}

nt::pnp::RemoveResult NdisTestBed::remove(std::string_view instancePath) {
  auto result = pnp_->requestRemove(instancePath);
  settle();
  return result;
}

NTSTATUS NdisTestBed::setDevicePower(std::string_view instancePath, DEVICE_POWER_STATE state) {
  NTSTATUS status = pnp_->setDevicePower(instancePath, state);
  settle();
  return status;
}

DEVICE_POWER_STATE NdisTestBed::busPowerState(std::string_view instancePath) {
  ULONG buffer = serialOf(instancePath);
  if (buffer == 0) return PowerDeviceUnspecified;
  NTSTATUS status = deviceIoControl(busInstancePath_, IOCTL_NDISTESTBUS_GET_CHILD_POWER, &buffer, sizeof(buffer),
                                    &buffer, sizeof(buffer));
  return NT_SUCCESS(status) ? static_cast<DEVICE_POWER_STATE>(buffer) : PowerDeviceUnspecified;
}

std::vector<nt::pnp::LeakReport> NdisTestBed::shutdown() {
  std::vector<nt::pnp::LeakReport> leaks;
  for (auto& report : pnp_->shutdown())
    if (!report.empty()) leaks.push_back(std::move(report));
  return leaks;
}

}  // namespace ndishost::ndis::test
