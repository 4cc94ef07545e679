#include "torcht1/mapping/FitOptions.h"

#include "torcht1/mapping/MotionCorrector.h"

#include <cmath>

#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/SignalModel.h"

namespace torcht1::mapping {

std::string toString(Solver solver) {
  switch (solver) {
    case Solver::VarProLM: return "varpro-lm";
    case Solver::Adam: return "adam";
  }
  return "unknown";
}

Solver solverFromString(const std::string& name) {
  if (name == "varpro-lm" || name == "lm") return Solver::VarProLM;
  if (name == "adam") return Solver::Adam;
  throw FitError("unknown solver '" + name + "' (expected varpro-lm or adam)");
}

void LevenbergMarquardtOptions::validate() const {
  if (maxIterations < 1) throw FitError("lm max iterations must be >= 1");
  if (!(initialDamping > 0)) throw FitError("lm initial damping must be > 0");
  if (!(stepTolerance > 0 && stepTolerance < 1)) throw FitError("lm step tolerance must be in (0, 1)");
  if (!(costTolerance >= 0 && costTolerance < 1)) throw FitError("lm cost tolerance must be in [0, 1)");
  if (gridPoints < 3 || gridPoints > 4096) {
    throw FitError("lm grid points must be in 3..4096, got " + std::to_string(gridPoints));
  }
  if (polarityCandidates < 0) {
    throw FitError("polarity candidates must be >= 0 (0 = all), got " + std::to_string(polarityCandidates));
  }
  if (!(secondPatternFactor >= 0)) throw FitError("lm second pattern factor must be >= 0");
}

void AdamOptions::validate() const {
  if (!(learningRate > 0)) throw FitError("adam learning rate must be > 0");
  if (maxIterations < 1) throw FitError("adam max iterations must be >= 1");
  if (!(tolerance >= 0)) throw FitError("adam tolerance must be >= 0");
  if (window < 1) throw FitError("adam window must be >= 1");
}

void FitOptions::validate() const {
  makeModel(model);  // throws for an unknown model
  MotionCorrector{motion};  // throws for out-of-range motion-correction settings
  if (!(validMin < validMax)) {
    throw FitError("valid range must have min < max, got " + std::to_string(validMin) + ".." +
                   std::to_string(validMax));
  }
  if (cpuBlockVoxels < 64) throw FitError("cpu block must be >= 64 voxels, got " + std::to_string(cpuBlockVoxels));
  if (threads < 0) throw FitError("threads must be >= 0, got " + std::to_string(threads));
  if (!(mask.noiseMultiple > 0 && mask.noiseMultiple <= 1000)) {
    throw FitError("mask noise multiple must be in (0, 1000], got " + std::to_string(mask.noiseMultiple));
  }
  if (!(quality.maxRelativeSd > 0)) {
    throw FitError("quality max relative SD must be > 0, got " + std::to_string(quality.maxRelativeSd));
  }
  if (!(quality.minR2 >= -1e9 && quality.minR2 < 1)) {
    throw FitError("quality min R2 must be below 1, got " + std::to_string(quality.minR2));
  }
  if (!(molli.t1Scale >= 0.5 && molli.t1Scale <= 2.0)) {
    throw FitError("molli T1 scale must be in [0.5, 2], got " + std::to_string(molli.t1Scale));
  }
  lm.validate();
  adam.validate();
}

}  // namespace torcht1::mapping
