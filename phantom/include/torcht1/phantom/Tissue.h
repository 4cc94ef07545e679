#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torcht1::phantom {

enum class TissueLabel : uint8_t {
  Background = 0,
  Blood = 1,
  Myocardium = 2,
  Liver = 3,
  Muscle = 4,
  Fat = 5,
  Lung = 6,
};

/// Relaxation and signal properties of one tissue at 1.5 T.
struct Tissue {
  TissueLabel label;
  const char* name;
  double t1Native;       // ms
  double t1Post;         // ms, after gadolinium
  double protonDensity;  // relative bSSFP signal
  double t1StarRatio;    // apparent T1* / T1 under the MOLLI readout
};

/// The phantom's tissues (literature values for native and post-contrast 1.5 T MOLLI).
const std::vector<Tissue>& tissues();
const Tissue& tissue(TissueLabel label);

}  // namespace torcht1::phantom
