#include "torcht1/phantom/LookLockerSimulator.h"

#include <cmath>

namespace torcht1::phantom {

std::vector<double> LookLockerSimulator::signal(const SchemeTimeline& timeline, double t1, double t1star, double m0) {
  const double m0star = m0 * t1star / t1;
  auto relax = [](double m, double towards, double dt, double tau) { return towards - (towards - m) * std::exp(-dt / tau); };
  std::vector<double> out(timeline.images.size(), 0.0);
  double m = m0, now = 0.0;
  int block = -1;
  for (size_t i = 0; i < timeline.images.size(); ++i) {
    const SchemeImage& image = timeline.images[i];
    while (block < image.inversion) {
      ++block;
      const double inversionAt = timeline.inversions[static_cast<size_t>(block)];
      if (block > 0) m = relax(m, m0, inversionAt - now, t1);  // recovery beats, no readouts
      m = -m;
      now = inversionAt;
    }
    m = relax(m, m0star, image.time - now, t1star);  // readouts: the Look-Locker regime
    now = image.time;
    out[i] = m;
  }
  return out;
}

}  // namespace torcht1::phantom
