// The NDIS 6 adapter lifecycle, driven the way the host drives it: a test bus reports a
// device, the PnP manager loads the lifetest miniport under NDIS, and PnP and power IRPs
// move the adapter through Halted, Initializing, Paused, Restarting, Running, Pausing and
// Shutdown. The miniport records every call (lifetest_control.h); an AdapterObserver
// records what the protocol side is told, into the same ordered event log.
#include "ndis_test.hpp"

#include "ndis_test_bed.hpp"

#include <dlfcn.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "lifetest_control.h"
#include "ndis/miniport/adapter_observer.hpp"
#include "ndis/miniport/miniport_driver.hpp"
#include "ndistestbus_ioctl.h"

using namespace ndishost;
using namespace ndishost::ndis;
using ndishost::ndis::test::NdisTestBed;
using ndishost::ndis::test::NdisTestBedOptions;

namespace {

// The lifetest image, mapped by the test before the PnP manager loads it (the loader's
// dlopen then finds the same image), so LifeTestControl can be set up before
// MiniportInitializeEx and read after the driver unloaded.
struct LifeTestImage {
  void* handle = nullptr;
  LIFETEST_CONTROL* control = nullptr;
  void (*record)(char) = nullptr;

  static LifeTestImage& get() {
    static LifeTestImage image = [] {
      LifeTestImage loaded;
      loaded.handle = dlopen(NDISHOST_LIFETEST_DRIVER, RTLD_NOW | RTLD_LOCAL);
      if (loaded.handle == nullptr) throw std::runtime_error(dlerror());
      loaded.control = static_cast<LIFETEST_CONTROL*>(dlsym(loaded.handle, "LifeTestControl"));
      loaded.record = reinterpret_cast<void (*)(char)>(dlsym(loaded.handle, "LifeTestRecordEvent"));
      if (loaded.control == nullptr || loaded.record == nullptr) throw std::runtime_error("lifetest exports missing");
      return loaded;
    }();
    return image;
  }
};

// What the protocol side would be told, checked against the documented adapter state.
class RecordingObserver final : public AdapterObserver {
 public:
  void adapterArrived(Adapter& adapter) override { note('a', adapter, AdapterState::Paused); }
  void adapterRestarted(Adapter& adapter) override { note('b', adapter, AdapterState::Running); }
  void adapterPausing(Adapter& adapter) override { note('c', adapter, AdapterState::Running); }
  void adapterDeparting(Adapter& adapter) override { note('d', adapter, AdapterState::Paused); }

  std::atomic<int> wrongStates{0};

 private:
  void note(char event, Adapter& adapter, AdapterState expected) {
    LifeTestImage::get().record(event);
    if (adapter.state() != expected) wrongStates++;
  }
};

const std::string kHardwareId = LIFETEST_HARDWARE_ID;

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::memset(&control, 0, sizeof(control));
    control.InitializeStatus = NDIS_STATUS_SUCCESS;
    control.RestartStatus = NDIS_STATUS_SUCCESS;
    setAdapterObserver(&observer);
  }

  void TearDown() override {
    bed.reset();
    setAdapterObserver(nullptr);
    EXPECT_EQ(observer.wrongStates.load(), 0) << "an observer call came in the wrong adapter state";
    EXPECT_EQ(control.UnexpectedSends, 0);
  }

  void start(bool deterministic = false) {
    NdisTestBedOptions options;
    options.runtime.deterministic = deterministic;
    options.runtime.processors = deterministic ? 1 : 2;
    options.miniports = {{"lifetest", NDISHOST_LIFETEST_DRIVER, kHardwareId, {}}};
    bed = std::make_unique<NdisTestBed>(std::move(options));
  }

  std::string events() const {
    LONG count = std::min<LONG>(LONG{control.EventCount}, LIFETEST_MAX_EVENTS);
    return std::string(control.Events, static_cast<std::size_t>(count));
  }
  void clearEvents() { control.EventCount = 0; }

  // No leaks: every driver unloaded with an empty report.
  void expectCleanShutdown() {
    auto leaks = bed->shutdown();
    for (const auto& report : leaks) ADD_FAILURE() << report.format();
    EXPECT_EQ(control.Adapters, 0);
  }

  LIFETEST_CONTROL& control = *LifeTestImage::get().control;
  RecordingObserver observer;
  std::unique_ptr<NdisTestBed> bed;
};

