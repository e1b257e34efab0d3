#pragma once
// Hashing and randomness for tokens and the event chain (libsodium). Thread-safety: thread-safe.

#include <string>
#include <string_view>

namespace platops {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// `n` bytes from the operating system's CSPRNG, hex encoded (2n characters).
std::string RandomHex(size_t n);
// Constant-time comparison for secrets.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace platops
