// Independent double-precision reference fit of the magnitude MOLLI model.
//
// Test-support only: plain C++17 + standard library (no LibTorch). Slow but
// trustworthy; the fast float32 solver is validated and benchmarked against it.
//
// Model:   y_i ~ |A - B exp(-t_i / T1s)|,   i = 0..n-1,  y_i >= 0,  n >= 4.
// Fit:     minimise RSS = sum_i (|A - B exp(-t_i/T1s)| - y_i)^2 over A, B real,
//          T1s > 0.  Then T1 = T1s (B/A - 1).
//
// Why a sign-pattern enumeration is exact:
//   For y >= 0 and s in {-1,+1}:  (|f| - y)^2 <= (f - s y)^2, with equality when
//   s = sign(f).  f(t) = A - B exp(-t/T1s) is monotonic in t, so sign(f) over the
//   time-sorted samples is "first k negative, rest positive" or its negation.
//   Hence  min magnitude RSS = min over k of min signed RSS of the data with the
//   first k samples negated (s_i = -1 for i < k), A and B free in sign.  Pattern
//   k = n is the exact negation of pattern k = 0 (same RSS for every T1s, fitted
//   A, B negated), so only k = 0..n-1 are evaluated.
//
// Algorithm (per voxel):
//   1. For each pattern k, the signed fit is linear in (A, B) for fixed T1s, so
//      the variable-projection (VP) RSS_k(T1s) is evaluated on a dense log grid
//      (kReferenceGridPoints points, kReferenceT1sMin..kReferenceT1sMax ms).  The
//      grid quantities depend only on t and are precomputed once per time vector
//      (cached per thread for the single-voxel API, once per call for the batch).
//      All n patterns are produced from one O(n G) pass by flipping one sample
//      at a time (O(G) update per pattern).
//   2. EVERY local minimum of each grid curve (including grid-edge minima;
//      plateaus / rounding-level wiggles below 1e-13 * sum(y^2) are merged) is a
//      start, refined in x = ln(T1s) inside its two-cell grid bracket to ~1e-12
//      (relative in T1s): the VP RSS is computed from explicit residuals (no
//      cancellation) together with its exact derivative dRSS/dx (envelope
//      theorem, no extra exp); when dRSS/dx changes sign across the bracket its
//      root is found with Brent's zeroin, otherwise Brent's minimiser is used on
//      the RSS.  A grid-edge minimum still descending outwards stays at the edge.
//   3. The best candidates (at most 3, within 1e-3 relative RSS of the best) are
//      polished by a 3-parameter Levenberg-Marquardt (analytic Jacobian, double)
//      on the signed model of their pattern until the gradient is at rounding
//      level (|J_p . r| <= 1e-12 |J_p| |r|); the LM may leave the grid, within
//      T1s in [max(T1sMin/4, t_0/600), 4 T1sMax].
//   4. Every candidate's RSS (unpolished and polished) is recomputed with the
//      MAGNITUDE model; the lowest finite one wins.  If A < 0, (A, B) are
//      negated (|f| unchanged) so that A >= 0.
//
// Internally the model is parameterised as A - B' exp(-(t_i - t_0)/T1s) with
// B' = B exp(-t_0/T1s) (well conditioned for small T1s); B is recovered at the end.
//
// Degenerate input (all zeros, constant signal, flat curves, singular 2x2 normal
// equations, optimum at the grid edge) never yields NaN/Inf: the best finite
// result is returned.  t1 is reported as 0 when A == 0 (T1 undefined).
//
// Times must be finite; they are expected sorted ascending (unsorted input is
// sorted internally, `flipped` then counts the earliest samples in time).
#pragma once

#include <vector>

namespace torcht1 {
namespace testing {

constexpr double kReferenceT1sMin = 5.0;       // ms, lower edge of the search grid
constexpr double kReferenceT1sMax = 30000.0;   // ms, upper edge of the search grid
constexpr int kReferenceGridPoints = 300;      // log-spaced grid points

struct ReferenceResult {
  double a = 0.0;       // A >= 0
  double b = 0.0;       // B
  double t1star = 0.0;  // T1* (ms)
  double t1 = 0.0;      // T1 = T1* (B/A - 1); 0 when A == 0
  double rss = 0.0;     // magnitude-model RSS at (a, b, t1star)
  // k of the winning sign pattern: the number of leading (earliest) samples on
  // the negative side of the signal null, i.e. with A - B exp(-t_i/T1*) < 0.
  // 0 = null before the first sample (or no null), n = null after the last.
  int flipped = 0;
};

// Single voxel: t[0..n-1] (ms), y[0..n-1] (magnitudes), n >= 4 (n >= 3 works).
// Thread-safe (grid cache is thread_local).
ReferenceResult referenceMolliFit(const double* t, const double* y, int n);

// Batch helper: one slice laid out sample-major, y[i * voxels + v]; the times
// t[0..samples-1] are shared by all voxels.  Runs on `threads` std::threads
// (<= 0: std::thread::hardware_concurrency()).  Result v is bit-identical to
// referenceMolliFit() called on the same values converted to double.
std::vector<ReferenceResult> referenceMolliFitBatch(const float* t, const float* y, int samples,
                                                    int voxels, int threads);

}  // namespace testing
}  // namespace torcht1