TEST_F(LifecycleTest, StartInitializesWithDocumentedParametersThenRestarts) {
  start();
  std::string nic = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(nic.empty());
  // MiniportInitializeEx, the stack above binds (Paused), MiniportRestart, it restarts.
  EXPECT_EQ(events(), "IaRb");

  EXPECT_EQ(control.InitHeader.Type, NDIS_OBJECT_TYPE_MINIPORT_INIT_PARAMETERS);
  EXPECT_EQ(control.InitHeader.Revision, NDIS_MINIPORT_INIT_PARAMETERS_REVISION_1);
  EXPECT_EQ(control.InitHeader.Size, NDIS_SIZEOF_MINIPORT_INIT_PARAMETER_REVISION_1);
  EXPECT_GE(control.IfIndex, 1u);
  EXPECT_EQ(control.NetLuid.Info.IfType, static_cast<ULONG64>(IF_TYPE_ETHERNET_CSMACD));
  EXPECT_EQ(control.NetLuid.Info.NetLuidIndex, static_cast<ULONG64>(control.IfIndex));
  EXPECT_FALSE(control.HadAllocatedResources);  // an NDIS-WDM device has no hardware resources
  ASSERT_TRUE(control.HadPortAuthStates);
  EXPECT_EQ(control.PortAuthStates.Header.Type, NDIS_OBJECT_TYPE_DEFAULT);
  EXPECT_EQ(control.PortAuthStates.Header.Revision, NDIS_PORT_AUTHENTICATION_PARAMETERS_REVISION_1);
  EXPECT_EQ(control.PortAuthStates.Header.Size, NDIS_SIZEOF_PORT_AUTHENTICATION_PARAMETERS_REVISION_1);
  EXPECT_EQ(control.PortAuthStates.SendControlState, NdisPortControlStateUncontrolled);
  EXPECT_EQ(control.PortAuthStates.RcvControlState, NdisPortControlStateUncontrolled);
  EXPECT_EQ(control.DriverContextTag, 0x4c494645u);  // the MiniportDriverContext it registered

  Adapter* adapter = bed->adapter(nic);
  ASSERT_NE(adapter, nullptr);
  EXPECT_EQ(adapter->state(), AdapterState::Running);
  EXPECT_EQ(control.AdapterHandle, adapter->handle());
  EXPECT_EQ(adapter->ifIndex(), control.IfIndex);
  // NdisMGetDeviceProperty: the bus PDO, NDIS's FDO, and the device below the FDO (here the
  // PDO itself, no filter in between); NULL out-parameters are allowed.
  EXPECT_EQ(control.Pdo, adapter->pdo());
  EXPECT_EQ(control.Fdo, adapter->fdo());
  EXPECT_EQ(control.Next, adapter->lowerDevice());
  EXPECT_EQ(control.Next, control.Pdo);
  EXPECT_EQ(control.NextOnly, control.Next);
  EXPECT_EQ(control.Fdo->DriverObject, adapter->driver().driverObject());
  // START_DEVICE went down the stack before MiniportInitializeEx: the bus answers I/O.
  EXPECT_EQ(control.InitPingStatus, STATUS_SUCCESS);

  {
    std::lock_guard guard(adapter->attributesLock());
    const AdapterAttributes& kept = adapter->attributes();
    ASSERT_TRUE(kept.registration.has_value());
    EXPECT_EQ(kept.registration->AttributeFlags,
              static_cast<ULONG>(NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM | NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK));
    EXPECT_EQ(kept.registration->CheckForHangTimeInSeconds, 4u);
    ASSERT_TRUE(kept.general.has_value());
    EXPECT_EQ(kept.general->MtuSize, 1500u);
    EXPECT_EQ(kept.supportedOids.size(), 4u);
    // Copies of the (all-zero, revision 1) NDIS_OFFLOAD blocks, not the miniport's stack.
    ASSERT_TRUE(kept.currentOffload.has_value());
    ASSERT_TRUE(kept.hardwareOffload.has_value());
    EXPECT_EQ(kept.currentOffload->get().Header.Type, NDIS_OBJECT_TYPE_OFFLOAD);
    EXPECT_EQ(kept.currentOffload->get().Header.Size, NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1);
    EXPECT_EQ(kept.hardwareOffload->get().Header.Revision, NDIS_OFFLOAD_REVISION_1);
  }
  EXPECT_EQ(control.AttributeStatus[0], NDIS_STATUS_SUCCESS);  // registration
  EXPECT_EQ(control.AttributeStatus[1], NDIS_STATUS_SUCCESS);  // general
  EXPECT_EQ(control.AttributeStatus[2], NDIS_STATUS_SUCCESS);  // offload
  bool listed = false;
  for (const AdapterInfo& info : adapters()) listed = listed || info.handle == adapter->handle();
  EXPECT_TRUE(listed);

  // Orderly removal: pause (the stack above first), unbind, halt as "PnP remove".
  clearEvents();
  auto removed = bed->remove(nic);
  EXPECT_TRUE(removed.removed);
  EXPECT_EQ(events(), "cPdH");
  EXPECT_EQ(control.LastHaltAction, NdisHaltDeviceDisabled);
  EXPECT_EQ(control.LastPauseReason, static_cast<ULONG>(NDIS_PAUSE_MINIPORT_DEVICE_REMOVE));
  EXPECT_EQ(bed->adapter(nic), nullptr);
  expectCleanShutdown();
}

