// Kernel callbacks that could still run code of a driver image: timers still set and DPCs
// still queued whose routine (or object) lies inside it. Checked at unload, where any of
// them is a leak -- and a crash waiting to happen once the image is unmapped.
#pragma once

#include <vector>

#include "nt/pnp/leak_report.hpp"
#include "nt/support/driver_image.hpp"

namespace ndishost::nt::pnp {

std::vector<PendingCallback> pendingCallbacksIn(const DriverImage& image);

}  // namespace ndishost::nt::pnp
