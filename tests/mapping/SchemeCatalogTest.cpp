// Which scheme a series is: by description and by timing; refused with a reason otherwise.
#include <gtest/gtest.h>

#include <random>

#include "torcht1/mapping/SchemeCatalog.h"
#include "torcht1/mapping/ShmolliAcquisition.h"
#include "torcht1/phantom/MolliScheme.h"

namespace torcht1 {
namespace {

std::vector<double> times(const std::string& scheme, double heartRate, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  return phantom::MolliScheme::parse(scheme).inversionTimes(100, 80, 60000.0 / heartRate, 0.03, rng);
}

mapping::SchemeEvidence evidence(const std::string& description, std::vector<std::vector<double>> slices) {
  return {description, "", std::move(slices)};
}

const mapping::SchemeCatalog& catalog() {
  static const mapping::SchemeCatalog c{mapping::FitOptions{}};
  return c;
}

TEST(SchemeCatalog, ShmolliByDescriptionAndTiming) {
  for (const double hr : {50.0, 75.0, 100.0}) {
    const auto id = catalog().identify(evidence("ShMOLLI_192i SAX", {times("5(1)1(1)1", hr), times("5(1)1(1)1", hr, 2)}));
    ASSERT_NE(id.scheme, nullptr) << id.reason;
    EXPECT_EQ(id.scheme->name(), "ShMOLLI");
  }
}

TEST(SchemeCatalog, ShmolliTimingWithoutTheNameIsStillShmolli) {
  const auto id = catalog().identify(evidence("T1 map SAX", {times("5(1)1(1)1", 65)}));
  ASSERT_NE(id.scheme, nullptr) << id.reason;
  EXPECT_EQ(id.scheme->name(), "ShMOLLI");
}

TEST(SchemeCatalog, MolliSchemesAreMolli) {
  for (const char* scheme : {"5(3)3", "4(1)3(1)2", "3(3)3(3)5"}) {
    const auto id = catalog().identify(evidence("MOLLI SAX", {times(scheme, 60), times(scheme, 90, 3)}));
    ASSERT_NE(id.scheme, nullptr) << scheme << ": " << id.reason;
    EXPECT_EQ(id.scheme->name(), "MOLLI") << scheme;
  }
}

TEST(SchemeCatalog, ShmolliWithoutTheExpectedImagesIsRefused) {
  // Named ShMOLLI, but 8 images (5(3)3 timing): never fitted as MOLLI.
  auto id = catalog().identify(evidence("ShMOLLI SAX", {times("5(1)1(1)1", 60), times("5(3)3", 60)}));
  EXPECT_EQ(id.scheme, nullptr);
  EXPECT_NE(id.reason.find("slice 2 has 8 images"), std::string::npos) << id.reason;
  // A lost image: 6 of 7.
  auto six = times("5(1)1(1)1", 60);
  six.erase(six.begin() + 4);
  id = catalog().identify(evidence("shmolli", {six}));
  EXPECT_EQ(id.scheme, nullptr);
  EXPECT_NE(id.reason.find("6 images"), std::string::npos) << id.reason;
  // ShMOLLI timing in one slice, another slice something else, no name: refused too.
  id = catalog().identify(evidence("T1", {times("5(1)1(1)1", 60), times("5(3)3", 60)}));
  EXPECT_EQ(id.scheme, nullptr);
  EXPECT_NE(id.reason.find("ShMOLLI timing in some slices"), std::string::npos) << id.reason;
  EXPECT_EQ(id.reason.find('\n'), std::string::npos);
}

TEST(SchemeCatalog, SchemesNoModelHereDescribesAreRefused) {
  for (const char* description : {"SASHA T1", "sapphire_t1", "SR T1 map", "T1 saturation recovery"}) {
    const auto id = catalog().identify(evidence(description, {times("5(3)3", 60)}));
    EXPECT_EQ(id.scheme, nullptr) << description;
    EXPECT_NE(id.reason.find("not a MOLLI scheme"), std::string::npos) << id.reason;
  }
}

TEST(SchemeCatalog, ShmolliTimingProblems) {
  EXPECT_EQ(mapping::ShmolliAcquisition::timingProblem(times("5(1)1(1)1", 72)), "");
  EXPECT_NE(mapping::ShmolliAcquisition::timingProblem({100, 180, 260, 1100, 1180, 2100, 3100}), "");  // not one beat apart
  EXPECT_NE(mapping::ShmolliAcquisition::timingProblem({100, 400, 700, 1100, 2100, 3100, 4100}), "");  // not 3 inversions
}

}  // namespace
}  // namespace torcht1
