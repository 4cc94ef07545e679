// Independent double-precision reference fit of the magnitude MOLLI model.
// See ReferenceFit.h for the model, the sign-pattern argument and the algorithm.
#include "ReferenceFit.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <thread>
#include <vector>

namespace torcht1 {
namespace testing {
namespace {

constexpr double kBrentTolX = 1e-12;        // absolute tolerance in ln(T1s) == relative in T1s
constexpr int kBrentMaxIter = 200;
constexpr int kMaxMinimaPerPattern = 16;    // safety cap against pathological wiggly curves
constexpr int kPolishCount = 3;             // LM-polish at most this many best candidates,
constexpr double kPolishRel = 1e-3;         // ... those within this relative RSS of the best
constexpr int kLmMaxIter = 100;
constexpr double kMergeRel = 1e-13;         // grid minima separated by a smaller barrier merge
// LM may leave the grid a little, but stays inside these bounds (B' -> B stays finite).
const double kLmXMin = std::log(kReferenceT1sMin / 4.0);
const double kLmXMax = std::log(kReferenceT1sMax * 4.0);

// Quantities that depend only on the (sorted) sample times.
struct Grid {
  int n = 0;
  int G = 0;
  std::vector<double> t;       // sorted times
  std::vector<double> tau;     // t_i - t_0 (>= 0)
  std::vector<double> x;       // ln T1s at grid point g
  std::vector<double> d;       // [i * G + g]: u_i - mean(u), u_i = exp(-tau_i / T1s_g)
  std::vector<double> invSdd;  // [g]: 1 / sum_i d_i^2 (0 when singular)
};

Grid buildGrid(const double* tSorted, int n) {
  Grid gr;
  gr.n = n;
  gr.G = kReferenceGridPoints;
  const int G = gr.G;
  gr.t.assign(tSorted, tSorted + n);
  gr.tau.resize(n);
  for (int i = 0; i < n; ++i) gr.tau[i] = tSorted[i] - tSorted[0];
  gr.x.resize(G);
  gr.d.assign(static_cast<std::size_t>(n) * G, 0.0);
  gr.invSdd.assign(G, 0.0);
  const double x0 = std::log(kReferenceT1sMin);
  const double x1 = std::log(kReferenceT1sMax);
  std::vector<double> u(n);
  for (int g = 0; g < G; ++g) {
    const double x = x0 + (x1 - x0) * static_cast<double>(g) / static_cast<double>(G - 1);
    gr.x[g] = x;
    const double inv = std::exp(-x);
    double usum = 0.0;
    for (int i = 0; i < n; ++i) {
      u[i] = std::exp(-gr.tau[i] * inv);
      usum += u[i];
    }
    const double ubar = usum / n;
    double sdd = 0.0;
    for (int i = 0; i < n; ++i) {
      const double di = u[i] - ubar;
      gr.d[static_cast<std::size_t>(i) * G + g] = di;
      sdd += di * di;
    }
    gr.invSdd[g] = (sdd > 0.0 && std::isfinite(1.0 / sdd)) ? 1.0 / sdd : 0.0;
  }
  return gr;
}

struct Candidate {
  int k = 0;
  double x = 0.0;   // ln T1s
  double a = 0.0;   // A
  double bp = 0.0;  // B' = B exp(-t0 / T1s)
  double rss = 0.0; // signed RSS of pattern k
};

struct MinPt {
  int g;
  double val;
  double barrierLeft;
};

struct Workspace {
  std::vector<double> sdz, r, u, z, res, j2;
  std::vector<MinPt> stack;
  std::vector<Candidate> cands;
  void ensure(int n, int G) {
    sdz.resize(G);
    r.resize(G);
    u.resize(n);
    z.resize(n);
    res.resize(n);
    j2.resize(n);
  }
};

inline void signedData(const double* y, int n, int k, double* z) {
  for (int i = 0; i < n; ++i) z[i] = i < k ? -y[i] : y[i];
}

// Variable projection for fixed x = ln T1s: exact linear LS for (A, B'), RSS from
// explicit residuals.  z = signed data.  If dRss != nullptr it receives
// d RSS / dx (envelope theorem: the partial derivative at the optimal A, B').
double vpEval(const Grid& gr, const double* z, double x, double& a, double& bp, double* u,
              double* dRss = nullptr) {
  const int n = gr.n;
  const double inv = std::exp(-x);
  double usum = 0.0, zsum = 0.0;
  for (int i = 0; i < n; ++i) {
    u[i] = std::exp(-gr.tau[i] * inv);
    usum += u[i];
    zsum += z[i];
  }
  const double ubar = usum / n, zbar = zsum / n;
  double sdd = 0.0, sdz = 0.0;
  for (int i = 0; i < n; ++i) {
    const double di = u[i] - ubar;
    sdd += di * di;
    sdz += di * (z[i] - zbar);
  }
  double c = sdd > 0.0 ? sdz / sdd : 0.0;
  if (!std::isfinite(c)) c = 0.0;
  a = zbar - c * ubar;
  bp = -c;
  double rss = 0.0, dsum = 0.0;
  for (int i = 0; i < n; ++i) {
    const double ri = z[i] - a - c * u[i];
    rss += ri * ri;
    dsum += ri * u[i] * gr.tau[i];
  }
  // r = z - A - c u,  du/dx = u tau / T1s  =>  dRSS/dx = -2 c sum r u tau / T1s.
  if (dRss != nullptr) *dRss = -2.0 * c * dsum * inv;
  return rss;
}

// Brent's minimiser of vpEval(x) on [lo, hi], starting at x0.
Candidate brentRefine(const Grid& gr, const double* z, int k, double lo, double hi, double x0,
                      double* u) {
  constexpr double kGold = 0.3819660112501051;
  Candidate best;
  best.k = k;
  auto f = [&](double xv, Candidate& c) {
    c.x = xv;
    c.rss = vpEval(gr, z, xv, c.a, c.bp, u);
    return c.rss;
  };
  double a = lo, b = hi;
  double x = x0, w = x0, v = x0;
  double fx = f(x, best);
  double fw = fx, fv = fx;
  double d = 0.0, e = 0.0;
  Candidate trial;
  trial.k = k;
  for (int it = 0; it < kBrentMaxIter; ++it) {
    const double xm = 0.5 * (a + b);
    const double tol1 = kBrentTolX;
    const double tol2 = 2.0 * tol1;
    if (std::fabs(x - xm) <= tol2 - 0.5 * (b - a)) break;
    bool golden = true;
    if (std::fabs(e) > tol1) {
      double r = (x - w) * (fx - fv);
      double q = (x - v) * (fx - fw);
      double p = (x - v) * q - (x - w) * r;
      q = 2.0 * (q - r);
      if (q > 0.0) p = -p;
      q = std::fabs(q);
      const double etemp = e;
      e = d;
      if (!(std::fabs(p) >= std::fabs(0.5 * q * etemp) || p <= q * (a - x) || p >= q * (b - x))) {
        d = p / q;
        const double uu = x + d;
        if (uu - a < tol2 || b - uu < tol2) d = xm - x >= 0.0 ? tol1 : -tol1;
        golden = false;
      }
    }
    if (golden) {
      e = (x >= xm) ? a - x : b - x;
      d = kGold * e;
    }
    const double uu = std::fabs(d) >= tol1 ? x + d : x + (d >= 0.0 ? tol1 : -tol1);
    const double fu = f(uu, trial);
    if (fu <= fx) {
      if (uu >= x) a = x; else b = x;
      v = w; fv = fw;
      w = x; fw = fx;
      x = uu; fx = fu;
      best = trial;
    } else {
      if (uu < x) a = uu; else b = uu;
      if (fu <= fw || w == x) {
        v = w; fv = fw;
        w = uu; fw = fu;
      } else if (fu <= fv || v == x || v == w) {
        v = uu; fv = fu;
      }
    }
  }
  return best;
}

struct Eval1D {
  Candidate c;
  double df = 0.0;  // d RSS / dx
};

// Refine the grid minimum at x0 = x_g inside [lo, hi] = [x_{g-1}, x_{g+1}].
// The derivative of the VP RSS is available at no extra exp() cost, and (unlike
// the RSS itself near a minimum) it has full relative precision, so when a sign
// change of dRSS/dx is bracketed, Brent's root finder (zeroin) on the derivative
// is used (superlinear, ~1e-12 in x).  Otherwise (edge minima, wiggly/flat
// curves) Brent's minimiser on the RSS is used.  Never returns a point worse
// than the grid point itself (up to rounding of the RSS).
Candidate refine1D(const Grid& gr, const double* z, int k, double lo, double hi, double x0,
                   double* u) {
  auto eval = [&](double xv) {
    Eval1D e;
    e.c.k = k;
    e.c.x = xv;
    e.c.rss = vpEval(gr, z, xv, e.c.a, e.c.bp, u, &e.df);
    return e;
  };
  const Eval1D p = eval(x0);
  if (p.df == 0.0 || !std::isfinite(p.df)) return p.c;
  const double other = p.df < 0.0 ? hi : lo;
  // Grid edge, curve still descending outwards: the edge is the in-range optimum
  // of this basin (the LM polish may still leave the grid if it wins).
  if (other == x0) return p.c;
  const Eval1D q = eval(other);
  Eval1D ea = p.df < 0.0 ? p : q;  // left end, want df < 0
  Eval1D eb = p.df < 0.0 ? q : p;  // right end, want df > 0
  if (!(ea.df < 0.0 && eb.df > 0.0) || !std::isfinite(q.df)) {
    Candidate c = brentRefine(gr, z, k, lo, hi, x0, u);
    return c.rss <= p.c.rss ? c : p.c;
  }
  // zeroin (Brent 1973) on f(x) = dRSS/dx; a, b, c as in the classical code.
  Eval1D a = ea, b = eb, c = ea;
  double d = b.c.x - a.c.x, e = d;
  for (int it = 0; it < kBrentMaxIter; ++it) {
    if (std::fabs(c.df) < std::fabs(b.df)) {
      a = b;
      b = c;
      c = a;
    }
    const double tol1 = 0.5 * kBrentTolX;
    const double xm = 0.5 * (c.c.x - b.c.x);
    if (std::fabs(xm) <= tol1 || b.df == 0.0) break;
    if (std::fabs(e) >= tol1 && std::fabs(a.df) > std::fabs(b.df)) {
      const double s = b.df / a.df;
      double pp, qq;
      if (a.c.x == c.c.x) {
        pp = 2.0 * xm * s;
        qq = 1.0 - s;
      } else {
        const double qa = a.df / c.df, r = b.df / c.df;
        pp = s * (2.0 * xm * qa * (qa - r) - (b.c.x - a.c.x) * (r - 1.0));
        qq = (qa - 1.0) * (r - 1.0) * (s - 1.0);
      }
      if (pp > 0.0) qq = -qq; else pp = -pp;
      if (2.0 * pp < std::min(3.0 * xm * qq - std::fabs(tol1 * qq), std::fabs(e * qq))) {
        e = d;
        d = pp / qq;
      } else {
        d = xm;
        e = d;
      }
    } else {
      d = xm;
      e = d;
    }
    a = b;
    const double xn = b.c.x + (std::fabs(d) > tol1 ? d : (xm > 0.0 ? tol1 : -tol1));
    b = eval(xn);
    if (!std::isfinite(b.df)) break;
    if ((b.df > 0.0 && c.df > 0.0) || (b.df < 0.0 && c.df < 0.0)) {
      c = a;
      d = e = b.c.x - a.c.x;
    }
  }
  // b is the root estimate; keep the grid point if the root is clearly worse
  // (only possible through rounding or pathological curves).
  const double slack = 1e-12 * p.c.rss + 1e-300;
  return (std::isfinite(b.c.rss) && b.c.rss <= p.c.rss + slack) ? b.c : p.c;
}

// Signed-model RSS at (a, bp, x); fills u and residuals res = f - z.
double signedRss(const Grid& gr, const double* z, double a, double bp, double x, double* u,
                 double* res) {
  const double inv = std::exp(-x);
  double rss = 0.0;
  for (int i = 0; i < gr.n; ++i) {
    u[i] = std::exp(-gr.tau[i] * inv);
    res[i] = a - bp * u[i] - z[i];
    rss += res[i] * res[i];
  }
  return rss;
}

// Solve the symmetric positive definite 3x3 system M d = rhs (Cholesky).
bool solve3(const double M[3][3], const double rhs[3], double out[3]) {
  double L[3][3] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j <= i; ++j) {
      double s = M[i][j];
      for (int m = 0; m < j; ++m) s -= L[i][m] * L[j][m];
      if (i == j) {
        if (!(s > 0.0) || !std::isfinite(s)) return false;
        L[i][i] = std::sqrt(s);
      } else {
        L[i][j] = s / L[j][j];
      }
    }
  }
  double yv[3];
  for (int i = 0; i < 3; ++i) {
    double s = rhs[i];
    for (int m = 0; m < i; ++m) s -= L[i][m] * yv[m];
    yv[i] = s / L[i][i];
  }
  for (int i = 2; i >= 0; --i) {
    double s = yv[i];
    for (int m = i + 1; m < 3; ++m) s -= L[m][i] * out[m];
    out[i] = s / L[i][i];
  }
  return std::isfinite(out[0]) && std::isfinite(out[1]) && std::isfinite(out[2]);
}

// 3-parameter Levenberg-Marquardt on the signed model f = A - B' exp(-tau/T1s),
// parameters (A, B', x = ln T1s), analytic Jacobian.  Never increases the RSS.
void lmPolish(const Grid& gr, const double* z, Candidate& c, Workspace& ws) {
  const int n = gr.n;
  double* u = ws.u.data();
  double* res = ws.res.data();
  double* j2 = ws.j2.data();
  double a = c.a, bp = c.bp, x = c.x;
  // Lower bound on ln T1s: also keep B = B' exp(t0 / T1s) far from overflow.
  const double xMin = std::max(kLmXMin, gr.t[0] > 0.0 ? std::log(gr.t[0] / 600.0) : kLmXMin);
  if (x < xMin) return;
  double rss = signedRss(gr, z, a, bp, x, u, res);
  if (!std::isfinite(rss)) return;
  double lambda = 1e-6;
  for (int it = 0; it < kLmMaxIter && rss > 0.0; ++it) {
    // Jacobian columns: df/dA = 1, df/dB' = -u, df/dx = -B' u tau / T1s.
    const double inv = std::exp(-x);
    double H[3][3] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
    double g[3] = {0, 0, 0};
    for (int i = 0; i < n; ++i) {
      j2[i] = -bp * u[i] * gr.tau[i] * inv;
      const double J[3] = {1.0, -u[i], j2[i]};
      for (int p = 0; p < 3; ++p) {
        g[p] += J[p] * res[i];
        for (int q = 0; q <= p; ++q) H[p][q] += J[p] * J[q];
      }
    }
    for (int p = 0; p < 3; ++p)
      for (int q = p + 1; q < 3; ++q) H[p][q] = H[q][p];
    // Converged: every gradient component at rounding level relative to |J_p| |r|.
    bool small = true;
    for (int p = 0; p < 3; ++p)
      if (g[p] * g[p] > 1e-24 * H[p][p] * rss) small = false;
    if (small) break;
    const double maxDiag = std::max({H[0][0], H[1][1], H[2][2]});
    bool accepted = false;
    double step[3] = {0, 0, 0};
    while (lambda <= 1e8) {
      double M[3][3];
      for (int p = 0; p < 3; ++p)
        for (int q = 0; q < 3; ++q) M[p][q] = H[p][q];
      for (int p = 0; p < 3; ++p)
        M[p][p] += lambda * std::max(H[p][p], 1e-12 * maxDiag + 1e-300);
      const double rhs[3] = {-g[0], -g[1], -g[2]};
      if (!solve3(M, rhs, step)) {
        lambda *= 10.0;
        continue;
      }
      const double na = a + step[0];
      const double nb = bp + step[1];
      const double nx = std::min(std::max(x + step[2], xMin), kLmXMax);
      const double nr = signedRss(gr, z, na, nb, nx, u, res);
      if (std::isfinite(nr) && nr < rss) {
        a = na; bp = nb; x = nx; rss = nr;
        lambda = std::max(lambda * 0.1, 1e-12);
        accepted = true;
        break;
      }
      // Rejected: if the quadratic model predicts a decrease at rounding level,
      // the optimum is reached.
      double gs = 0.0, sHs = 0.0;
      for (int p = 0; p < 3; ++p) {
        gs += g[p] * step[p];
        for (int q = 0; q < 3; ++q) sHs += step[p] * H[p][q] * step[q];
      }
      if (-gs - 0.5 * sHs <= 1e-14 * rss) break;
      lambda *= 10.0;
    }
    if (!accepted) break;
    const double scale = std::fabs(a) + std::fabs(bp);
    if (std::fabs(step[2]) < 1e-15 && std::fabs(step[0]) + std::fabs(step[1]) <= 1e-15 * scale) break;
  }
  // Leave u/res consistent with nothing in particular; the caller recomputes.
  if (std::isfinite(rss) && rss <= c.rss) {
    c.a = a; c.bp = bp; c.x = x; c.rss = rss;
  }
}

// Magnitude-model RSS at (a, bp, x) on the unsigned data.
double magnitudeRss(const Grid& gr, const double* y, double a, double bp, double x) {
  const double inv = std::exp(-x);
  double rss = 0.0;
  for (int i = 0; i < gr.n; ++i) {
    const double ri = std::fabs(a - bp * std::exp(-gr.tau[i] * inv)) - y[i];
    rss += ri * ri;
  }
  return rss;
}

// Collect the local minima of r[0..G-1] (edges included), merging minima whose
// separating barrier is below tol (plateaus, rounding wiggles).
void gridMinima(const double* r, int G, double tol, std::vector<MinPt>& st) {
  st.clear();
  double runMax = -std::numeric_limits<double>::infinity();
  for (int g = 0; g < G; ++g) {
    const bool leftOk = (g == 0) || r[g] < r[g - 1];
    const bool rightOk = (g == G - 1) || r[g] <= r[g + 1];
    if (leftOk && rightOk) {
      MinPt m{g, r[g], runMax};
      while (!st.empty() && m.barrierLeft - std::max(st.back().val, m.val) <= tol) {
        const MinPt top = st.back();
        st.pop_back();
        const double bl = std::max(top.barrierLeft, m.barrierLeft);
        if (top.val <= m.val) {
          m.g = top.g;
          m.val = top.val;
        }
        m.barrierLeft = bl;
      }
      st.push_back(m);
      runMax = -std::numeric_limits<double>::infinity();
    } else {
      runMax = std::max(runMax, r[g]);
    }
  }
  if (static_cast<int>(st.size()) > kMaxMinimaPerPattern) {
    std::nth_element(st.begin(), st.begin() + kMaxMinimaPerPattern, st.end(),
                     [](const MinPt& p, const MinPt& q) { return p.val < q.val; });
    st.resize(kMaxMinimaPerPattern);
  }
}

ReferenceResult fitSorted(const Grid& gr, const double* y, Workspace& ws) {
  const int n = gr.n;
  const int G = gr.G;
  ws.ensure(n, G);
  double szz = 0.0, ysum = 0.0;
  for (int i = 0; i < n; ++i) {
    szz += y[i] * y[i];
    ysum += y[i];
  }
  const double tol = kMergeRel * szz;

  // 1) Grid pass: RSS_k(g) = sum z^2 - (sum z)^2 / n - (sum d z)^2 / sum d^2.
  double* sdz = ws.sdz.data();
  double* r = ws.r.data();
  std::fill(sdz, sdz + G, 0.0);
  for (int i = 0; i < n; ++i) {
    const double yi = y[i];
    const double* di = gr.d.data() + static_cast<std::size_t>(i) * G;
    for (int g = 0; g < G; ++g) sdz[g] += di[g] * yi;
  }
  ws.cands.clear();
  double zsum = ysum;
  double* z = ws.z.data();
  for (int k = 0; k < n; ++k) {
    if (k > 0) {
      const double yk = 2.0 * y[k - 1];
      const double* dk = gr.d.data() + static_cast<std::size_t>(k - 1) * G;
      for (int g = 0; g < G; ++g) sdz[g] -= dk[g] * yk;
      zsum -= yk;
    }
    const double base = szz - zsum * zsum / n;
    for (int g = 0; g < G; ++g) r[g] = base - sdz[g] * sdz[g] * gr.invSdd[g];
    gridMinima(r, G, tol, ws.stack);
    // 2) Refine every grid minimum with Brent inside its two-cell bracket.
    signedData(y, n, k, z);
    for (const MinPt& m : ws.stack) {
      const double lo = gr.x[std::max(m.g - 1, 0)];
      const double hi = gr.x[std::min(m.g + 1, G - 1)];
      ws.cands.push_back(refine1D(gr, z, k, lo, hi, gr.x[m.g], ws.u.data()));
    }
  }

  // 3) LM-polish the best few candidates (signed model of their own pattern).
  std::sort(ws.cands.begin(), ws.cands.end(), [](const Candidate& p, const Candidate& q) {
    if (p.rss != q.rss) return p.rss < q.rss;
    if (p.k != q.k) return p.k < q.k;
    return p.x < q.x;
  });
  // Only candidates whose RSS is within kPolishRel of the best can change the
  // ranking; the others are not polished (edge candidates far above the best
  // would otherwise march off the grid for nothing).
  int nPolish = 0;
  while (nPolish < kPolishCount && nPolish < static_cast<int>(ws.cands.size()) &&
         ws.cands[nPolish].rss <= ws.cands[0].rss * (1.0 + kPolishRel) + 1e-300)
    ++nPolish;
  // Polished copies are appended: the unpolished originals stay candidates (a
  // polished point could still turn out non-finite after conversion to B).
  for (int c = 0; c < nPolish; ++c) {
    Candidate polished = ws.cands[c];
    signedData(y, n, polished.k, z);
    lmPolish(gr, z, polished, ws);
    ws.cands.push_back(polished);
  }

  // 4) Magnitude RSS for every candidate; lowest finite one wins.
  ReferenceResult best;
  bool have = false;
  const double t0 = gr.t[0];
  for (const Candidate& c : ws.cands) {
    const double rss = magnitudeRss(gr, y, c.a, c.bp, c.x);
    if (!std::isfinite(rss) || (have && !(rss < best.rss))) continue;
    const double t1s = std::exp(c.x);
    double a = c.a;
    double b = c.bp * std::exp(t0 / t1s);
    int flipped = c.k;
    if (a < 0.0) {
      a = -a;
      b = -b;
      if (c.k == 0) flipped = n;  // pattern n == negated pattern 0
    }
    const double t1 = (a != 0.0) ? t1s * (b / a - 1.0) : 0.0;
    if (!std::isfinite(a) || !std::isfinite(b) || !std::isfinite(t1s) || !std::isfinite(t1))
      continue;
    best.a = a;
    best.b = b;
    best.t1star = t1s;
    best.t1 = t1;
    best.rss = rss;
    best.flipped = flipped;
    have = true;
  }
  if (!have) {
    // Fallback (only for pathological input): constant fit.
    const double mean = ysum / n;
    double rss = 0.0;
    for (int i = 0; i < n; ++i) rss += (y[i] - mean) * (y[i] - mean);
    best = ReferenceResult{};
    best.a = std::isfinite(mean) ? std::fabs(mean) : 0.0;
    best.t1star = std::sqrt(kReferenceT1sMin * kReferenceT1sMax);
    best.t1 = -best.t1star;
    best.rss = std::isfinite(rss) ? rss : std::numeric_limits<double>::max();
    best.flipped = 0;
  }
  return best;
}

// Sort times (stable) and return the permutation; identity when already sorted.
std::vector<int> sortPermutation(const double* t, int n, bool& sorted) {
  std::vector<int> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  sorted = std::is_sorted(t, t + n);
  if (!sorted)
    std::stable_sort(perm.begin(), perm.end(), [t](int p, int q) { return t[p] < t[q]; });
  return perm;
}

struct GridCache {
  bool valid = false;
  std::vector<double> t;
  Grid grid;
  Workspace ws;
};

}  // namespace

