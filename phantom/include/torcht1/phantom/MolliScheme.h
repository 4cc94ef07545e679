#pragma once

#include <random>
#include <string>
#include <vector>

namespace torcht1::phantom {

/// A MOLLI acquisition scheme such as 5(3)3: images after each inversion, and the recovery
/// heartbeats between inversions.
class MolliScheme {
 public:
  /// "5(3)3" (native), "4(1)3(1)2" (post-contrast) or "3(3)3(3)5"; throws
  /// std::invalid_argument for anything else.
  static MolliScheme parse(const std::string& text);

  const std::string& name() const { return name_; }
  int imageCount() const;
  const std::vector<int>& imagesPerInversion() const { return images_; }
  const std::vector<int>& recoveryBeats() const { return recovery_; }

  /// Inversion times (ms) of every image, ascending. The n-th inversion's first image comes
  /// `firstTi + n * tiStep` after it; each further image one heartbeat later. Heartbeats are
  /// `rrMs` long with relative jitter `rrJitter` (standard deviation) drawn from `rng`.
  std::vector<double> inversionTimes(double firstTi, double tiStep, double rrMs, double rrJitter,
                                     std::mt19937_64& rng) const;

 private:
  std::string name_;
  std::vector<int> images_;
  std::vector<int> recovery_;
};

}  // namespace torcht1::phantom