TEST_F(LifecycleTest, InitializeFailureFailsTheStartWithoutHalt) {
  control.InitializeStatus = NDIS_STATUS_ADAPTER_NOT_FOUND;
  start();
  std::string nic = bed->plug(kHardwareId);
  ASSERT_FALSE(nic.empty());
  auto device = bed->pnp().device(nic);
  ASSERT_TRUE(device.has_value());
  EXPECT_NE(device->state, nt::pnp::DeviceNodeState::Started);
  EXPECT_EQ(control.InitializeCalls, 1);
  EXPECT_EQ(control.HaltCalls, 0);  // a failed MiniportInitializeEx cleans up itself
  EXPECT_EQ(events(), "I");         // never bound, never restarted
  if (Adapter* adapter = bed->adapter(nic)) {
    EXPECT_EQ(adapter->state(), AdapterState::Halted);
  }
  expectCleanShutdown();
}

TEST_F(LifecycleTest, SuccessWithoutGeneralAttributesIsReportedAndHalted) {
  control.AttributesMode = LifeTestAttributesRegistrationOnly;
  nt::RecordViolationsScope violations;
  start();
  std::string nic = bed->plug(kHardwareId);
  EXPECT_TRUE(ndistest::contains(ndistest::rules(violations), "ndis.init-missing-attributes"));
  EXPECT_EQ(control.HaltCalls, 1);
  EXPECT_EQ(control.LastHaltAction, NdisHaltDeviceInitializationFailed);
  EXPECT_EQ(events(), "IH");
  auto device = bed->pnp().device(nic);
  ASSERT_TRUE(device.has_value());
  EXPECT_NE(device->state, nt::pnp::DeviceNodeState::Started);
  expectCleanShutdown();
}

TEST_F(LifecycleTest, AttributesOutOfOrderOrWithBadHeadersAreRefused) {
  control.AttributesMode = LifeTestAttributesGeneralFirst;
  nt::RecordViolationsScope violations;
  start();
  std::string first = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(control.AttributeStatus[0], NDIS_STATUS_INVALID_PARAMETER);  // general before registration
  EXPECT_EQ(control.AttributeStatus[1], NDIS_STATUS_SUCCESS);
  EXPECT_EQ(control.AttributeStatus[2], NDIS_STATUS_SUCCESS);
  EXPECT_EQ(ndistest::rules(violations), std::vector<std::string>{"ndis.attributes-order"});

  std::memset(control.AttributeStatus, 0, sizeof(control.AttributeStatus));
  control.AttributesMode = LifeTestAttributesBadHeader;
  std::string second = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(control.AttributeStatus[0], NDIS_STATUS_INVALID_PARAMETER);  // unknown revision
  EXPECT_EQ(control.AttributeStatus[1], NDIS_STATUS_INVALID_PARAMETER);  // size below revision 1
  EXPECT_EQ(control.AttributeStatus[2], NDIS_STATUS_SUCCESS);
  EXPECT_EQ(control.AttributeStatus[3], NDIS_STATUS_SUCCESS);
  EXPECT_TRUE(violations.take().empty());

  std::memset(control.AttributeStatus, 0, sizeof(control.AttributeStatus));
  control.AttributesMode = LifeTestAttributesBadOffload;
  std::string third = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(third.empty());
  EXPECT_EQ(control.AttributeStatus[2], NDIS_STATUS_INVALID_PARAMETER);  // no HardwareOffloadCapabilities
  EXPECT_EQ(control.AttributeStatus[3], NDIS_STATUS_SUCCESS);
  expectCleanShutdown();
}

