// Rule checks: what happens when a driver breaks a documented rule the runtime can see.
//
// Windows answers most of these with a bug check (DRIVER_VERIFIER_DETECTED_VIOLATION,
// IRQL_NOT_LESS_OR_EQUAL, MULTIPLE_IRP_COMPLETE_REQUESTS, BUGCODE_NDIS_DRIVER, ...). ndishost
// prints the same facts -- rule, bug check code and parameters, the driver, a stack -- and
// then, by default, stops the process. Tests switch to ViolationMode::Record to assert
// that a rule fired; the DDI then takes the documented safe way out (ignores the second
// completion, refuses the free, ...) and carries on. docs/CHECKS.md lists every rule.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ndishost::nt {

// Bug check codes, with the values Windows uses for the same failure.
namespace bugcheck {
inline constexpr std::uint32_t IrqlNotLessOrEqual = 0x0A;
inline constexpr std::uint32_t NoMoreIrpStackLocations = 0x35;
inline constexpr std::uint32_t MultipleIrpCompleteRequests = 0x44;
inline constexpr std::uint32_t SpinLockNotOwned = 0x10;  // SPIN_LOCK_NOT_OWNED
inline constexpr std::uint32_t SpinLockAlreadyOwned = 0x0F;  // SPIN_LOCK_ALREADY_OWNED
inline constexpr std::uint32_t BadPoolCaller = 0xC2;
inline constexpr std::uint32_t DriverVerifierDetectedViolation = 0xC4;
inline constexpr std::uint32_t DriverUnloadedWithoutCancellingPendingOperations = 0xCE;
inline constexpr std::uint32_t DriverLeftLockedPagesInProcess = 0xCB;
inline constexpr std::uint32_t BugcodeNdisDriver = 0x7C;
inline constexpr std::uint32_t InvalidWorkQueueItem = 0x96;
inline constexpr std::uint32_t TimerOrDpcInvalid = 0xC7;
inline constexpr std::uint32_t DeviceReferenceCountNotZero = 0x36;
inline constexpr std::uint32_t KernelApcPendingDuringExit = 0x20;
inline constexpr std::uint32_t AttemptedSwitchFromDpc = 0xB8;
inline constexpr std::uint32_t ManuallyInitiatedCrash = 0xE2;
inline constexpr std::uint32_t KmodeExceptionNotHandled = 0x1E;
}  // namespace bugcheck

enum class ViolationMode {
  Fatal,   // print the report and stop the process (the default, like a bug check)
  Record,  // print and record the report, then return so the DDI can take its safe way out
};

struct Violation {
  std::string rule;       // short stable name, e.g. "irp.complete-twice" (docs/CHECKS.md)
  std::uint32_t code = 0; // bug check code
  std::uint64_t parameters[4] = {};
  std::string driver;     // describeCaller() of the offending call
  std::string detail;     // one sentence saying what was wrong, with values
  std::string stack;      // symbolised stack, one frame per line
};

struct ViolationSpec {
  std::string_view rule;
  std::uint32_t code;
  std::uint64_t p1 = 0, p2 = 0, p3 = 0, p4 = 0;
};

// Reports a broken rule. `caller` is the driver's return address (attribution).
// Returns only in Record mode.
void reportViolation(const ViolationSpec& spec, const void* caller, std::string detail);

// KeBugCheckEx and fatal reports end here: print, flush logs, abort.
[[noreturn]] void fatalBugCheck(const Violation& v);

void setViolationMode(ViolationMode mode);
ViolationMode violationMode();

// Which rules are checked, process-wide ([verification] enabled / disable in the host's
// configuration). A rule that is not checked is not reported: reportViolation returns at
// once (in Fatal mode too) and the DDI takes the same safe way out as in Record mode; the
// report is only counted (suppressedViolations). KeBugCheckEx is the driver's own request
// to stop and is never suppressed. Whether a checked rule stops the process is the
// ViolationMode above.
struct ViolationPolicy {
  bool enabled = true;                // false: no rule is reported
  std::set<std::string> disabledRules;  // names from rule_registry.hpp
};

// Throws std::invalid_argument naming the first rule that is not in the registry
// (rule_registry.hpp), or the one rule that cannot be disabled ("kebugcheck").
void setViolationPolicy(ViolationPolicy policy);
ViolationPolicy violationPolicy();
// Whether reportViolation would report `rule` under the current policy.
bool ruleChecked(std::string_view rule);

// Reports the policy swallowed since the process started, per rule.
std::map<std::string, std::uint64_t, std::less<>> suppressedViolations();
std::uint64_t suppressedViolationCount(std::string_view rule);

// RAII: a policy for a scope (a host runtime's life, a test), restoring the previous one.
class ViolationPolicyScope {
 public:
  explicit ViolationPolicyScope(ViolationPolicy policy);  // throws like setViolationPolicy
  ~ViolationPolicyScope();
  ViolationPolicyScope(const ViolationPolicyScope&) = delete;
  ViolationPolicyScope& operator=(const ViolationPolicyScope&) = delete;

 private:
  ViolationPolicy previous_;
};

// Violations recorded in Record mode since the last take (oldest first).
std::vector<Violation> takeRecordedViolations();

// RAII for tests: switch to Record mode for a scope, restoring the previous mode after.
class RecordViolationsScope {
 public:
  RecordViolationsScope();
  ~RecordViolationsScope();
  RecordViolationsScope(const RecordViolationsScope&) = delete;
  RecordViolationsScope& operator=(const RecordViolationsScope&) = delete;
  std::vector<Violation> take() { return takeRecordedViolations(); }

 private:
  ViolationMode previous_;
};

// The current thread's stack, symbolised, skipping `skip` innermost frames.
std::string captureStack(int skip = 0);

}  // namespace ndishost::nt
