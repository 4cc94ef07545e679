#pragma once

#include <string>

#include <torch/torch.h>

namespace torcht1::mapping {

/// Resolves "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".
/// Throws FitError for an unknown name or when CUDA is asked for and not available.
torch::Device resolveDevice(const std::string& spec);

/// "cpu" or "cuda:N".
std::string deviceName(const torch::Device& device);

bool cudaAvailable();

}  // namespace torcht1::mapping
