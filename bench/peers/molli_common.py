"""Shared helpers for the TorchT1 "peer" benchmark scripts (MOLLI T1 mapping).

The peers re-implement, as faithfully as practical, the two fitting methods of the
TorchT1 paper (Zhang et al., TU Delft) so that our C++ solver can be compared against
them on the same phantom:

* ``torcht1_adam.py``      -- PyTorch, whole slice as one batch, MSE loss, Adam (lr 3e-4).
* ``scipy_nelder_mead.py`` -- scipy.optimize.minimize(method='Nelder-Mead'), one voxel
                              at a time, sequential, CPU.

Model (faithful to the paper)
-----------------------------
The MOLLI 3-parameter model is fitted directly to the *magnitude* data::

    S(t) = | A - B * exp(-t / T1*) |,        T1 = T1* * (B / A - 1)

Polarity handling (faithful to the paper): none beyond the absolute value in the
model.  We do *not* restore signal polarity, search over sign flips of the early
inversion times, or fit a signed model; the optimiser sees the magnitude model on
magnitude data, with whatever local minima that implies.  This is deliberately less
clever than our own solver: these scripts are peers, not competitors to tune.

Parameter scaling (our choice, identical for both peers)
--------------------------------------------------------
Per voxel, with ``s = max_n |signal_n|`` (taken as 1 if the voxel is all zeros), the
optimisers work in scaled units::

    a   = A / s          (dimensionless, ~1)
    b   = B / s          (dimensionless, ~2)
    tau = T1* / 1000 ms  (i.e. T1* in seconds)
    y_n = signal_n / s,  t_n = TI_n / 1000 ms

so the scaled model is ``y(t) = |a - b exp(-t / tau)|`` and every parameter is O(1),
which makes a single learning rate / simplex size meaningful for all voxels.  T1 does
not depend on ``s``: ``T1 = 1000 * tau * (b / a - 1)`` ms.

Initial guess (our choice)
--------------------------
a = 1, b = 2, tau = 1 (T1* = 1000 ms), the same for every voxel -- i.e. "perfect
inversion, mid-range T1".  (A cheap data-driven alternative, tau = TI of the smallest
sample / ln 2, was tried and rejected: when the null falls between two samples it
starts many voxels on the wrong side of the null and Adam then stalls in the wrong
polarity branch -- ~20 % of voxels >5 % T1 error on a synthetic phantom.)
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

# Bounds used by the Nelder-Mead peer, in scaled units (a, b, tau).
NM_BOUNDS = [(0.0, 10.0), (0.0, 20.0), (0.01, 10.0)]


def load_phantom(phantom_dir: str) -> dict:
    """Load a phantom directory written by the C++ benchmark.

    Returns a dict with
      meta   : parsed meta.json
      signal : float32 [S, N, H, W]  magnitude images
      ti     : float32 [S, N]        inversion times (ms)
      tissue : bool    [S, H, W]     tissue mask
      truth  : float32 [S, H, W]     true T1 (ms), or None if truth_t1.f32 is absent
    """
    with open(os.path.join(phantom_dir, "meta.json")) as f:
        meta = json.load(f)
    S, N, H, W = (int(meta[k]) for k in ("slices", "samples", "rows", "cols"))

    def _read(name, dtype, shape):
        path = os.path.join(phantom_dir, name)
        arr = np.fromfile(path, dtype=dtype)
        expected = int(np.prod(shape))
        if arr.size != expected:
            raise ValueError(f"{path}: {arr.size} elements, expected {expected} for shape {shape}")
        return arr.reshape(shape)

    signal = _read("signal.f32", "<f4", (S, N, H, W))
    ti = _read("ti.f32", "<f4", (S, N))
    tissue = _read("tissue.u8", np.uint8, (S, H, W)) != 0
    truth = None
    if os.path.exists(os.path.join(phantom_dir, "truth_t1.f32")):
        truth = _read("truth_t1.f32", "<f4", (S, H, W))
    return dict(meta=meta, signal=signal, ti=ti, tissue=tissue, truth=truth,
                S=S, N=N, H=H, W=W)


def tissue_indices(ph: dict, slice_idx: int) -> np.ndarray:
    """Flat (row-major H*W) indices of the tissue voxels of one slice."""
    return np.flatnonzero(ph["tissue"][slice_idx].reshape(-1))


def select_voxels(all_idx: np.ndarray, m: int, seed: int) -> np.ndarray:
    """Seeded random subset of ``m`` voxels (sorted); all of them if m <= 0 or m >= len."""
    if m <= 0 or m >= all_idx.size:
        return all_idx
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(all_idx, size=m, replace=False))


def slice_voxels(ph: dict, slice_idx: int, m: int, seed: int):
    """The tissue voxels of one slice and the seeded subset of ``m`` to fit (all if m <= 0).

    Exits with a one-line message when the slice has no tissue voxels.
    """
    all_idx = tissue_indices(ph, slice_idx)
    if all_idx.size == 0:
        sys.exit(f"slice {slice_idx}: no tissue voxels")
    return all_idx, select_voxels(all_idx, m, seed)


def scaled_data(ph: dict, slice_idx: int, flat_idx: np.ndarray):
    """Scaled data for the given voxels of one slice.

    Returns (t [N] float64 seconds, y [M, N] float64 = signal / s, s [M] float64).
    """
    sig = ph["signal"][slice_idx].reshape(ph["N"], -1)[:, flat_idx].T.astype(np.float64)  # [M, N]
    s = np.max(np.abs(sig), axis=1)
    s[~(s > 0)] = 1.0
    y = sig / s[:, None]
    t = ph["ti"][slice_idx].astype(np.float64) / 1000.0
    return t, y, s


INIT_SCALED = (1.0, 2.0, 1.0)  # (a, b, tau)


def init_guess(m: int) -> np.ndarray:
    """Initial guess in scaled units, [m, 3] = (a, b, tau) = (1, 2, 1) for every voxel."""
    return np.tile(np.array(INIT_SCALED, dtype=np.float64), (m, 1))


def model_np(params: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Scaled magnitude model |a - b exp(-t/tau)| for params [..., 3] -> [..., N]."""
    a, b, tau = params[..., 0:1], params[..., 1:2], params[..., 2:3]
    return np.abs(a - b * np.exp(-t / tau))


