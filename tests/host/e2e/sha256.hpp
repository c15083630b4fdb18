// SHA-256 over OpenSSL's EVP interface (libssl-dev), incremental, for checking that a TCP
// transfer arrived intact.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <openssl/evp.h>

namespace e2e {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::uint8_t> data);
  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hexDigest();

 private:
  struct Free {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> context_;
};

}  // namespace e2e
