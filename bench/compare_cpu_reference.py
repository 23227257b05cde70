#!/usr/bin/env python3
"""Issue-2 acceptance on exported models: `kiln inspect` and `kiln run` (CPU
reference) on each ONNX file of export_models.py, with the outputs compared
against onnxruntime (same inputs) and, for the dynamo exports, PyTorch.

Usage: compare_cpu_reference.py MODELS_DIR KILN_BINARY [--log-dir DIR]
Prints one table: model, exporter, rel L2 vs onnxruntime, vs PyTorch, Kiln time.
Exits non-zero if any relative L2 error vs onnxruntime exceeds 1e-5.
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
    args = ap.parse_args()
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
        run = subprocess.run([args.kiln, "run", path, *feeds, "--output-dir", work], capture_output=True, text=True)
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
        rows.append((model, exporter, f"{e_ort:.2e}", f"{e_torch:.2e}", f"{kiln_s:.1f}"))
    print(f"{'model':10} {'exporter':8} {'relL2 vs ORT':>14} {'relL2 vs torch':>15} {'kiln run s':>10}")
    for r in rows:
        print(f"{r[0]:10} {r[1]:8} {r[2]:>14} {r[3]:>15} {r[4]:>10}")
    print(f"worst relative L2 vs onnxruntime: {worst:.2e} (limit 1e-5)")
    sys.exit(0 if worst <= 1e-5 else 1)


if __name__ == "__main__":
    main()
