// libFuzzer: bytes to the node's configuration with environment overrides (FuzzHarness.h,
// runConfigInput). scripts/fuzz.sh builds and runs it.

#include <cstddef>
#include <cstdint>

#include "FuzzHarness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  torcht1::fuzz::runConfigInput(data, size);
  return 0;
}
