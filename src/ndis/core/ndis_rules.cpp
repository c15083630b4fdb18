#include "ndis/core/ndis_rules.hpp"

#include <fmt/format.h>

#include "nt/ex/current_irql.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::ndis {

void reportNdisViolation(std::string_view rule, NdisBugSubcode subcode, const void* object, std::uint64_t detailValue,
                         const void* caller, std::string detail) {
  nt::reportViolation({rule, nt::bugcheck::BugcodeNdisDriver, static_cast<std::uint64_t>(subcode),
                       reinterpret_cast<std::uintptr_t>(object), detailValue, 0},
                      caller, std::move(detail));
}

bool checkIrqlAtMost(KIRQL maximum, const char* ddi, const void* caller) {
  return nt::checkIrqlAtMost(maximum, ddi, caller);
}

bool checkIrqlExactly(KIRQL required, const char* ddi, const void* caller) {
  KIRQL current = nt::currentIrqlOrPassive();
  if (current == required) return true;
  nt::reportViolation({current > required ? "irql.too-high" : "irql.too-low", nt::bugcheck::IrqlNotLessOrEqual, current,
                       required, 0, 0},
                      caller,
                      fmt::format("{} requires IRQL {} but was called at IRQL {}", ddi, required, current));
  return false;
}

}  // namespace ndishost::ndis
