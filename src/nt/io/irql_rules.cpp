#include "nt/io/irql_rules.hpp"

#include <fmt/format.h>

#include "nt/support/violation.hpp"

namespace ndishost::nt {

bool checkIrqlAtMost(KIRQL maximum, const char* ddi, const void* caller) {
  KIRQL current = KeGetCurrentIrql();
  if (current <= maximum) return true;
  reportViolation({"irql.too-high", bugcheck::IrqlNotLessOrEqual, current, maximum},
                  caller, fmt::format("{} called at IRQL {}; it requires IRQL <= {}", ddi, current, maximum));
  return false;
}

}  // namespace ndishost::nt
