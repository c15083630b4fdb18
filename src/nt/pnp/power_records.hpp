
// After the standard headers: <sal.h> defines __in/__out, which libstdc++ uses as names.
#include <tuple>
#include <utility>
#include <wdm.h>
// The device power state each device object last reported with PoSetPowerState -- the
// power manager's record of it on Windows. Listings show it; the IoDeleteDevice hook
// forgets it.
#pragma once

namespace ndishost::nt::pnp {

DEVICE_POWER_STATE recordedPowerState(PDEVICE_OBJECT device);
// Returns the previous state (PowerDeviceUnspecified when none was recorded).
DEVICE_POWER_STATE recordPowerState(PDEVICE_OBJECT device, DEVICE_POWER_STATE state);
void forgetPowerState(PDEVICE_OBJECT device);

}  // namespace ndishost::nt::pnp
