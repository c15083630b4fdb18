// The images of loaded drivers, so the runtime can say which driver made a call.
//
// Every DDI that allocates, checks a rule or reports a leak attributes the call to the
// driver whose image contains the caller's return address (__builtin_return_address(0)).
// The loader registers an image when it maps a driver and unregisters it after unload;
// calls from anywhere else (the host, tests) are attributed to no driver.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ndishost::nt {

struct DriverImage {
  std::string name;   // e.g. "usbncm" (the manifest's driver name)
  std::string path;   // the shared object it was loaded from
  std::uintptr_t base = 0;  // [base, end) covers the image's mapped segments
  std::uintptr_t end = 0;

  bool contains(const void* address) const {
    auto a = reinterpret_cast<std::uintptr_t>(address);
    return a >= base && a < end;
  }
};

// Registers an image; it stays findable until the returned handle is destroyed.
class DriverImageRegistration {
 public:
  explicit DriverImageRegistration(std::shared_ptr<const DriverImage> image);
  ~DriverImageRegistration();
  DriverImageRegistration(const DriverImageRegistration&) = delete;
  DriverImageRegistration& operator=(const DriverImageRegistration&) = delete;
  const DriverImage& image() const { return *image_; }

 private:
  std::shared_ptr<const DriverImage> image_;
};

// The image containing `address`, or nullptr when the address is outside every driver.
std::shared_ptr<const DriverImage> findDriverImage(const void* address);

// "usbncm" for an address inside a driver, "host" otherwise: the name reports use.
std::string describeCaller(const void* address);

}  // namespace ndishost::nt
