// libFuzzer: raw bytes to the fit's input (FuzzHarness.h, runDicomInput). scripts/fuzz.sh
// builds and runs it; the README's Hardening section says how long it ran and what it found.

#include <cstddef>
#include <cstdint>

#include "FuzzHarness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  torcht1::fuzz::runDicomInput(data, size);
  return 0;
}
