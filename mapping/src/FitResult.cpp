#include "torcht1/mapping/FitResult.h"

#include "torcht1/mapping/FitError.h"

namespace torcht1::mapping {

const char* toString(VoxelStatus status) {
  switch (status) {
    case VoxelStatus::Valid: return "valid";
    case VoxelStatus::Background: return "background";
    case VoxelStatus::NonPhysical: return "non-physical";
    case VoxelStatus::OutOfRange: return "out-of-range";
    case VoxelStatus::NonFinite: return "non-finite";
    case VoxelStatus::Unreliable: return "unreliable";
  }
  return "unknown";
}

const std::vector<float>& FitResult::map(const std::string& name) const {
  auto it = maps.find(name);
  if (it == maps.end()) throw FitError("no map named '" + name + "' in the fit result");
  return it->second;
}

}  // namespace torcht1::mapping
