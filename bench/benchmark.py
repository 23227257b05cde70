#!/usr/bin/env python3
"""Kiln against PyTorch on the same GPU in the same run (issue: GPU engines).

ResNet-50 (224x224, fp16; PyTorch channels_last) at batch 1, 32, 256 and
BERT-base (sequence 128, fp16) at batch 1, 32, 128. Kiln: `kiln bench` with
CUDA-graph replay (its default). PyTorch: eager fp16, CUDA-graph replay and,
with --compile, torch.compile. Prints one table of median latency,
throughput and Kiln/PyTorch ratios, and writes it as markdown.

Usage: benchmark.py --kiln BUILD/tools/kiln/kiln --models-dir DIR --out OUT_DIR [--compile]
                    [--only resnet50|bert] [--batches ...]
MODELS_DIR holds the exports of export_models.py (resnet50_ts.onnx, bert_dynamo.onnx).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

MODELS = {
    "resnet50": {"file": "resnet50_ts.onnx", "batches": [1, 32, 256], "unit": "img/s",
                 "shapes": lambda b: f"input:{b}x3x224x224"},
    "bert": {"file": "bert_dynamo.onnx", "batches": [1, 32, 128], "unit": "seq/s",
             "shapes": lambda b: f"input_ids:{b}x128,attention_mask:{b}x128"},
}
MEDIAN = re.compile(r"Latency: .*median = ([0-9.]+) ms")
GPU_MEDIAN = re.compile(r"GPU Compute Time: .*median = ([0-9.]+) ms")
THROUGHPUT = re.compile(r"Throughput: ([0-9.]+) qps")
BUILD_TIME = re.compile(r"Engine built in ([0-9.]+) s")
DEVICE = re.compile(r"Selected Device: (.*)")
LIBRARIES = re.compile(r"Libraries: (.*)")
ARENA = re.compile(r"Engine built in [0-9.]+ s: [0-9]+ layers, (.*)")


def run_kiln(kiln, onnx, shapes, log_path):
    cmd = [kiln, "bench", f"--onnx={onnx}", "--fp16", f"--shapes={shapes}", "--duration=2", "--warmUp=300",
           "--noDataTransfers"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    with open(log_path, "w") as f:
        f.write(" ".join(cmd) + "\n" + p.stdout + p.stderr)
    row = {"wall_s": time.time() - t0, "ok": p.returncode == 0 and "&&&& PASSED" in p.stdout}
    for key, rx in (("median_ms", MEDIAN), ("gpu_median_ms", GPU_MEDIAN), ("qps", THROUGHPUT),
                    ("build_s", BUILD_TIME)):
        m = rx.search(p.stdout)
        if m:
            row[key] = float(m.group(1))
    for key, rx in (("device", DEVICE), ("libraries", LIBRARIES)):
        m = rx.search(p.stdout)
        if m:
            row[key] = m.group(1).strip()
    m = ARENA.search(p.stdout)
    if m:
        row["memory"] = m.group(1)
    if not row["ok"]:
        row["error"] = (p.stdout + p.stderr)[-600:]
    return row


def run_torch(model, batches, compile_, out_dir):
    path = os.path.join(out_dir, f"torch_{model}.json")
    cmd = [sys.executable, os.path.join(os.path.dirname(__file__), "torch_baseline.py"), "--model", model,
           "--batches", ",".join(map(str, batches)), "--json", path] + (["--compile"] if compile_ else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    with open(os.path.join(out_dir, f"torch_{model}.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    if p.returncode != 0:
        print(p.stderr[-2000:], file=sys.stderr)
        return {}
    with open(path) as f:
        return {r["batch"]: r for r in json.load(f)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--only", default="resnet50,bert")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lines = ["| model | batch | Kiln median ms | Kiln items/s | PyTorch eager ms | PyTorch CUDA graph ms | "
             "torch.compile ms | Kiln/graph speedup | Kiln/eager speedup | Kiln/compile speedup |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    results = []
    for name in args.only.split(","):
        spec = MODELS[name]
        onnx = os.path.join(args.models_dir, spec["file"])
        torch_rows = run_torch(name, spec["batches"], args.compile, args.out)
        for b in spec["batches"]:
            k = run_kiln(args.kiln, onnx, spec["shapes"](b), os.path.join(args.out, f"kiln_{name}_{b}.log"))
            t = torch_rows.get(b, {})
            kms = k.get("median_ms")
            row = {"model": name, "batch": b, "kiln": k, "torch": t}
            results.append(row)
            def f(v, fmt="{:.3f}"):
                return fmt.format(v) if isinstance(v, (int, float)) else "-"
            ips = b * 1000.0 / kms if kms else None
            graph_ratio = t.get("cudagraph_ms") / kms if kms and t.get("cudagraph_ms") else None
            eager_ratio = t.get("eager_ms") / kms if kms and t.get("eager_ms") else None
            compile_ratio = t.get("compile_ms") / kms if kms and t.get("compile_ms") else None
            lines.append(f"| {name} | {b} | {f(kms)} | {f(ips, '{:.0f}')} {spec['unit']} | {f(t.get('eager_ms'))} | "
                         f"{f(t.get('cudagraph_ms'))} | {f(t.get('compile_ms'))} | {f(graph_ratio, '{:.2f}x')} | "
                         f"{f(eager_ratio, '{:.2f}x')} | {f(compile_ratio, '{:.2f}x')} |")
            print(lines[-1], flush=True)
            if not k["ok"]:
                print(f"  kiln failed: {k.get('error', '')}", flush=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    # The build side of each engine: build time and the arena against the
    # sum of all activations (from the build report).
    lines += ["", "| model | batch | Kiln build s | Kiln memory |", "|---|---:|---:|---|"]
    for r in results:
        k = r["kiln"]
        build_s = f"{k['build_s']:.1f}" if "build_s" in k else "-"
        lines.append(f"| {r['model']} | {r['batch']} | {build_s} | {k.get('memory', '-')} |")
    # Which GPU and libraries the figures belong to, from Kiln's own report.
    seen = next((r["kiln"] for r in results if "device" in r["kiln"]), {})
    if seen:
        lines = [f"GPU: {seen['device']}; {seen.get('libraries', '')}", ""] + lines
    table = "\n".join(lines)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(table + "\n")
    print("\n" + table)


if __name__ == "__main__":
    main()
