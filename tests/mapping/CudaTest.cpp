// The CUDA path: skipped with the reason printed where no GPU exists.

#include <gtest/gtest.h>

#include <cmath>

#include "torcht1/mapping/Device.h"
#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/MapFitter.h"
#include "torcht1/phantom/PhantomGenerator.h"

namespace torcht1 {
namespace {

TEST(Device, AutoAndCpuResolve) {
  EXPECT_EQ(mapping::deviceName(mapping::resolveDevice("cpu")), "cpu");
  const std::string autoName = mapping::deviceName(mapping::resolveDevice("auto"));
  EXPECT_EQ(autoName, mapping::cudaAvailable() ? "cuda:0" : "cpu");
  EXPECT_THROW(mapping::resolveDevice("gpu"), mapping::FitError);
}

TEST(Cuda, AskingForCudaWithoutOneIsAClearError) {
  if (mapping::cudaAvailable()) GTEST_SKIP() << "a CUDA device is present; this case is for machines without one";
  try {
    mapping::resolveDevice("cuda");
    FAIL() << "expected FitError";
  } catch (const mapping::FitError& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
}

TEST(Cuda, FitOnGpuMatchesCpu) {
  if (!mapping::cudaAvailable()) {
    GTEST_SKIP() << "no CUDA device: torch::cuda::is_available() is false (CPU-only LibTorch or no GPU)";
  }
  phantom::PhantomOptions po;
  po.size = 128;
  po.slices = 4;
  const auto ph = phantom::PhantomGenerator(po).generate();
  mapping::FitInput in{ph.slices, ph.samples, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}};
  mapping::FitOptions options;
  options.device = "cpu";
  const auto cpu = mapping::MapFitter(options).fit(in);
  options.device = "cuda";
  const auto gpu = mapping::MapFitter(options).fit(in);
  EXPECT_EQ(gpu.device, "cuda:0");
  int64_t tissue = 0, agree = 0;
  for (size_t i = 0; i < ph.labels.size(); ++i) {
    if (ph.labels[i] == 0 || cpu.status[i] != mapping::VoxelStatus::Valid) continue;
    ++tissue;
    if (std::abs(cpu.primary()[i] - gpu.primary()[i]) <= 1e-3 * cpu.primary()[i]) ++agree;
  }
  EXPECT_GE(static_cast<double>(agree), 0.999 * static_cast<double>(tissue));
}

}  // namespace
}  // namespace torcht1
