#include <gtest/gtest.h>

#include "mapping/FitTestData.h"

namespace torcht1 {
namespace {

TEST(AdamSolver, ConvergesOnEasyData) {
  // Native myocardium- and blood-like voxels, noise-free: the paper's solver must get there.
  std::vector<testdata::MolliVoxel> voxels;
  for (int i = 0; i < 32; ++i) {
    const double t1star = 600 + 25.0 * i;  // T1 from ~800 to ~1800 ms
    voxels.push_back({400.0 + 5 * i, (400.0 + 5 * i) * 2.3, t1star});
  }
  auto options = testdata::testOptions();
  options.solver = mapping::Solver::Adam;
  const auto result = mapping::MapFitter(options).fit(testdata::molliInput(voxels, testdata::standardTimes()));
  EXPECT_EQ(result.solver, "adam");
  EXPECT_LT(result.iterations, options.adam.maxIterations) << "stopped by the iteration cap, not convergence";
  for (size_t v = 0; v < voxels.size(); ++v) {
    EXPECT_EQ(result.status[v], mapping::VoxelStatus::Valid);
    EXPECT_NEAR(result.primary()[v], voxels[v].t1(), 0.01 * voxels[v].t1()) << "voxel " << v;
  }
}

TEST(AdamSolver, StopsAtTheIterationCap) {
  auto options = testdata::testOptions();
  options.solver = mapping::Solver::Adam;
  options.adam.maxIterations = 50;
  const auto result = mapping::MapFitter(options).fit(
      testdata::molliInput({{400, 920, 700}}, testdata::standardTimes()));
  EXPECT_EQ(result.iterations, 50);
}

}  // namespace
}  // namespace torcht1