def t1_from_scaled(params: np.ndarray) -> np.ndarray:
    """T1 in ms from scaled (a, b, tau): 1000 * tau * (b/a - 1). Non-finite -> NaN.

    Non-physical but finite values (negative T1, huge T1) are kept on purpose.
    """
    a, b, tau = (params[:, k].astype(np.float64) for k in range(3))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t1 = 1000.0 * tau * (b / a - 1.0)
    t1[~np.isfinite(t1)] = np.nan
    return t1


def write_outputs(out_dir: str, method: str, ph: dict, slice_idx: int,
                  flat_idx: np.ndarray, t1_ms: np.ndarray, result: dict) -> None:
    """Write t1_<method>.f32 (float32 [S,H,W], NaN where not fitted) and result_<method>.json."""
    os.makedirs(out_dir, exist_ok=True)
    S, H, W = ph["S"], ph["H"], ph["W"]
    t1map = np.full((S, H * W), np.nan, dtype=np.float32)
    t1map[slice_idx, flat_idx] = t1_ms.astype(np.float32)
    t1map.reshape(S, H, W).astype("<f4").tofile(os.path.join(out_dir, f"t1_{method}.f32"))
    with open(os.path.join(out_dir, f"result_{method}.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


def error_summary(ph: dict, slice_idx: int, flat_idx: np.ndarray, t1_ms: np.ndarray) -> dict:
    """Accuracy vs truth_t1 on the fitted voxels (informational; empty if no truth)."""
    if ph["truth"] is None:
        return {}
    truth = ph["truth"][slice_idx].reshape(-1)[flat_idx].astype(np.float64)
    ok = np.isfinite(t1_ms) & (truth > 0)
    if not ok.any():
        return {"median_abs_err_ms": None, "median_rel_err": None, "nonfinite_t1": int((~np.isfinite(t1_ms)).sum())}
    err = np.abs(t1_ms[ok] - truth[ok])
    return {
        "median_abs_err_ms": float(np.median(err)),
        "median_rel_err": float(np.median(err / truth[ok])),
        "p95_rel_err": float(np.percentile(err / truth[ok], 95)),
        "nonfinite_t1": int((~np.isfinite(t1_ms)).sum()),
    }
