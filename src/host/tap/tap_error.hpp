// Errors opening or configuring a TAP interface. The message names the interface and says
// what to do about it ("tap 'ndis0': name in use by another interface").
#pragma once

#include <stdexcept>
#include <string>

namespace ndishost::host {

class TapError : public std::runtime_error {
 public:
  enum class Kind { NoTunDevice, NoPermission, NameInUse, NoSuchInterface, Other };
  TapError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace ndishost::host
