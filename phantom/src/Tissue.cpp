#include "torcht1/phantom/Tissue.h"

#include <stdexcept>

namespace torcht1::phantom {

const std::vector<Tissue>& tissues() {
  // 1.5 T MOLLI: native myocardium ~1000 ms, blood ~1600 ms; post-contrast myocardium
  // ~450 ms, blood ~300 ms. T1*/T1 < 1 from the bSSFP readouts (B/A ~ 2.2-2.4).
  static const std::vector<Tissue> table = {
      {TissueLabel::Blood, "blood", 1600, 300, 1.00, 0.85},
      {TissueLabel::Myocardium, "myocardium", 1000, 450, 0.70, 0.72},
      {TissueLabel::Liver, "liver", 600, 350, 0.60, 0.75},
      {TissueLabel::Muscle, "muscle", 1050, 600, 0.65, 0.72},
      {TissueLabel::Fat, "fat", 280, 250, 0.90, 0.80},
      {TissueLabel::Lung, "lung", 1200, 500, 0.20, 0.75},
  };
  return table;
}

const Tissue& tissue(TissueLabel label) {
  for (const auto& t : tissues()) {
    if (t.label == label) return t;
  }
  throw std::invalid_argument("no tissue for label " + std::to_string(static_cast<int>(label)));
}

}  // namespace torcht1::phantom