TEST_F(LifecycleTest, CallsInTheWrongStateAreReported) {
  start();
  std::string nic = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(nic.empty());
  Adapter* adapter = bed->adapter(nic);
  ASSERT_NE(adapter, nullptr);

  nt::RecordViolationsScope violations;
  NDIS_MINIPORT_ADAPTER_ATTRIBUTES attributes = {};
  attributes.RegistrationAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
  attributes.RegistrationAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
  attributes.RegistrationAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
  // Only from MiniportInitializeEx; NdisMPauseComplete/NdisMRestartComplete only after a
  // pended pause/restart.
  EXPECT_EQ(NdisMSetMiniportAttributes(adapter->handle(), &attributes), NDIS_STATUS_FAILURE);
  NdisMPauseComplete(adapter->handle());
  NdisMRestartComplete(adapter->handle(), NDIS_STATUS_SUCCESS);
  auto recorded = violations.take();
  ASSERT_EQ(recorded.size(), 3u);
  for (const auto& violation : recorded) {
    EXPECT_EQ(violation.rule, "ndis.state");
    EXPECT_EQ(violation.code, 0x7Cu);  // BUGCODE_NDIS_DRIVER
    EXPECT_EQ(violation.parameters[0], 0x0Cu);
    EXPECT_EQ(violation.parameters[1], reinterpret_cast<std::uintptr_t>(adapter->handle()));
    EXPECT_EQ(violation.parameters[2], static_cast<std::uint64_t>(AdapterState::Running));
  }
  EXPECT_EQ(adapter->state(), AdapterState::Running);  // nothing moved

  // Deregistering the driver while its adapter is present is refused.
  NdisMDeregisterMiniportDriver(adapter->driver().handle());
  EXPECT_EQ(ndistest::rules(violations), std::vector<std::string>{"ndis.deregister-with-adapters"});
  EXPECT_EQ(adapter->state(), AdapterState::Running);

  // A handle that is no adapter at all.
  int notAnAdapter = 0;
  NdisMPauseComplete(&notAnAdapter);
  EXPECT_EQ(ndistest::rules(violations), std::vector<std::string>{"ndis.bad-handle"});
  expectCleanShutdown();
}

TEST_F(LifecycleTest, PendedRestartAndPauseCompleteFromTheMiniportsTimer) {
  control.PendRestart = TRUE;
  control.PendPause = TRUE;
  start();
  std::string nic = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(nic.empty());
  // NDIS restarts the stack above only after NdisMRestartComplete.
  EXPECT_EQ(events(), "IaRrb");
  clearEvents();
  EXPECT_TRUE(bed->remove(nic).removed);
  // MiniportHaltEx only after NdisMPauseComplete.
  EXPECT_EQ(events(), "cPpdH");
  expectCleanShutdown();
}

TEST_F(LifecycleTest, RestartFailureLeavesTheAdapterPaused) {
  control.RestartStatus = NDIS_STATUS_RESOURCES;
  start();
  std::string nic = bed->plug(kHardwareId);
  ASSERT_FALSE(nic.empty());
  EXPECT_TRUE(bed->waitForState(nic, AdapterState::Paused));
  EXPECT_EQ(bed->adapter(nic)->lastRestartStatus(), NDIS_STATUS_RESOURCES);
  EXPECT_EQ(events(), "IaR");  // the stack above is not restarted
  clearEvents();
  EXPECT_TRUE(bed->remove(nic).removed);
  EXPECT_EQ(events(), "dH");  // already Paused: no MiniportPause
  expectCleanShutdown();
}

TEST_F(LifecycleTest, PendedRestartFailureLeavesTheAdapterPaused) {
  control.RestartStatus = NDIS_STATUS_FAILURE;
  control.PendRestart = TRUE;
  start();
  std::string nic = bed->plug(kHardwareId);
  EXPECT_TRUE(bed->waitForState(nic, AdapterState::Paused));
  EXPECT_EQ(events(), "IaRr");
  expectCleanShutdown();
}