ReferenceResult referenceMolliFit(const double* t, const double* y, int n) {
  if (n < 2 || t == nullptr || y == nullptr) return ReferenceResult{};
  thread_local GridCache cache;
  bool sorted = true;
  const std::vector<int> perm = sortPermutation(t, n, sorted);
  std::vector<double> ts(n), ys(n);
  for (int i = 0; i < n; ++i) {
    ts[i] = t[perm[i]];
    ys[i] = y[perm[i]];
  }
  if (!cache.valid || cache.t != ts) {
    cache.grid = buildGrid(ts.data(), n);
    cache.t = ts;
    cache.valid = true;
  }
  return fitSorted(cache.grid, ys.data(), cache.ws);
}

std::vector<ReferenceResult> referenceMolliFitBatch(const float* t, const float* y, int samples,
                                                    int voxels, int threads) {
  std::vector<ReferenceResult> out(voxels > 0 ? voxels : 0);
  if (voxels <= 0 || samples < 2 || t == nullptr || y == nullptr) return out;
  std::vector<double> td(samples);
  for (int i = 0; i < samples; ++i) td[i] = static_cast<double>(t[i]);
  bool sorted = true;
  const std::vector<int> perm = sortPermutation(td.data(), samples, sorted);
  std::vector<double> ts(samples);
  for (int i = 0; i < samples; ++i) ts[i] = td[perm[i]];
  const Grid grid = buildGrid(ts.data(), samples);

  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min(threads, voxels));
  constexpr int kChunk = 64;
  std::atomic<int> next{0};
  auto worker = [&]() {
    Workspace ws;
    std::vector<double> yv(samples);
    for (;;) {
      const int begin = next.fetch_add(kChunk);
      if (begin >= voxels) break;
      const int end = std::min(begin + kChunk, voxels);
      for (int v = begin; v < end; ++v) {
        for (int i = 0; i < samples; ++i)
          yv[i] = static_cast<double>(y[static_cast<std::size_t>(perm[i]) * voxels + v]);
        out[v] = fitSorted(grid, yv.data(), ws);
      }
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
    for (std::thread& th : pool) th.join();
  }
  return out;
}

}  // namespace testing
}  // namespace torcht1
