#include "ndis/core/ndis_object.hpp"

#include <mutex>
#include <shared_mutex>
#include <unordered_set>

namespace ndishost::ndis {
namespace {

struct Registry {
  std::shared_mutex lock;
  std::unordered_set<const NdisObject*> live;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

const char* toString(NdisObjectKind kind) {
  switch (kind) {
    case NdisObjectKind::MiniportDriver:
      return "miniport driver";
    case NdisObjectKind::Adapter:
      return "adapter";
    case NdisObjectKind::Standalone:
      return "standalone";
    case NdisObjectKind::ProtocolDriver:
      return "protocol driver";
    case NdisObjectKind::Binding:
      return "binding";
    case NdisObjectKind::Device:
      return "device";
  }
  return "?";
}

NdisObject::NdisObject(NdisObjectKind kind) : kind_(kind) {
  auto& r = registry();
  std::unique_lock guard(r.lock);
  r.live.insert(this);
}

NdisObject::~NdisObject() {
  auto& r = registry();
  std::unique_lock guard(r.lock);
  r.live.erase(this);
}

NdisObject* NdisObject::fromHandle(NDIS_HANDLE handle) {
  if (handle == nullptr) return nullptr;
  auto& r = registry();
  std::shared_lock guard(r.lock);
  auto it = r.live.find(static_cast<const NdisObject*>(handle));
  return it == r.live.end() ? nullptr : static_cast<NdisObject*>(handle);
}

StandaloneHandle::StandaloneHandle(std::string name, PVOID ioObject, std::shared_ptr<ConfigurationStore> configuration)
    : NdisObject(NdisObjectKind::Standalone),
      name_(std::move(name)),
      ioObject_(ioObject),
      configuration_(std::move(configuration)) {}

StandaloneHandle::~StandaloneHandle() = default;

}  // namespace ndishost::ndis