TEST_F(LifecycleTest, SurpriseRemovalNotifiesPausesAndHaltsBeforeRemove) {
  start();
  std::string nic = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(nic.empty());
  clearEvents();
  ASSERT_EQ(bed->unplug(nic), STATUS_SUCCESS);
  // MiniportDevicePnPEventNotify(SurpriseRemoved), pause, unbind, MiniportHaltEx.
  EXPECT_EQ(events(), "EcPdH");
  EXPECT_EQ(control.LastPnpEvent, NdisDevicePnPEventSurpriseRemoved);
  EXPECT_EQ(control.LastHaltAction, NdisHaltDeviceSurpriseRemoved);
  EXPECT_EQ(control.LastPauseReason, static_cast<ULONG>(NDIS_PAUSE_MINIPORT_DEVICE_REMOVE));
  // When notified, the device was already gone below.
  EXPECT_EQ(control.SurprisePingStatus, STATUS_NO_SUCH_DEVICE);
  // IRP_MN_REMOVE_DEVICE followed: the FDO and the adapter are gone.
  EXPECT_EQ(bed->adapter(nic), nullptr);
  auto device = bed->pnp().device(nic);
  EXPECT_TRUE(!device.has_value() || !device->present);
  expectCleanShutdown();
}

// Guide, "Stopping a NIC": the query is succeeded, IRP_MN_STOP_DEVICE pauses the adapter
// and halts it with NdisHaltDeviceStopped (the FDO stays), and the next IRP_MN_START_DEVICE
// initializes and restarts it again.
TEST_F(LifecycleTest, StopDeviceHaltsAndTheNextStartInitializesAgain) {
  start();
  std::string nic = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(nic.empty());
  Adapter* adapter = bed->adapter(nic);
  ASSERT_NE(adapter, nullptr);
  clearEvents();

  EXPECT_EQ(bed->sendPnpIrp(nic, IRP_MN_QUERY_STOP_DEVICE), STATUS_SUCCESS);
  EXPECT_EQ(events(), "");  // nothing happens to the adapter on the query
  EXPECT_EQ(bed->sendPnpIrp(nic, IRP_MN_STOP_DEVICE), STATUS_SUCCESS);
  // Pausing told, MiniportPause, departing told, MiniportHaltEx(NdisHaltDeviceStopped).
  EXPECT_EQ(events(), "cPdH");
  EXPECT_EQ(control.LastHaltAction, NdisHaltDeviceStopped);
  EXPECT_EQ(control.LastPauseReason, static_cast<ULONG>(NDIS_PAUSE_NDIS_INTERNAL));
  EXPECT_EQ(control.Adapters, 0);
  EXPECT_EQ(bed->adapter(nic), adapter);  // the FDO and its adapter block stay
  EXPECT_EQ(bed->adapterState(nic), AdapterState::Halted);

  clearEvents();
  EXPECT_EQ(bed->sendPnpIrp(nic, IRP_MN_START_DEVICE), STATUS_SUCCESS);
  EXPECT_EQ(bed->adapterState(nic), AdapterState::Running);
  EXPECT_EQ(events(), "IaRb");
  EXPECT_EQ(control.InitializeCalls, 2);
  EXPECT_EQ(control.Adapters, 1);

  // A stop the PnP manager cancels leaves the adapter running.
  clearEvents();
  EXPECT_EQ(bed->sendPnpIrp(nic, IRP_MN_QUERY_STOP_DEVICE), STATUS_SUCCESS);
  EXPECT_EQ(bed->sendPnpIrp(nic, IRP_MN_CANCEL_STOP_DEVICE), STATUS_SUCCESS);
  EXPECT_EQ(events(), "");
  EXPECT_EQ(bed->adapterState(nic), AdapterState::Running);
  expectCleanShutdown();
}

