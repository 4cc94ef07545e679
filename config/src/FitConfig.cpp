#include "torcht1/config/FitConfig.h"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "YamlSection.h"

#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/SignalModel.h"

namespace torcht1::config {

mapping::FitOptions FitConfig::fromYaml(const std::string& yamlText, const std::string& source) {
  return fromDocument(ConfigDocument(yamlText, source));
}

mapping::FitOptions FitConfig::fromDocument(const ConfigDocument& document) {
  mapping::FitOptions o;
  const YAML::Node fit = document.section("fit");
  if (!fit.IsDefined()) return o;

  YamlSection s(fit, "fit", document);
  s.text("device", [&](const std::string& v) { o.device = v; });
  s.text("solver", [&](const std::string& v) { o.solver = mapping::solverFromString(v); });
  s.text("model", [&](const std::string& v) {
    mapping::makeModel(v);
    o.model = v;
  });
  s.flag("double_precision", o.doublePrecision);
  s.number("threads", o.threads, 0, 1024);
  s.number("cpu_block_voxels", o.cpuBlockVoxels, int64_t{64}, int64_t{1} << 30);
  s.custom("valid_range", [&](const YAML::Node& v, const std::string& key) {
    if (!v.IsSequence() || v.size() != 2) s.fail(v, key, "expected [min, max] in ms");
    const double lo = s.scalar<double>(v[0], key, "a number"), hi = s.scalar<double>(v[1], key, "a number");
    if (!(lo < hi)) s.fail(v, key, "min must be below max");
    o.validMin = lo;
    o.validMax = hi;
  });
  s.section("mask", [&](YamlSection& m) {
    m.flag("enabled", o.mask.enabled);
    m.number("noise_multiple", o.mask.noiseMultiple, 0.1, 1000.0);
    // The relative rule blanked dark myocardium beside bright fat; say so to a user of an old file.
    for (const char* removed : {"threshold", "percentile"}) {
      m.custom(removed, [&m](const YAML::Node& v, const std::string& key) {
        m.fail(v, key,
               "was removed: the background rule is now based on the noise (fit.mask.noise_multiple, "
               "see config/torcht1.yaml)");
      });
    }
  });
  s.section("quality", [&](YamlSection& m) {
    m.number("max_relative_sd", o.quality.maxRelativeSd, 1e-6, 1e6);
    m.number("min_r2", o.quality.minR2, -1e9, 0.999999);
  });
  s.section("molli", [&](YamlSection& m) { m.number("t1_scale", o.molli.t1Scale, 0.5, 2.0); });
  s.section("motion_correction", [&](YamlSection& m) {
    m.flag("enabled", o.motion.enabled);
    m.number("rounds", o.motion.rounds, 1, 10);
    m.number("coarsest_level", o.motion.coarsestLevel, 0, 5);
    m.number("finest_level", o.motion.finestLevel, 0, 5);
    m.number("demons_finest_level", o.motion.demonsFinestLevel, 0, 5);
    m.number("demons_rounds", o.motion.demonsRounds, 1, 10);
    m.number("search_radius_pixels", o.motion.searchRadiusPixels, 0, 16);
    m.number("affine_iterations", o.motion.affineIterations, 0, 100);
    m.flag("non_rigid", o.motion.nonRigid);
    m.number("demons_iterations", o.motion.demonsIterations, 0, 500);
    m.number("demons_step_pixels", o.motion.demonsStepPixels, 0.01, 5.0);
    m.number("demons_sigma_mm", o.motion.demonsSigmaMm, 1.0, 40.0);
    m.number("demons_noise_gradient", o.motion.demonsNoiseGradient, 0.0, 100.0);
    m.number("null_structure_fraction", o.motion.nullStructureFraction, 0.0, 0.99);
    m.number("min_jacobian", o.motion.minJacobian, 0.01, 0.99);
    m.number("max_residual_ratio", o.motion.maxResidualRatio, 0.01, 1.0);
    m.number("still_pixels", o.motion.stillPixels, 0.0, 5.0);
  });
  s.section("lm", [&](YamlSection& m) {
    m.number("max_iterations", o.lm.maxIterations, 1, 10000);
    m.number("initial_damping", o.lm.initialDamping, 1e-12, 1e6);
    m.number("step_tolerance", o.lm.stepTolerance, 1e-12, 0.1);
    m.number("cost_tolerance", o.lm.costTolerance, 0.0, 0.1);
    m.number("grid_points", o.lm.gridPoints, 3, 4096);
    m.number("polarity_candidates", o.lm.polarityCandidates, 0, 64);
    m.number("second_pattern_factor", o.lm.secondPatternFactor, 0.0, 1e6);
  });
  s.section("adam", [&](YamlSection& m) {
    m.number("learning_rate", o.adam.learningRate, 1e-9, 10.0);
    m.number("max_iterations", o.adam.maxIterations, 1, 10000000);
    m.number("tolerance", o.adam.tolerance, 0.0, 1.0);
    m.number("window", o.adam.window, 1, 1000000);
  });
  s.read();
  try {
    o.validate();
  } catch (const mapping::FitError& e) {
    document.fail(fit, "fit", e.what());
  }
  return o;
}

mapping::FitOptions FitConfig::fromFile(const std::string& path) { return fromYaml(readConfigFile(path), path); }

}  // namespace torcht1::config
