#pragma once
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of WAL frames. Uses the
// SSE4.2 crc32 instruction when the CPU has it (checked once at run time), else slicing-by-8
// tables. Thread-safety: stateless functions.

#include <cstdint>
#include <string_view>

namespace platops::metrics {

// The CRC-32C of `data`, continuing from `init`, the CRC of the bytes before it (0 for none):
// Crc32c(b, Crc32c(a)) == Crc32c(a + b). Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(std::string_view data, uint32_t init = 0);

// The table-driven implementation Crc32c falls back to; same results on every CPU.
uint32_t Crc32cPortable(std::string_view data, uint32_t init = 0);

// Whether Crc32c uses the SSE4.2 instruction on this CPU.
bool Crc32cHardwareAvailable();

}  // namespace platops::metrics
