#pragma once

// The CPU kernels are compiled for AVX2 and for the baseline, chosen at load time, so the
// binary stays portable. GCC builds both; clang (the fuzzing build, fuzz/) has no
// target_clones for function templates and builds the baseline only.
#if defined(__clang__)
#define TORCHT1_TARGET_CLONES
#else
#define TORCHT1_TARGET_CLONES __attribute__((target_clones("avx2", "default")))
#endif
