"""ECV map (raw 16-bit pixels, percent x 10, one file per slice) against a phantom's truth:
the share of interior myocardial pixels (the pixel and its four neighbours myocardium, the
pixel wholly myocardium) within 1 percentage point. Usage: score_ecv.py RAW_DIR TRUTH_STUDY"""
import array
import json
import os
import sys

raw, study = sys.argv[1], sys.argv[2]
meta = json.load(open(os.path.join(study, "truth", "truth.json")))
rows, cols, slices = meta["rows"], meta["cols"], meta["slices"]
n = rows * cols
truth = array.array("f")
truth.frombytes(open(os.path.join(study, "truth", "ecv.f32"), "rb").read())
labels = open(os.path.join(study, "truth", "labels.u8"), "rb").read()
purity = array.array("f")
purity.frombytes(open(os.path.join(study, "truth", "purity.f32"), "rb").read())
out = []
for s in range(slices):
    pixels = array.array("H")
    pixels.frombytes(open(os.path.join(raw, f"slice{s + 1}.bin"), "rb").read())
    inner = good = 0
    for r in range(1, rows - 1):
        for c in range(1, cols - 1):
            v = r * cols + c
            i = s * n + v
            if any(labels[j] != 2 for j in (i, i - 1, i + 1, i - cols, i + cols)) or purity[i] < 1:
                continue
            inner += 1
            good += abs(pixels[v] / 10.0 - 100.0 * truth[i]) <= 1.0
    out.append(f"slice {s + 1}: {100.0 * good / max(inner, 1):.1f}% of {inner}")
print(", ".join(out))
