// The one AdapterObserver (the protocol side). The pointer is read under a lock and each
// notification runs outside it, because an observer's callback may take a long time
// (pended binds) and must be free to call back into NDIS.
#include "ndis/miniport/adapter_observer.hpp"

#include <mutex>

namespace ndishost::ndis {
namespace {

std::mutex observerLock;
AdapterObserver* installedObserver = nullptr;

AdapterObserver* observer() {
  std::lock_guard guard(observerLock);
  return installedObserver;
}

}  // namespace

void setAdapterObserver(AdapterObserver* newObserver) {
  std::lock_guard guard(observerLock);
  installedObserver = newObserver;
}

void notifyAdapterArrived(Adapter& adapter) {
  if (AdapterObserver* current = observer()) current->adapterArrived(adapter);
}

void notifyAdapterRestarted(Adapter& adapter) {
  if (AdapterObserver* current = observer()) current->adapterRestarted(adapter);
}

void notifyAdapterPausing(Adapter& adapter) {
  if (AdapterObserver* current = observer()) current->adapterPausing(adapter);
}

void notifyAdapterDeparting(Adapter& adapter) {
  if (AdapterObserver* current = observer()) current->adapterDeparting(adapter);
}

NDIS_STATUS notifyAdapterQueryRemove(Adapter& adapter) {
  AdapterObserver* current = observer();
  return current != nullptr ? current->adapterQueryRemove(adapter) : NDIS_STATUS_SUCCESS;
}

void notifyAdapterCancelRemove(Adapter& adapter) {
  if (AdapterObserver* current = observer()) current->adapterCancelRemove(adapter);
}

}  // namespace ndishost::ndis
