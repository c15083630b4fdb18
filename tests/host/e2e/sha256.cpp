#include "sha256.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace e2e {

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_DigestInit_ex(SHA-256) failed");
}

void Sha256::update(std::span<const std::uint8_t> data) {
  if (EVP_DigestUpdate(context_.get(), data.data(), data.size()) != 1) throw std::runtime_error("EVP_DigestUpdate failed");
}

std::string Sha256::hexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_.get(), digest, &length) != 1) throw std::runtime_error("EVP_DigestFinal_ex failed");
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace e2e
