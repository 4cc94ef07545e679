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
  } else {
    throw std::invalid_argument("unknown MOLLI scheme '" + text +
                                "' (expected 5(3)3, 4(1)3(1)2 or 3(3)3(3)5)");
  }
  return scheme;
}

int MolliScheme::imageCount() const { return std::accumulate(images_.begin(), images_.end(), 0); }

std::vector<double> MolliScheme::inversionTimes(double firstTi, double tiStep, double rrMs,
                                                double rrJitter, std::mt19937_64& rng) const {
  std::normal_distribution<double> jitter(0.0, rrJitter);
  auto beat = [&] { return rrMs * std::clamp(1.0 + jitter(rng), 0.7, 1.3); };
  std::vector<double> times;
  for (size_t n = 0; n < images_.size(); ++n) {
    double ti = firstTi + static_cast<double>(n) * tiStep;
    for (int k = 0; k < images_[n]; ++k) {
      times.push_back(ti);
      ti += beat();
    }
    if (n < recovery_.size()) {
      for (int k = 0; k < recovery_[n]; ++k) beat();  // recovery heartbeats: only jitter state
    }
  }
  std::sort(times.begin(), times.end());
  return times;
}

}  // namespace torcht1::phantom
