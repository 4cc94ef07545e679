#!/usr/bin/python3
"""Prints the benchmark table and summary line from a bench/run output folder.

Every method wrote t1_<method>.f32 (raw fitted T1 in ms, NaN where it did not fit) and
result_<method>.json (seconds per slice, measured or extrapolated as its notes say). This
script compares each map with the truth and with the double-precision reference fit on
the tissue voxels that method fitted, and puts the times side by side.
"""

import json
import os
import sys

import numpy as np

METHODS = [
    ("varpro_lm", "TorchT1 node default (VarPro + batched LM, C++/LibTorch)"),
    ("adam_cpp", "TorchT1 node Adam solver (paper method, C++/LibTorch)"),
    ("torcht1_adam", "TorchT1 paper: PyTorch Adam lr 3e-4 (Python peer)"),
    ("scipy_nm", "TorchT1 paper: SciPy Nelder-Mead per voxel (Python peer)"),
]


def load(folder, name, dtype):
    path = os.path.join(folder, name)
    return np.fromfile(path, dtype) if os.path.exists(path) else None


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "build/bench-out"
    meta = json.load(open(os.path.join(folder, "meta.json")))
    tissue = load(folder, "tissue.u8", np.uint8) > 0
    truth = load(folder, "truth_t1.f32", np.float32).astype(np.float64)
    reference = load(folder, "t1_reference.f32", np.float32)
    reference = None if reference is None else reference.astype(np.float64)

    print(f"phantom: {meta['slices']} slices of {meta['rows']}x{meta['cols']}, MOLLI {meta['scheme']}, "
          f"SNR {meta['snr']:.0f}, {'post-contrast' if meta['post_contrast'] else 'native'}, "
          f"{int(tissue.sum())} tissue voxels")
    rows = {}
    for key, label in METHODS:
        result_path = os.path.join(folder, f"result_{key}.json")
        t1 = load(folder, f"t1_{key}.f32", np.float32)
        if not os.path.exists(result_path) or t1 is None:
            continue
        result = json.load(open(result_path))
        t1 = t1.astype(np.float64)
        fitted = tissue & np.isfinite(t1)
        err = np.abs(t1[fitted] - truth[fitted]) / truth[fitted]
        row = {
            "label": label,
            "seconds": float(result["seconds_per_slice_extrapolated"]),
            "voxels": int(fitted.sum()),
            "median_err": 100 * float(np.median(err)),
            "p99_err": 100 * float(np.percentile(err, 99)),
            "notes": result.get("notes", ""),
        }
        if reference is not None:
            both = fitted & np.isfinite(reference)
            agree = np.abs(t1[both] - reference[both]) <= 1e-3 * np.abs(reference[both])
            row["within_ref"] = 100 * float(agree.mean()) if both.any() else float("nan")
        rows[key] = row

    if "varpro_lm" not in rows:
        sys.exit("summarize: no result for the default solver in " + folder)
    ours = rows["varpro_lm"]["seconds"]
    print()
    print(f"| {'method':58} | {'time per slice':>14} | {'vs default':>10} | {'voxels':>7} | "
          f"{'median |dT1|/T1':>15} | {'p99 |dT1|/T1':>12} | {'within 0.1% of ref':>18} |")
    print(f"|{'-' * 60}|{'-' * 16}|{'-' * 12}|{'-' * 9}|{'-' * 17}|{'-' * 14}|{'-' * 20}|")
    for key, row in rows.items():
        seconds = row["seconds"]
        shown = f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"
        print(f"| {row['label']:58} | {shown:>14} | {seconds / ours:>9.0f}x | {row['voxels']:>7} | "
              f"{row['median_err']:>14.3f}% | {row['p99_err']:>11.2f}% | {row.get('within_ref', float('nan')):>17.3f}% |")
    print()
    for key, row in rows.items():
        print(f"- {key}: {row['notes']}")
    print()
    torcht1 = rows.get("torcht1_adam", {}).get("seconds", float("nan"))
    scipy = rows.get("scipy_nm", {}).get("seconds", float("nan"))
    print(f"summary: fit_ms={ours * 1e3:.2f} speedup_vs_torcht1={torcht1 / ours:.0f} "
          f"speedup_vs_scipy={scipy / ours:.0f} within_0.1pct_of_reference={rows['varpro_lm'].get('within_ref', float('nan')):.3f}")


if __name__ == "__main__":
    main()
