// The names of every rule the runtime checks (docs/CHECKS.md lists them with their bug
// check codes and triggers). A rule name is how a person refers to a check: in a report,
// in `[verification] disable = [...]`, in a test. Keeping them in one table lets the
// configuration reject a misspelt name instead of silently checking everything, and lets a
// test hold the sources, this table and docs/CHECKS.md in step.
//
// A new rule: add its name here (in its area) and a row to docs/CHECKS.md;
// tests/nt/support_test.cpp fails until both are done.
#pragma once

#include <algorithm>
#include <span>
#include <string_view>

namespace ndishost::nt {

inline constexpr std::string_view kKnownRules[] = {
    // Kernel core (src/nt/ke)
    "irql.too-high", "irql.too-low", "irql.raise-lowers", "irql.lower-raises", "irql.wait-at-dispatch",
    "spinlock.recursive", "spinlock.not-owned", "ke.bad-dispatcher-object", "ke.too-many-wait-objects", "ke.deadlock",
    "mutex.not-owned", "semaphore.limit-exceeded", "dpc.irql-changed", "dpc.bad-object", "timer.bad-period",
    "workitem.irql-leak", "workitem.double-queue", "workitem.bad-item", "fastmutex.recursive", "fastmutex.not-owned",
    "ke.critical-region-underflow", "thread.exit-raised-irql", "thread.exit-apcs-disabled",
    "ps.terminate-foreign-thread", "ps.thread-leak", "ke.bad-parameter", "kebugcheck",
    // I/O manager (src/nt/io)
    "ob.not-an-object", "io.invalid-device-object", "io.invalid-driver-object", "io.delete-twice",
    "io.delete-attached", "io.delete-not-detached", "io.detach-not-attached", "irp.invalid", "irp.no-stack-location",
    "irp.invalid-major-function", "irp.complete-twice", "irp.complete-pending", "irp.cancel-routine-set",
    "irp.completion-not-stopped", "irp.not-completed", "irp.free-not-allocated", "irp.free-twice",
    "irp.free-io-manager-irp", "irp.free-in-flight", "irp.initialize-too-small", "irp.reuse-built-irp",
    "irp.reuse-in-flight", "removelock.size-mismatch", "removelock.release-unbalanced", "removelock.wait-twice",
    "removelock.wait-without-acquire", "workitem.invalid", "workitem.free-while-queued",
    "workitem.free-not-allocated", "errorlog.invalid-entry",
    // Pool, lookasides, lists, MDLs, Rtl (src/nt/ex, mm, rtl)
    "pool.bad-free", "pool.double-free", "pool.tag-mismatch", "pool.zero-size", "pool.overrun",
    "pool.write-after-free", "pool.raise-on-failure", "lookaside.double-init", "lookaside.not-initialized",
    "slist.misaligned", "list.corrupt", "rtl.fail-fast", "dbg.assert-failed", "mdl.bad-free", "mdl.free-locked",
    "mdl.map-unlocked", "mdl.unlock-not-locked", "mdl.unmap-not-mapped", "mdl.bad-lock", "mdl.bad-build",
    "mdl.partial-of-unlocked", "mdl.partial-out-of-range", "mdl.target-too-small", "mdl.reuse-without-prepare",
    // Driver loading and PnP (src/nt/pnp)
    "driver.unload-with-devices", "pnp.remove-left-device", "pnp.not-a-pdo", "power.start-next-not-power-irp",
    // NDIS library (src/ndis)
    "ndis.pool-free-with-outstanding", "ndis.pool-bad-handle", "ndis.pool-wrong-kind", "ndis.nbl-bad-free",
    "ndis.nbl-double-free", "ndis.nb-bad-free", "ndis.nb-double-free", "ndis.nb-bad-parameters",
    "ndis.nbl-context-size", "ndis.nbl-context-underflow", "ndis.nbl-free-with-context", "ndis.nb-advance-past-end",
    "ndis.nb-retreat-short-mdl", "ndis.bad-handle", "ndis.config-bad-handle", "ndis.rwlock-invalid",
    "ndis.rwlock-free-held", "ndis.rwlock-recursive", "ndis.rwlock-release-unheld", "ndis.timer-invalid",
    "ndis.timer-bad-period", "ndis.workitem-invalid", "ndis.workitem-double-queue", "ndis.workitem-free-queued",
    "ndis.unload-without-deregister", "ndis.attributes-order", "ndis.state", "ndis.init-missing-attributes",
    "ndis.halt-outstanding", "ndis.deregister-with-adapters", "ndis.nbl-not-owned", "ndis.nbl-complete-twice",
    "ndis.receive-while-paused", "ndis.receive-count-mismatch", "ndis.receive-dispatch-flag",
    "ndis.oid-complete-pending", "ndis.oid-complete-twice", "ndis.oid-not-pending", "ndis.status-bad-header", "ndis.status-bad-buffer",
    "ndis.reset-not-pending", "ndis.reset-complete-twice", "ndis.return-not-indicated", "ndis.protocol-bad-handle",
    "ndis.protocol-closed-handle", "ndis.protocol-bind-without-open", "ndis.protocol-bind-failed-left-open",
    "ndis.protocol-unbind-without-close", "ndis.protocol-open-outside-bind", "ndis.protocol-open-twice",
    "ndis.protocol-close-outside-unbind", "ndis.protocol-close-twice", "ndis.protocol-close-outstanding",
    "ndis.protocol-complete-not-pended", "ndis.protocol-complete-with-pending", "ndis.protocol-pause-failed",
    "ndis.protocol-nbl-source-handle", "ndis.protocol-send-not-running", "ndis.protocol-return-not-indicated",
    // NDIS control devices (NdisRegisterDeviceEx)
    "ndis.device-not-deregistered", "ndis.device-pnp-power-handler",
};

// KeBugCheckEx / KeBugCheck: the driver asked to stop; no setting turns that off.
inline constexpr std::string_view kAlwaysFatalRule = "kebugcheck";

inline std::span<const std::string_view> knownRules() { return kKnownRules; }

inline bool isKnownRule(std::string_view name) {
  return std::find(std::begin(kKnownRules), std::end(kKnownRules), name) != std::end(kKnownRules);
}

}  // namespace ndishost::nt
