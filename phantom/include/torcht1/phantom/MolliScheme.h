#pragma once

#include <random>
#include <string>
#include <vector>

namespace torcht1::phantom {

/// One image of an acquisition on the absolute time line of its breath-hold.
struct SchemeImage {
  int inversion = 0;         // 0-based index of the inversion it follows
  double inversionTime = 0;  // ms from that inversion to the image
  double time = 0;           // ms from the first inversion to the image
};

/// When things happen in one breath-hold: the inversions and the images, in time order.
struct SchemeTimeline {
  std::vector<double> inversions;  // ms from the first inversion (the first is 0)
  std::vector<SchemeImage> images; // in acquisition order
};

/// A MOLLI-family acquisition scheme such as 5(3)3: images after each inversion, and the
/// recovery heartbeats between inversions. ShMOLLI is 5(1)1(1)1 (Piechnik et al., JCMR
/// 2010;12:69): its second and third inversions follow a single recovery beat, so they
/// start from an incompletely recovered magnetisation when T1 is long.
class MolliScheme {
 public:
  /// "5(3)3" (native), "4(1)3(1)2" (post-contrast), "3(3)3(3)5", or "5(1)1(1)1" (alias
  /// "shmolli"); throws std::invalid_argument for anything else.
  static MolliScheme parse(const std::string& text);

  const std::string& name() const { return name_; }
  bool isShmolli() const { return name_ == "5(1)1(1)1"; }
  int imageCount() const;
  const std::vector<int>& imagesPerInversion() const { return images_; }
  const std::vector<int>& recoveryBeats() const { return recovery_; }

  /// The breath-hold's time line. The n-th inversion's first image comes `firstTi + n *
  /// tiStep` after it; each further image one heartbeat later, and every image at the same
  /// cardiac phase. Heartbeats are `rrMs` long with relative jitter `rrJitter` (standard
  /// deviation) drawn from `rng`.
  SchemeTimeline timeline(double firstTi, double tiStep, double rrMs, double rrJitter, std::mt19937_64& rng) const;

  /// Inversion times (ms) of every image of `timeline(...)`, ascending.
  std::vector<double> inversionTimes(double firstTi, double tiStep, double rrMs, double rrJitter,
                                     std::mt19937_64& rng) const;

 private:
  std::string name_;
  std::vector<int> images_;
  std::vector<int> recovery_;
};

}  // namespace torcht1::phantom
