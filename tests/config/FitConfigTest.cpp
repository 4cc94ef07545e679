#include <gtest/gtest.h>

#include "torcht1/config/FitConfig.h"
#include "torcht1/config/InputConfig.h"
#include "torcht1/config/OutputConfig.h"

namespace torcht1 {
namespace {

std::string errorOf(const std::string& yaml) {
  try {
    config::FitConfig::fromYaml(yaml, "test.yaml");
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(FitConfig, DocumentedExampleParsesToTheDefaults) {
  const auto o = config::FitConfig::fromFile(TORCHT1_SOURCE_DIR "/config/torcht1.yaml");
  const mapping::FitOptions d;
  EXPECT_EQ(o.device, d.device);
  EXPECT_EQ(o.solver, d.solver);
  EXPECT_EQ(o.model, d.model);
  EXPECT_EQ(o.cpuBlockVoxels, d.cpuBlockVoxels);
  EXPECT_EQ(o.validMax, d.validMax);
  EXPECT_EQ(o.mask.noiseMultiple, d.mask.noiseMultiple);
  EXPECT_EQ(o.quality.maxRelativeSd, d.quality.maxRelativeSd);
  EXPECT_EQ(o.quality.minR2, d.quality.minR2);
  EXPECT_EQ(o.molli.t1Scale, d.molli.t1Scale);
  EXPECT_EQ(o.lm.gridPoints, d.lm.gridPoints);
  EXPECT_EQ(o.lm.stepTolerance, d.lm.stepTolerance);
  EXPECT_EQ(o.lm.costTolerance, d.lm.costTolerance);
  EXPECT_EQ(o.lm.secondPatternFactor, d.lm.secondPatternFactor);
  EXPECT_EQ(o.lm.polarityCandidates, d.lm.polarityCandidates);
  EXPECT_EQ(o.adam.learningRate, d.adam.learningRate);
  EXPECT_EQ(o.adam.maxIterations, d.adam.maxIterations);
}

TEST(FitConfig, EmptyOrOtherSectionsKeepDefaults) {
  EXPECT_EQ(config::FitConfig::fromYaml("", "x").lm.gridPoints, 32);
  const auto o = config::FitConfig::fromYaml("node: {port: 104}\nfit: {threads: 1, solver: adam}\n", "x");
  EXPECT_EQ(o.threads, 1);
  EXPECT_EQ(o.solver, mapping::Solver::Adam);
}

TEST(FitConfig, SetsNestedValues) {
  const auto o = config::FitConfig::fromYaml(
      "fit:\n  valid_range: [50, 3000]\n  mask: {enabled: false}\n  lm:\n    grid_points: 64\n", "x");
  EXPECT_EQ(o.validMin, 50);
  EXPECT_EQ(o.validMax, 3000);
  EXPECT_FALSE(o.mask.enabled);
  EXPECT_EQ(o.lm.gridPoints, 64);
}

TEST(FitConfig, UnknownKeyNamesKeyAndLine) {
  const std::string e = errorOf("fit:\n  lm:\n    grid_pionts: 12\n");
  EXPECT_NE(e.find("test.yaml:3:5: fit.lm.grid_pionts: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("grid_points"), std::string::npos) << "lists the known keys: " << e;
}

TEST(FitConfig, WrongTypeNamesValue) {
  const std::string e = errorOf("fit:\n  threads: many\n");
  EXPECT_NE(e.find("test.yaml:2:12: fit.threads: 'many' is not an integer"), std::string::npos) << e;
}

TEST(FitConfig, OutOfRangeNamesRange) {
  const std::string e = errorOf("fit:\n  lm: {grid_points: 2}\n");
  EXPECT_NE(e.find("fit.lm.grid_points: 2 is out of range (3..4096)"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:2:"), std::string::npos) << e;
}

TEST(FitConfig, BadNamesAndRanges) {
  EXPECT_NE(errorOf("fit:\n  solver: newton\n").find("fit.solver: unknown solver 'newton'"), std::string::npos);
  EXPECT_NE(errorOf("fit:\n  model: sasha9\n").find("fit.model: unknown signal model"), std::string::npos);
  EXPECT_NE(errorOf("fit:\n  valid_range: [5000, 0]\n").find("min must be below max"), std::string::npos);
  EXPECT_NE(errorOf("fit: [1, 2]\n").find("fit: must be a mapping"), std::string::npos);
  EXPECT_NE(errorOf("fit: {threads: [1}\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(errorOf("- just\n- a list\n").find("must be a mapping of sections"), std::string::npos);
}

TEST(FitConfig, MissingFileIsAClearError) {
  try {
    config::FitConfig::fromFile("/nonexistent/torcht1.yaml");
    FAIL();
  } catch (const config::ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/torcht1.yaml: cannot read the file");
  }
}

TEST(InputConfig, DocumentedExampleAndOverrides) {
  const auto example = config::InputConfig::fromFile(TORCHT1_SOURCE_DIR "/config/torcht1.yaml");
  const dicom::SeriesSelection defaults;
  EXPECT_EQ(example.selection.descriptionPattern, defaults.descriptionPattern);
  EXPECT_EQ(example.selection.minInversionTimes, defaults.minInversionTimes);
  EXPECT_FALSE(example.triggerTimeFallback);
  const auto in = config::InputConfig::fromYaml(
      "input:\n  min_inversion_times: 7\n  trigger_time_fallback: true\n  description_pattern: '^T1'\n", "x");
  EXPECT_EQ(in.selection.minInversionTimes, 7);
  EXPECT_TRUE(in.triggerTimeFallback);
  EXPECT_EQ(in.selection.descriptionPattern, "^T1");
}

TEST(InputConfig, ErrorsNameKeyAndLine) {
  auto error = [](const std::string& yaml) {
    try {
      config::InputConfig::fromYaml(yaml, "in.yaml");
    } catch (const config::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("input:\n  description_pattern: 'molli('\n").find("in.yaml:2:24: input.description_pattern: 'molli(' is not a valid regular expression"),
            std::string::npos)
      << error("input:\n  description_pattern: 'molli('\n");
  EXPECT_NE(error("input:\n  min_ti: 3\n").find("input.min_ti: unknown key"), std::string::npos);
  EXPECT_NE(error("input:\n  min_inversion_times: 2\n").find("2 is out of range (3..100)"), std::string::npos);
}

TEST(OutputConfig, MapsAndErrors) {
  const auto example = config::OutputConfig::fromFile(TORCHT1_SOURCE_DIR "/config/torcht1.yaml");
  EXPECT_EQ(example.maps, (std::vector<std::string>{"T1", "T1_SD"}));
  EXPECT_EQ(example.seriesNumberOffset, 100);
  EXPECT_EQ(config::OutputConfig::fromYaml("output: {maps: [T1, R2]}", "x").maps, (std::vector<std::string>{"T1", "R2"}));
  auto error = [](const std::string& yaml) {
    try {
      config::OutputConfig::fromYaml(yaml, "o.yaml");
    } catch (const config::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("output:\n  maps: [T1, T3]\n").find("o.yaml:2:14: output.maps: unknown map 'T3'"), std::string::npos)
      << error("output:\n  maps: [T1, T3]\n");
  EXPECT_NE(error("output:\n  maps: [T1, T3]\n").find("(known: T1, T1_SD, R2, T1star, A, B, T1_COLOUR, T1_PARAMETRIC, SAMPLES, MOCO)"),
            std::string::npos)
      << error("output:\n  maps: [T1, T3]\n");
  EXPECT_EQ(config::OutputConfig::fromYaml("output: {maps: [T1, T1_PARAMETRIC]}", "x").maps,
            (std::vector<std::string>{"T1", "T1_PARAMETRIC"}));
  EXPECT_NE(error("output:\n  maps: [T1, T1]\n").find("'T1' twice"), std::string::npos);
  EXPECT_NE(error("output:\n  maps: []\n").find("expected a list of maps"), std::string::npos);
}

}  // namespace
}  // namespace torcht1
