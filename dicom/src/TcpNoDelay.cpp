#include "torcht1/dicom/TcpNoDelay.h"

#include <cstdlib>
#include <mutex>

namespace torcht1::dicom {

void preferTcpNoDelay() {
  static std::once_flag once;
  std::call_once(once, [] { ::setenv("TCP_NODELAY", "1", 0 /* a value set by the user stays */); });
}

}  // namespace torcht1::dicom
