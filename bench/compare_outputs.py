#!/usr/bin/env python3
"""Accuracy of Kiln on the models of export_models.py: `kiln inspect`, then
`kiln run` on the CPU reference (--device cpu) or through a CUDA engine
(--device cuda, optionally --fp16), with the outputs compared against
onnxruntime on the same inputs and against PyTorch (whose outputs
export_models.py saved; meaningful for the dynamo exports and torchvision).

Usage: compare_outputs.py MODELS_DIR KILN_BINARY [--device cpu|cuda] [--fp16]
                          [--limit 1e-5] [--log-dir DIR]
Prints one table: model, exporter, rel L2 vs onnxruntime, vs PyTorch, time.
Exits non-zero if any checked error exceeds the limit (vs onnxruntime for
every export; vs PyTorch for dynamo exports and ResNet-50).
"""
import argparse
import glob
import os
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort


def rel_l2(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models_dir")
    ap.add_argument("kiln")
    ap.add_argument("--log-dir", default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--limit", type=float, default=None)
    args = ap.parse_args()
    limit = args.limit if args.limit is not None else (5e-3 if args.fp16 else 1e-5)
    extra = ["--device", args.device] + (["--fp16"] if args.fp16 else [])
    log_dir = args.log_dir or args.models_dir
    rows, worst = [], 0.0
    for path in sorted(glob.glob(os.path.join(args.models_dir, "*.onnx"))):
        base = os.path.basename(path)[:-5]
        model, exporter = base.rsplit("_", 1)
        inputs = dict(np.load(os.path.join(args.models_dir, f"{model}_inputs.npz")))
        torch_out = np.load(os.path.join(args.models_dir, f"{model}_torch_outputs.npz"))["out"]
        work = os.path.join(log_dir, base)
        os.makedirs(work, exist_ok=True)
        feeds = []
        for name, arr in inputs.items():
            f = os.path.join(work, f"in_{name}.npy")
            np.save(f, arr)
            feeds += ["--input", f"{name}={f}"]
        with open(os.path.join(log_dir, f"{base}_inspect.txt"), "w") as fh:
            subprocess.run([args.kiln, "inspect", path], stdout=fh, stderr=subprocess.STDOUT, check=False)
        t0 = time.time()
        run = subprocess.run([args.kiln, "run", path, *feeds, *extra, "--output-dir", work], capture_output=True,
                             text=True)
        kiln_s = time.time() - t0
        with open(os.path.join(log_dir, f"{base}_run.txt"), "w") as fh:
            fh.write(run.stdout + run.stderr)
        if run.returncode != 0:
            rows.append((model, exporter, "kiln run failed", "", f"{kiln_s:.1f}"))
            print(run.stdout[-2000:], run.stderr[-2000:], file=sys.stderr)
            worst = float("inf")
            continue
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        out_name = sess.get_outputs()[0].name
        ort_out = sess.run([out_name], inputs)[0]
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in out_name)
        kiln_out = np.load(os.path.join(work, f"{safe}.npy"))
        e_ort = rel_l2(kiln_out, ort_out)
        e_torch = rel_l2(kiln_out, torch_out)
        worst = max(worst, e_ort)
        if exporter == "dynamo" or model == "resnet50":
            worst = max(worst, e_torch)
        rows.append((model, exporter, f"{e_ort:.2e}", f"{e_torch:.2e}", f"{kiln_s:.1f}"))
    print(f"{'model':10} {'exporter':8} {'relL2 vs ORT':>14} {'relL2 vs torch':>15} {'kiln run s':>10}")
    for r in rows:
        print(f"{r[0]:10} {r[1]:8} {r[2]:>14} {r[3]:>15} {r[4]:>10}")
    mode = f"{args.device}{' fp16' if args.fp16 else ''}"
    print(f"{mode}: worst checked relative L2: {worst:.2e} (limit {limit:g})")
    sys.exit(0 if worst <= limit else 1)


if __name__ == "__main__":
    main()
