// The object namespace and the symbolic-link DDIs.
#include "nt/io/object_namespace.hpp"

#include <map>
#include <variant>

#include "nt/io/io_objects.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/support/log.hpp"

namespace ndishost::nt {
namespace {

struct Link {
  std::u16string target;
};
using Entry = std::variant<PDEVICE_OBJECT, Link>;

// "\DosDevices" is itself a link to "\??" on Windows; folding it here saves a lookup.
std::u16string canonicalKey(std::u16string_view name) {
  constexpr std::u16string_view kDosDevices = u"\\DOSDEVICES\\";
  std::u16string key(name);
  for (auto& c : key) {
    if (c >= u'a' && c <= u'z') c = static_cast<char16_t>(c - u'a' + u'A');
  }
  if (key.starts_with(kDosDevices)) key = u"\\??\\" + key.substr(kDosDevices.size());
  return key;
}

std::map<std::u16string, Entry>& entries() {
  static std::map<std::u16string, Entry> instance;
  return instance;
}

bool validName(std::u16string_view name) { return !name.empty() && name.front() == u'\\'; }

}  // namespace

std::u16string_view toView(PCUNICODE_STRING text) {
  if (text == nullptr || text->Buffer == nullptr) return {};
  return {reinterpret_cast<const char16_t*>(text->Buffer), text->Length / sizeof(WCHAR)};
}

NTSTATUS namespaceInsertDevice(std::u16string_view name, PDEVICE_OBJECT device) {
  if (!validName(name)) return STATUS_OBJECT_NAME_INVALID;
  auto [it, inserted] = entries().try_emplace(canonicalKey(name), device);
  return inserted ? STATUS_SUCCESS : STATUS_OBJECT_NAME_COLLISION;
}

void namespaceRemoveDevice(std::u16string_view name) { entries().erase(canonicalKey(name)); }

NTSTATUS namespaceCreateLink(std::u16string_view link, std::u16string_view target) {
  if (!validName(link) || !validName(target)) return STATUS_OBJECT_NAME_INVALID;
  std::lock_guard guard(ioDatabaseLock());
  auto [it, inserted] = entries().try_emplace(canonicalKey(link), Link{std::u16string(target)});
  return inserted ? STATUS_SUCCESS : STATUS_OBJECT_NAME_COLLISION;
}

NTSTATUS namespaceDeleteLink(std::u16string_view link) {
  std::lock_guard guard(ioDatabaseLock());
  auto it = entries().find(canonicalKey(link));
  if (it == entries().end() || !std::holds_alternative<Link>(it->second)) return STATUS_OBJECT_NAME_NOT_FOUND;
  entries().erase(it);
  return STATUS_SUCCESS;
}

PDEVICE_OBJECT namespaceReferenceDevice(std::u16string_view name) {
  std::lock_guard guard(ioDatabaseLock());
  std::u16string key = canonicalKey(name);
  // Windows limits reparse chains too; a loop of links must not hang the caller.
  for (int hops = 0; hops < 32; ++hops) {
    auto it = entries().find(key);
    if (it == entries().end()) return nullptr;
    if (auto* device = std::get_if<PDEVICE_OBJECT>(&it->second)) {
      referenceObject(*objectHeaderOf(*device));
      return *device;
    }
    key = canonicalKey(std::get<Link>(it->second).target);
  }
  return nullptr;
}

}  // namespace ndishost::nt

using namespace ndishost::nt;

// PASSIVE_LEVEL.
extern "C" NTSTATUS NTAPI IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName) {
  checkIrqlAtMost(PASSIVE_LEVEL, "IoCreateSymbolicLink", __builtin_return_address(0));
  NTSTATUS status = namespaceCreateLink(toView(SymbolicLinkName), toView(DeviceName));
  logger("io").debug("symbolic link {} -> {}: {}", narrow(toView(SymbolicLinkName)), narrow(toView(DeviceName)),
                     statusName(status));
  return status;
}

// PASSIVE_LEVEL.
extern "C" NTSTATUS NTAPI IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName) {
  checkIrqlAtMost(PASSIVE_LEVEL, "IoDeleteSymbolicLink", __builtin_return_address(0));
  return namespaceDeleteLink(toView(SymbolicLinkName));
}
