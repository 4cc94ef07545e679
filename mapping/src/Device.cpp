#include "torcht1/mapping/Device.h"

#include "torcht1/mapping/FitError.h"

namespace torcht1::mapping {

bool cudaAvailable() { return torch::cuda::is_available(); }

torch::Device resolveDevice(const std::string& spec) {
  if (spec == "auto") return cudaAvailable() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    if (!cudaAvailable()) {
      throw FitError("device '" + spec + "' asked for, but this LibTorch build or machine has no CUDA device");
    }
    torch::Device device(torch::kCUDA, 0);
    if (spec != "cuda") {
      try {
        device = torch::Device(spec);
      } catch (const std::exception&) {
        throw FitError("device '" + spec + "' is not a valid device name");
      }
      if (device.index() >= static_cast<int>(torch::cuda::device_count())) {
        throw FitError("device '" + spec + "' does not exist (" +
                       std::to_string(torch::cuda::device_count()) + " CUDA devices)");
      }
    }
    return device;
  }
  throw FitError("unknown device '" + spec + "' (expected auto, cpu, cuda or cuda:N)");
}

std::string deviceName(const torch::Device& device) {
  if (device.is_cpu()) return "cpu";
  return "cuda:" + std::to_string(device.index() < 0 ? 0 : device.index());
}

}  // namespace torcht1::mapping
