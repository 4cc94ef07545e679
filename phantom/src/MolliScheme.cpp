#include "torcht1/phantom/MolliScheme.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace torcht1::phantom {

MolliScheme MolliScheme::parse(const std::string& text) {
  MolliScheme scheme;
  scheme.name_ = text;
  if (text == "5(3)3") {
    scheme.images_ = {5, 3};
    scheme.recovery_ = {3};
  } else if (text == "4(1)3(1)2") {
    scheme.images_ = {4, 3, 2};
    scheme.recovery_ = {1, 1};
  } else if (text == "3(3)3(3)5") {
    scheme.images_ = {3, 3, 5};
    scheme.recovery_ = {3, 3};
  } else if (text == "5(1)1(1)1" || text == "shmolli" || text == "ShMOLLI") {
    scheme.name_ = "5(1)1(1)1";
    scheme.images_ = {5, 1, 1};
    scheme.recovery_ = {1, 1};
  } else {
    throw std::invalid_argument("unknown MOLLI scheme '" + text +
                                "' (expected 5(3)3, 4(1)3(1)2, 3(3)3(3)5 or 5(1)1(1)1 for ShMOLLI)");
  }
  return scheme;
}

int MolliScheme::imageCount() const { return std::accumulate(images_.begin(), images_.end(), 0); }

SchemeTimeline MolliScheme::timeline(double firstTi, double tiStep, double rrMs, double rrJitter,
                                     std::mt19937_64& rng) const {
  std::normal_distribution<double> jitter(0.0, rrJitter);
  auto beat = [&] { return rrMs * std::clamp(1.0 + jitter(rng), 0.7, 1.3); };
  SchemeTimeline line;
  // `phase` is the time of the next image's cardiac phase (trigger plus delay) on the line
  // that starts at the first inversion; `ti` the time since the current inversion (summed
  // as the inversion times always were, so that they come out bit for bit the same).
  double phase = firstTi;
  for (size_t n = 0; n < images_.size(); ++n) {
    double ti = firstTi + static_cast<double>(n) * tiStep;
    const double inversion = phase - ti;
    line.inversions.push_back(inversion);
    for (int k = 0; k < images_[n]; ++k) {
      line.images.push_back({static_cast<int>(n), ti, inversion + ti});
      const double rr = beat();
      ti += rr;
      phase += rr;
    }
    if (n < recovery_.size()) {
      for (int k = 0; k < recovery_[n]; ++k) phase += beat();
    }
  }
  return line;
}

std::vector<double> MolliScheme::inversionTimes(double firstTi, double tiStep, double rrMs, double rrJitter,
                                                std::mt19937_64& rng) const {
  std::vector<double> times;
  for (const auto& image : timeline(firstTi, tiStep, rrMs, rrJitter, rng).images) times.push_back(image.inversionTime);
  std::sort(times.begin(), times.end());
  return times;
}

}  // namespace torcht1::phantom
