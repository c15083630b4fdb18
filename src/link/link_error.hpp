// The one exception type of the link layer: creation and configuration errors whose
// message says what was asked for and what is wrong ("afpacket: no interface named 'x'").
#pragma once

#include <stdexcept>
#include <string>

namespace ndishost::link {

class LinkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<what>: <strerror(err)>", for system calls that fail in ways the caller cannot fix
// with a more specific message.
std::string systemErrorText(const std::string& what, int err);

}  // namespace ndishost::link
