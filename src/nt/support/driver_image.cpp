#include "nt/support/driver_image.hpp"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <vector>

namespace ndishost::nt {
namespace {

// Few drivers are loaded at once and lookups vastly outnumber loads: a small vector under
// a reader/writer lock beats anything cleverer.
struct ImageTable {
  std::shared_mutex lock;
  std::vector<std::shared_ptr<const DriverImage>> images;
};

ImageTable& table() {
  static ImageTable instance;
  return instance;
}

}  // namespace

DriverImageRegistration::DriverImageRegistration(std::shared_ptr<const DriverImage> image)
    : image_(std::move(image)) {
  auto& t = table();
  std::unique_lock guard(t.lock);
  t.images.push_back(image_);
}

DriverImageRegistration::~DriverImageRegistration() {
  auto& t = table();
  std::unique_lock guard(t.lock);
  std::erase(t.images, image_);
}

std::shared_ptr<const DriverImage> findDriverImage(const void* address) {
  auto& t = table();
  std::shared_lock guard(t.lock);
  auto it = std::find_if(t.images.begin(), t.images.end(),
                         [address](const auto& image) { return image->contains(address); });
  return it == t.images.end() ? nullptr : *it;
}

std::string describeCaller(const void* address) {
  auto image = findDriverImage(address);
  return image ? image->name : std::string("host");
}

}  // namespace ndishost::nt
