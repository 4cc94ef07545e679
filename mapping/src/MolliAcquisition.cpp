#include "torcht1/mapping/MolliAcquisition.h"

#include <cmath>
#include <cstdio>

namespace torcht1::mapping {

MolliAcquisition::MolliAcquisition(const FitOptions& options)
    : model_(options.model), t1Scale_(options.molli.t1Scale), validMin_(options.validMin), validMax_(options.validMax) {}

bool MolliAcquisition::recognises(const SchemeEvidence&) const { return true; }

std::string MolliAcquisition::refusal(const SchemeEvidence&) const { return ""; }

FitResult MolliAcquisition::fit(const MapFitter& fitter, const FitInput& input) const {
  FitResult result = fitter.fit(input);
  scale(result);
  return result;
}

void MolliAcquisition::scale(FitResult& result) const {
  if (model_ != "molli" || t1Scale_ == 1.0) return;
  // The scale applies to the reported T1; the valid range to the reported value.
  auto& t1 = result.maps.at("T1");
  auto& sd = result.maps.at("T1_SD");
  const int64_t voxels = result.rows * result.cols;
  for (size_t v = 0; v < t1.size(); ++v) {
    if (result.status[v] != VoxelStatus::Valid) continue;
    t1[v] = static_cast<float>(t1[v] * t1Scale_);
    sd[v] = static_cast<float>(sd[v] * t1Scale_);
    if (!(t1[v] >= validMin_ && t1[v] <= validMax_)) {
      result.status[v] = VoxelStatus::OutOfRange;
      t1[v] = sd[v] = 0;
      --result.sliceStats[static_cast<size_t>(static_cast<int64_t>(v) / voxels)].validVoxels;
    }
  }
}

std::string MolliAcquisition::method() const {
  if (model_ != "molli") return model_ + " model fit";
  std::string text = "MOLLI 3-parameter fit |A - B exp(-t/T1*)|, T1 = T1*(B/A - 1)";
  if (t1Scale_ != 1.0) {
    char scale[96];
    std::snprintf(scale, sizeof scale, " x %.6g (fit.molli.t1_scale, to match vendor inline maps)", t1Scale_);
    text += scale;
  }
  return text;
}

}  // namespace torcht1::mapping
