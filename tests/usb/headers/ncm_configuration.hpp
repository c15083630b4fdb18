// The configuration a CDC-NCM function returns: an IAD, the communication interface with its
// functional descriptors and notification endpoint, and the data interface with an empty
// alternate setting 0 and the bulk pair in alternate setting 1. Shared by the USBD tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <wdm.h>
#include <usbdlib.h>

namespace usbd_test {

inline const std::vector<std::uint8_t> kNcmConfiguration = {
    0x09, 0x02, 0x5E, 0x00, 0x02, 0x01, 0x00, 0xC0, 0xFA,  // configuration, 94 bytes
    0x08, 0x0B, 0x00, 0x02, 0x02, 0x0D, 0x00, 0x00,        // IAD: interfaces 0-1, CDC NCM
    0x09, 0x04, 0x00, 0x00, 0x01, 0x02, 0x0D, 0x00, 0x00,  // interface 0 alt 0, CDC/NCM
    0x05, 0x24, 0x00, 0x10, 0x01,                          // CDC header
    0x05, 0x24, 0x06, 0x00, 0x01,                          // CDC union 0 -> 1
    0x0D, 0x24, 0x0F, 0x04, 0x00, 0x00, 0x00, 0x00, 0xEA, 0x05, 0x00, 0x00, 0x00,  // ethernet
    0x06, 0x24, 0x1A, 0x00, 0x01, 0x00,                    // NCM functional
    0x07, 0x05, 0x81, 0x03, 0x10, 0x00, 0x09,              // interrupt IN 0x81
    0x09, 0x04, 0x01, 0x00, 0x00, 0x0A, 0x00, 0x01, 0x00,  // interface 1 alt 0, no endpoints
    0x09, 0x04, 0x01, 0x01, 0x02, 0x0A, 0x00, 0x01, 0x00,  // interface 1 alt 1, CDC data
    0x07, 0x05, 0x82, 0x02, 0x00, 0x02, 0x00,              // bulk IN 0x82
    0x07, 0x05, 0x03, 0x02, 0x00, 0x02, 0x00,              // bulk OUT 0x03
};
inline constexpr std::size_t kInterface0 = 17, kInterface1Alt0 = 62, kInterface1Alt1 = 71;

struct Configuration {
  std::vector<std::uint8_t> bytes = kNcmConfiguration;
  PUSB_CONFIGURATION_DESCRIPTOR descriptor() { return reinterpret_cast<PUSB_CONFIGURATION_DESCRIPTOR>(bytes.data()); }
  PUCHAR at(std::size_t offset) { return bytes.data() + offset; }
  PUCHAR end() { return bytes.data() + bytes.size(); }
  std::size_t offsetOf(const void* p) { return static_cast<std::size_t>(static_cast<const std::uint8_t*>(p) - bytes.data()); }
};

}  // namespace usbd_test
