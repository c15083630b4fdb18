// Code addresses as people read them: "samplebus.so!SampleBusAddDevice+0x2c".
#pragma once

#include <string>

namespace ndishost::nt::pnp {

// Uses the dynamic symbol table (dladdr), so it must run while the image is mapped.
// Static functions show as "<file>+<offset>", which addr2line turns into a line.
std::string symbolizeAddress(const void* address);

}  // namespace ndishost::nt::pnp
