#!/usr/bin/python3
"""Prints the motion-correction benchmark's table and summary line from bench/run-moco's
results.jsonl (one JSON object per case and method, written by torcht1-moco-bench)."""

import json
import sys

CASES = ["still", "drift6", "drift3_gasp8", "drift4_gasp6_warp3"]  # the (MOLLI 5(3)3): the summary line
SHMOLLI = ["shmolli_still", "shmolli_drift5_gasp6"]
METHODS = ["no MOCO", "TorchT1 MOCO", "elastix groupwise rigid", "elastix groupwise bspline"]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "build/moco-bench/results.jsonl"
    rows = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            rows[(r["case"], r["method"])] = r
    print(f"{'case':<20} {'method':<27} {'myo within 5%':>13} {'median err':>10} {'p95 err':>8} {'ms/slice':>10}  notes")
    for case in CASES + SHMOLLI:
        for method in METHODS:
            r = rows.get((case, method))
            if r is None:
                continue
            notes = ""
            if method == "TorchT1 MOCO":
                notes = (f"max {r['max_displacement_mm']:.1f} mm (true {r['true_max_displacement_mm']:.1f}), "
                         f"min Jacobian {r['min_jacobian']:.2f}, {r['fits']} fits"
                         + ("" if r["corrected"] else f"; not applied: {r['reason']}"))
            print(f"{case:<20} {method:<27} {r['myo_within_5pct']:>12.1f}% {r['median_err_pct']:>9.2f}% "
                  f"{r['p95_err_pct']:>7.1f}% {r['ms_per_slice']:>10.1f}  {notes}")
    ours = [rows[(c, "TorchT1 MOCO")] for c in CASES if (c, "TorchT1 MOCO") in rows]
    stages = {}
    for r in ours:
        for k, v in r.get("stage_ms", {}).items():
            stages[k] = stages.get(k, 0) + v / len(ours)
    if stages:
        print("TorchT1 MOCO stages (ms per slice, mean over cases): " +
              ", ".join(f"{k} {v:.1f}" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])))
    moving = [r for r in ours if r["case"] != "still"]
    still = rows.get(("still", "TorchT1 MOCO"))
    moco_ms = max(r["ms_per_slice"] for r in ours)  # the slowest case
    elastix = [r["ms_per_slice"] for (c, m), r in rows.items() if m.startswith("elastix") and c in CASES]
    speedup = (sum(elastix) / len(elastix)) / moco_ms if elastix else float("nan")
    worst = min(r["myo_within_5pct"] for r in moving)
    sh = {c: rows[(c, "TorchT1 MOCO")] for c in SHMOLLI if (c, "TorchT1 MOCO") in rows}
    if len(sh) == len(SHMOLLI):
        print(f"shmolli: moco_fit_ms={max(r['ms_per_slice'] for r in sh.values()):.1f} "
              f"myo_within_5pct={sh['shmolli_drift5_gasp6']['myo_within_5pct']:.1f} "
              f"still_within_5pct={sh['shmolli_still']['myo_within_5pct']:.1f}")
    print(f"summary: moco_fit_ms={moco_ms:.1f} speedup_vs_elastix={speedup:.0f} "
          f"myo_within_5pct={worst:.1f} still_within_5pct={still['myo_within_5pct']:.1f}")


if __name__ == "__main__":
    main()
