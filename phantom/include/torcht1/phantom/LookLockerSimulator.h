#pragma once

#include <vector>

#include "torcht1/phantom/MolliScheme.h"

namespace torcht1::phantom {

/// The longitudinal magnetisation of one voxel along a MOLLI-family time line, piecewise:
/// - before the first inversion it is fully relaxed (M0);
/// - each inversion negates it (efficiency 1);
/// - from an inversion to the last image of its block the readouts make it recover with the
///   apparent T1* towards M0* = M0 T1*/T1 (the Look-Locker regime, in which the 3-parameter
///   model |A - B exp(-t/T1*)| and its correction T1 = T1*(B/A - 1) are exact);
/// - between blocks, with no readouts, it recovers with T1 itself towards M0.
/// The first block therefore lies exactly on the MOLLI curve; a later block does only when
/// the recovery before its inversion was complete (T1 short against the recovery time), which
/// is what ShMOLLI's single recovery beats do not give for long T1.
class LookLockerSimulator {
 public:
  /// Signed magnetisation at each image of `timeline`, in its order.
  static std::vector<double> signal(const SchemeTimeline& timeline, double t1, double t1star, double m0);
};

}  // namespace torcht1::phantom
