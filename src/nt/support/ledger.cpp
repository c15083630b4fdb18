#include "nt/support/ledger.hpp"

#include <mutex>

namespace ndishost::nt {
namespace {

// One intrusive list for every kind: leak reports walk it rarely (at unload), while
// add/remove are O(1) under a lock that is held for a few instructions.
struct Ledger {
  std::mutex lock;
  LedgerEntry head;  // sentinel
  Ledger() { head.prev = head.next = &head; }
};

Ledger& ledger() {
  static Ledger instance;
  return instance;
}

}  // namespace

const char* toString(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::Pool: return "pool";
    case ResourceKind::Irp: return "IRP";
    case ResourceKind::Mdl: return "MDL";
    case ResourceKind::WorkItem: return "work item";
    case ResourceKind::Timer: return "timer";
    case ResourceKind::Dpc: return "DPC";
    case ResourceKind::DeviceObject: return "device object";
    case ResourceKind::Lookaside: return "lookaside list";
    case ResourceKind::Other: return "other";
  }
  return "?";
}

void ledgerAdd(LedgerEntry& entry) {
  if (entry.owner == nullptr && entry.callSite != nullptr) {
    // The image outlives every entry it owns (the loader reports and unregisters it only
    // after unload), so a plain pointer is safe to keep here.
    entry.owner = findDriverImage(entry.callSite).get();
  }
  auto& l = ledger();
  std::lock_guard guard(l.lock);
  entry.next = &l.head;
  entry.prev = l.head.prev;
  l.head.prev->next = &entry;
  l.head.prev = &entry;
}

void ledgerRemove(LedgerEntry& entry) {
  auto& l = ledger();
  std::lock_guard guard(l.lock);
  if (entry.next == nullptr) return;  // never added
  entry.prev->next = entry.next;
  entry.next->prev = entry.prev;
  entry.prev = entry.next = nullptr;
}

std::vector<LeakRecord> ledgerOutstanding(const DriverImage& image) {
  std::vector<LeakRecord> leaks;
  auto& l = ledger();
  std::lock_guard guard(l.lock);
  for (auto* e = l.head.next; e != &l.head; e = e->next) {
    if (e->owner == &image) leaks.push_back({e->kind, e->object, e->callSite, e->tag, e->size});
  }
  return leaks;
}

std::size_t ledgerCount(const DriverImage* image, ResourceKind kind) {
  std::size_t count = 0;
  auto& l = ledger();
  std::lock_guard guard(l.lock);
  for (auto* e = l.head.next; e != &l.head; e = e->next) {
    if (e->owner == image && e->kind == kind) ++count;
  }
  return count;
}

std::string tagToString(std::uint32_t tag) {
  std::string text;
  for (int i = 0; i < 4; ++i) {
    auto c = static_cast<char>((tag >> (8 * i)) & 0xFF);
    text.push_back(c >= 0x20 && c < 0x7F ? c : '.');
  }
  return text;
}

}  // namespace ndishost::nt
