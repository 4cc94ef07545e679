#!/usr/bin/python3
"""SciPy peer: per-voxel Nelder-Mead fit of the MOLLI magnitude model (CPU, sequential).

Faithful to the TorchT1 paper's SciPy baseline (Zhang et al., TU Delft)
  * scipy.optimize.minimize(..., method='Nelder-Mead', bounds=...) called once per
    voxel, voxels processed one after another in a plain Python loop on the CPU;
  * model |A - B exp(-t/T1*)| fitted directly to the magnitude data (no polarity
    restoration), T1 = T1* (B/A - 1).

Our choices
  * objective: sum of squared residuals in scaled units (a = A/s, b = B/s,
    tau = T1*/1000 ms, s = per-voxel max |signal|; see molli_common.py), plain numpy;
  * initial guess a=1, b=2, tau=1 (T1* = 1000 ms);
  * bounds in scaled units: a in [0, 10], b in [0, 20], tau in [0.01, 10]
    (i.e. T1* in [10 ms, 10 s]);
  * options: xatol=1e-6 (parameters are O(1), so ~1e-6 relative), fatol=1e-12
    (SSE in scaled units; noise floor is ~1e-4), maxiter=maxfev=4000;
  * only a seeded random subset of --voxels M tissue voxels is fitted (the fit is
    sequential and per-voxel, so time is linear in voxel count):
    seconds_per_slice_extrapolated = (wall seconds / M) * tissue voxels in slice.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import scipy
from scipy.optimize import minimize

sys.dont_write_bytecode = True  # keep bench/peers free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import molli_common as mc  # noqa: E402

METHOD = "scipy_nm"
NM_OPTIONS = {"xatol": 1e-6, "fatol": 1e-12, "maxiter": 4000, "maxfev": 4000}


def fit_voxel(t, y, x0):
    """Nelder-Mead fit of one voxel; returns the OptimizeResult."""
    def sse(x):
        r = np.abs(x[0] - x[1] * np.exp(-t / x[2])) - y
        return float(r @ r)

    return minimize(sse, x0, method="Nelder-Mead", bounds=mc.NM_BOUNDS, options=NM_OPTIONS)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--phantom", required=True, help="phantom directory (meta.json, signal.f32, ...)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--slice", type=int, default=0)
    p.add_argument("--voxels", type=int, default=400,
                   help="number of randomly chosen tissue voxels to fit (0 = all)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)

    ph = mc.load_phantom(args.phantom)
    k = args.slice
    all_idx, fit_idx = mc.slice_voxels(ph, k, args.voxels, args.seed)
    n_tissue = int(all_idx.size)
    m = int(fit_idx.size)

    t, y, _ = mc.scaled_data(ph, k, fit_idx)
    x0 = mc.init_guess(y.shape[0])
    params = np.empty((m, 3), dtype=np.float64)
    nfev = np.empty(m, dtype=np.int64)
    n_fail = 0

    t0 = time.perf_counter()
    for i in range(m):
        res = fit_voxel(t, y[i], x0[i])
        params[i] = res.x
        nfev[i] = res.nfev
        n_fail += not res.success
    wall = time.perf_counter() - t0

    sec_per_voxel = wall / m
    extrapolated = sec_per_voxel * n_tissue
    t1 = mc.t1_from_scaled(params)
    result = {
        "method": METHOD,
        "slice": k,
        "voxels_fitted": m,
        "tissue_voxels_in_slice": n_tissue,
        "iterations": float(nfev.mean()),
        "converged": None,
        "not_converged_voxels": int(n_fail),
        "max_nfev": int(nfev.max()),
        "seconds_measured": wall,
        "seconds_per_voxel": sec_per_voxel,
        "seconds_per_slice_extrapolated": extrapolated,
        "bounds_scaled": mc.NM_BOUNDS,
        "options": NM_OPTIONS,
        "seed": args.seed,
        "scipy_version": scipy.__version__,
        **mc.error_summary(ph, k, fit_idx, t1),
        "notes": ("SciPy peer: scipy.optimize.minimize Nelder-Mead per voxel, sequential, on SSE "
                  "of |a - b exp(-t/tau)| (magnitude model, scaled params a=A/s, b=B/s, "
                  "tau=T1*/1000ms, init 1,2,1, bounds a[0,10] b[0,20] tau[0.01,10]); "
                  "'iterations' = mean nfev; %d seeded random tissue voxels timed, "
                  "extrapolated = sec/voxel * %d tissue voxels." % (m, n_tissue)),
    }
    mc.write_outputs(args.out, METHOD, ph, k, fit_idx, t1, result)

    err = result.get("median_abs_err_ms")
    print(f"[{METHOD}] slice {k}: {m}/{n_tissue} voxels, mean nfev {nfev.mean():.0f} "
          f"({n_fail} not converged), {wall:.2f} s ({sec_per_voxel * 1e3:.3f} ms/voxel), "
          f"slice extrapolated {extrapolated:.1f} s"
          + (f", median |err| {err:.2f} ms" if err is not None else ""), flush=True)


if __name__ == "__main__":
    main()