TEST_F(LifecycleTest, DevicePowerD3PausesAndD0Restarts) {
  start();
  std::string nic = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(nic.empty());
  EXPECT_EQ(bed->busPowerState(nic), PowerDeviceD0);
  clearEvents();

  ASSERT_EQ(bed->setDevicePower(nic, PowerDeviceD3), STATUS_SUCCESS);
  EXPECT_EQ(bed->adapterState(nic), AdapterState::Paused);
  EXPECT_EQ(bed->adapter(nic)->devicePower(), PowerDeviceD3);
  EXPECT_EQ(bed->busPowerState(nic), PowerDeviceD3);  // passed down after the pause
  // Paused first, then OID_PNP_QUERY_POWER and OID_PNP_SET_POWER; a power change is no halt.
  EXPECT_EQ(events(), "cPQW");
  EXPECT_EQ(control.LastSetPower, NdisDeviceStateD3);

  clearEvents();
  ASSERT_EQ(bed->setDevicePower(nic, PowerDeviceD0), STATUS_SUCCESS);
  EXPECT_EQ(bed->adapterState(nic), AdapterState::Running);
  EXPECT_EQ(bed->busPowerState(nic), PowerDeviceD0);
  // OID_PNP_SET_POWER(D0) (D0 is never queried), then the restart.
  EXPECT_EQ(events(), "WRb");
  EXPECT_EQ(control.LastSetPower, NdisDeviceStateD0);
  EXPECT_EQ(control.RestartCalls, 2);
  expectCleanShutdown();
}

TEST_F(LifecycleTest, SystemSleepPowersTheAdapterDownAndWakeRestartsIt) {
  start();
  std::string nic = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(nic.empty());
  ASSERT_EQ(bed->pnp().setSystemPower(PowerSystemSleeping3), STATUS_SUCCESS);
  bed->settle();
  EXPECT_EQ(bed->adapterState(nic), AdapterState::Paused);
  EXPECT_EQ(bed->busPowerState(nic), PowerDeviceD3);
  ASSERT_EQ(bed->pnp().setSystemPower(PowerSystemWorking), STATUS_SUCCESS);
  bed->settle();
  EXPECT_EQ(bed->adapterState(nic), AdapterState::Running);
  EXPECT_EQ(bed->busPowerState(nic), PowerDeviceD0);
  expectCleanShutdown();
}

TEST_F(LifecycleTest, SystemShutdownCallsMiniportShutdownEx) {
  start();
  std::string nic = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(nic.empty());
  clearEvents();
  ASSERT_EQ(bed->pnp().setSystemPower(PowerSystemShutdown), STATUS_SUCCESS);
  EXPECT_EQ(events(), "S");
  EXPECT_EQ(control.LastShutdownAction, NdisShutdownPowerOff);
  EXPECT_EQ(bed->adapterState(nic), AdapterState::Shutdown);
  // "Cannot be used until the system is shut down and restarted": removal does not halt it,
  // so what the miniport allocated is still allocated when it unloads.
  auto leaks = bed->shutdown();
  EXPECT_EQ(control.HaltCalls, 0);
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks.front().driver, "lifetest");
  EXPECT_GE(leaks.front().bytesWithTag(nt::poolTag("Lift")), sizeof(void*));
  control.Adapters = 0;
}

TEST_F(LifecycleTest, TwoAdaptersLiveSideBySide) {
  start();
  std::string first = bed->plugRunning(kHardwareId);
  std::string second = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  ASSERT_NE(first, second);
  Adapter* a = bed->adapter(first);
  Adapter* b = bed->adapter(second);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->ifIndex(), b->ifIndex());
  EXPECT_EQ(control.Adapters, 2);
  ASSERT_EQ(bed->unplug(first), STATUS_SUCCESS);
  EXPECT_EQ(bed->adapterState(second), AdapterState::Running);
  EXPECT_EQ(control.Adapters, 1);
  expectCleanShutdown();
}

TEST_F(LifecycleTest, WholeLifeInDeterministicMode) {
  control.PendRestart = TRUE;
  control.PendPause = TRUE;
  start(/*deterministic=*/true);
  std::string nic = bed->plugRunning(kHardwareId);
  ASSERT_FALSE(nic.empty());
  ASSERT_EQ(bed->setDevicePower(nic, PowerDeviceD3), STATUS_SUCCESS);
  EXPECT_EQ(bed->adapterState(nic), AdapterState::Paused);
  ASSERT_EQ(bed->setDevicePower(nic, PowerDeviceD0), STATUS_SUCCESS);
  EXPECT_TRUE(bed->waitForState(nic, AdapterState::Running));
  ASSERT_EQ(bed->unplug(nic), STATUS_SUCCESS);
  EXPECT_EQ(control.LastHaltAction, NdisHaltDeviceSurpriseRemoved);
  expectCleanShutdown();
}

}  // namespace
