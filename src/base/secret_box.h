#pragma once
// SecretBox: authenticated encryption of small secrets kept at rest (notification URLs, SMTP
// passwords) with libsodium's crypto_secretbox (XSalsa20-Poly1305) under one 32-byte key held in
// a file. Sealed form: "sbx1:" + base64 (standard alphabet, padded) of nonce (24 bytes) ||
// ciphertext (plaintext + 16-byte tag); a fresh random nonce per Seal. Thread-safety: immutable
// after construction; const use from many threads is safe.

#include <array>
#include <string>
#include <string_view>

#include "base/status.h"

namespace platops {

class SecretBox {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr std::string_view kPrefix = "sbx1:";

  // Reads the raw 32-byte key at `path`. When the file does not exist, creates it with a random
  // key, mode 0600, atomically (written beside it, then hard-linked into place, so a concurrent
  // creator's key wins and nobody reads a half-written file). A file of another size is refused
  // (kInvalidArgument naming the path and both sizes); I/O failures are kInternal.
  static Result<SecretBox> LoadOrCreate(const std::string& path);
  // A box for a key held elsewhere; kInvalidArgument unless key.size() == kKeyBytes.
  static Result<SecretBox> FromKey(std::string_view key);

  SecretBox(const SecretBox& other) = default;
  SecretBox& operator=(const SecretBox& other) = default;
  ~SecretBox();

  // "sbx1:..." for any plaintext (empty included).
  std::string Seal(std::string_view plaintext) const;
  // The plaintext. kInvalidArgument when `sealed` is not in the sealed form; kPermissionDenied
  // when it does not authenticate (another key, or altered).
  Result<std::string> Open(std::string_view sealed) const;

  // True when `s` has the sealed form's prefix (it may still fail to open).
  static bool LooksSealed(std::string_view s) { return s.substr(0, kPrefix.size()) == kPrefix; }

 private:
  SecretBox() = default;
  std::array<unsigned char, kKeyBytes> key_{};
};

// Standard base64 (RFC 4648, padded) of `bytes`, as sealed values and HTTP Basic credentials use.
std::string Base64Encode(std::string_view bytes);

}  // namespace platops
