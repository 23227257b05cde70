#!/usr/bin/env python3
"""Runs the ONNX backend node tests on Kiln's CPU reference (or, with
--device cuda, on CUDA engines) and reports.

Exports the cases of the installed onnx (cached under the build directory),
runs kiln_conformance on them, applies the device's skip file
(tests/conformance/skips.txt, skips_cuda.txt), prints the summary and per-op
table, writes docs/conformance.md (conformance_cuda.md), and exits non-zero
when a supported case fails that is not skipped, when skips reach 5% of the
supported cases, or when a skip entry is stale (its case passes) or unknown.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import export_node_tests  # noqa: E402

MAX_SKIP_FRACTION = 0.05
STATUSES = ("pass", "fail", "skipped", "unsupported")


def parse_skips(path: str) -> tuple[dict[str, str], list[str]]:
    """case -> reason, plus the problems found in the file."""
    skips: dict[str, str] = {}
    problems: list[str] = []
    if not os.path.exists(path):
        return skips, problems
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition("#")
            name, reason = name.strip(), reason.strip()
            if not reason:
                problems.append(f"{path}:{lineno}: '{name}' has no '# reason'")
            if " " in name:
                problems.append(f"{path}:{lineno}: one case per line, got '{name}'")
            if name in skips:
                problems.append(f"{path}:{lineno}: '{name}' is listed twice")
            skips[name] = reason
    return skips, problems


def default_build_dir() -> str:
    return os.environ.get("KILN_BUILD_DIR") or os.path.join(REPO, "build")


def run_tool(args, cases_dir: str, results_path: str) -> None:
    cmd = [
        args.tool,
        cases_dir,
        "--out",
        results_path,
        "--jobs",
        str(args.jobs),
        "--timeout",
        str(args.timeout),
        "--device",
        args.device,
    ]
    if args.filter:
        cmd += ["--filter", args.filter]
    print("+ " + " ".join(cmd), flush=True)
    rc = subprocess.run(cmd).returncode
    if rc != 0:
        raise SystemExit(f"error: kiln_conformance exited with {rc}")


def load_results(path: str) -> dict[str, dict]:
    results = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                results[r["case"]] = r
    return results


def classify(cases: list[dict], results: dict[str, dict], skips: dict[str, str]) -> list[dict]:
    """One row per case with its final status (a skipped failure becomes 'skipped')."""
    rows = []
    for c in cases:
        r = results.get(c["name"]) or {
            "status": "fail",
            "category": "crash",
            "reason": "kiln_conformance wrote no result for this case",
        }
        status = r["status"]
        if status == "fail" and c["name"] in skips:
            status = "skipped"
        rows.append(
            {
                "name": c["name"],
                "op": c["primary_op"],
                "status": status,
                "category": r.get("category", ""),
                "reason": r.get("reason", ""),
                "max_error": r.get("max_error"),
                "seconds": r.get("seconds") or 0,
                "fixed_inputs": r.get("fixed_inputs") or [],
            }
        )
    return rows


def summarize(rows: list[dict]) -> dict:
    n = collections.Counter(r["status"] for r in rows)
    supported = n["pass"] + n["fail"] + n["skipped"]
    return {
        "total": len(rows),
        "supported": supported,
        "passed": n["pass"],
        "failed": n["fail"],
        "skipped": n["skipped"],
        "unsupported": n["unsupported"],
        "skip_pct": 100.0 * n["skipped"] / supported if supported else 0.0,
    }


def per_op(rows: list[dict]) -> list[tuple[str, collections.Counter]]:
    ops: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in rows:
        ops[r["op"]][r["status"]] += 1
    # ai.onnx ops first, then those of other domains (named "domain.Op").
    return sorted(ops.items(), key=lambda kv: ("." in kv[0], kv[0].lower()))


def one_line(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


DEVICE_LABELS = {"cpu": "the Kiln CPU reference", "cuda": "Kiln CUDA engines (fp32)"}


def render(rows, summary, skips, onnx_version, device, markdown: bool) -> str:
    out = []
    s = summary
    out.append(
        f"ONNX {onnx_version} backend node tests on {DEVICE_LABELS[device]}: "
        f"{s['total']} cases, {s['supported']} supported, {s['passed']} passed, "
        f"{s['failed']} failed, {s['skipped']} skipped "
        f"({s['skip_pct']:.1f}% of supported; limit {100 * MAX_SKIP_FRACTION:.0f}%), "
        f"{s['unsupported']} unsupported."
    )
    out.append("")
    why = collections.Counter(r["category"] for r in rows if r["status"] == "unsupported")
    if why:
        out.append(
            "Unsupported by reason: " + ", ".join(f"{k or 'other'} {v}" for k, v in sorted(why.items())) + "."
        )
        out.append("")
    fixed = [r for r in rows if r["status"] == "pass" and r["fixed_inputs"]]
    if fixed:
        out.append(
            f"{len(fixed)} passed cases ran with their shape inputs fixed at build time (TensorRT's shape tensors), "
            "since engines need static shapes: " + ", ".join(sorted({r["op"] for r in fixed})) + "."
        )
        out.append("")
    out.append(
        "Per op: each case counts once, under its primary op (the op the case tests; "
        "an `_expanded` case counts under the function op whose body its model holds)."
    )
    out.append("")
    header = ["op", "cases", "supported", "passed", "failed", "skipped", "unsupported"]
    table = []
    for op, c in per_op(rows):
        sup = c["pass"] + c["fail"] + c["skipped"]
        table.append([op, sum(c.values()), sup, c["pass"], c["fail"], c["skipped"], c["unsupported"]])
    if markdown:
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for row in table:
            out.append("| " + " | ".join(str(x) for x in row) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
        for row in [header, *table]:
            out.append("  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths))))
    failed = [r for r in rows if r["status"] == "fail"]
    if failed:
        out.append("")
        out.append(f"Failing cases ({len(failed)}):")
        out.append("")
        for r in failed:
            text = f"({r['op']}, {r['category']}): {one_line(r['reason'], 220)}"
            out.append(f"- `{r['name']}` {text}" if markdown else f"  {r['name']} {text}")
    skipped = [r for r in rows if r["status"] == "skipped"]
    if skipped:
        out.append("")
        out.append(f"Skipped cases ({len(skipped)}, from tests/conformance/skips.txt):")
        out.append("")
        for r in skipped:
            out.append(f"- `{r['name']}`: {skips[r['name']]}" if markdown else f"  {r['name']}: {skips[r['name']]}")
    cuda_only = [r for r in rows if r["status"] == "unsupported" and r["category"] == "cuda"]
    if cuda_only:
        out.append("")
        out.append(f"Supported on the CPU reference but not by the CUDA backend ({len(cuda_only)}):")
        out.append("")
        for r in cuda_only:
            text = one_line(r["reason"], 160)
            out.append(f"- `{r['name']}`: {text}" if markdown else f"  {r['name']}: {text}")
    return "\n".join(out) + "\n"


def write_docs(path: str, body: str, onnx_version: str, device: str) -> None:
    today = datetime.date.today().isoformat()
    where = {
        "cpu": "Kiln's CPU reference interpreter",
        "cuda": "Kiln CUDA engines: each case's model is built into an fp32 engine (default tactics, no timing) "
        "and run once per data set. A case the CUDA backend cannot build (an op or type without a CUDA kernel) "
        "counts as unsupported with reason `cuda`",
    }[device]
    command = "tests/conformance/run_conformance.py" + (" --device cuda" if device == "cuda" else "")
    skip_file = "skips_cuda.txt" if device == "cuda" else "skips.txt"
    text = (
        "# ONNX conformance" + (" on CUDA" if device == "cuda" else "") + "\n\n"
        f"The ONNX {onnx_version} backend node tests (`onnx.backend.test.case.node`) run on {where}. "
        f"Generated by `{command}` on "
        f"{today}; do not edit by hand.\n\n"
        "A case is *unsupported* when the importer refuses the model with `kUnsupported`: `op` (an op "
        "Kiln lacks), `opset` (Kiln has the op but not at the model's opset), `dtype`, `kind` (a "
        "sequence, optional or map value) or `other`. Every other case is supported "
        f"and must pass, up to the skips listed in `tests/conformance/{skip_file}` (under 5% of the "
        "supported cases). Floats compare as numpy's `assert_allclose` (rtol 1e-3, atol 1e-7, "
        "bfloat16 rtol 2^-6 as onnx's runner), integers and bools exactly.\n\n" + body
    )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build-dir", default=default_build_dir(), help="Kiln build directory (default $KILN_BUILD_DIR or build/)")
    p.add_argument("--cases-dir", help="exported cases (default BUILD_DIR/onnx-node-tests)")
    p.add_argument("--filter", help="only cases whose name matches REGEX (no docs are written)")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/conformance.md")
    p.add_argument("--tool", help="kiln_conformance binary (default BUILD_DIR/tools/kiln_conformance/kiln_conformance)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the cases run (default cpu)")
    p.add_argument("--skips", help="skip file (default tests/conformance/skips.txt; skips_cuda.txt on cuda)")
    p.add_argument("--docs", help="table to write (default docs/conformance.md; conformance_cuda.md on cuda)")
    p.add_argument("--jobs", type=int, default=min(8, os.cpu_count() or 1))
    p.add_argument("--timeout", type=float, default=60, help="per-case limit in seconds")
    p.add_argument("--results", help="JSON lines written by the tool (default BUILD_DIR/conformance/results.jsonl)")
    args = p.parse_args(argv)

    build_dir = os.path.abspath(args.build_dir)
    cases_dir = os.path.abspath(args.cases_dir or os.path.join(build_dir, "onnx-node-tests"))
    args.tool = args.tool or os.path.join(build_dir, "tools", "kiln_conformance", "kiln_conformance")
    suffix = "" if args.device == "cpu" else "_" + args.device
    args.skips = args.skips or os.path.join(HERE, f"skips{suffix}.txt")
    args.docs = args.docs or os.path.join(REPO, "docs", f"conformance{suffix}.md")
    results_path = args.results or os.path.join(build_dir, "conformance", f"results{suffix}.jsonl")
    if not os.path.isfile(args.tool):
        print(f"error: {args.tool} not found; build the kiln_conformance target", file=sys.stderr)
        return 2
    os.makedirs(os.path.dirname(results_path), exist_ok=True)

    t0 = time.monotonic()
    export_node_tests.export(cases_dir)
    with open(os.path.join(cases_dir, "cases.json")) as f:
        exported = json.load(f)
    onnx_version = exported["onnx_version"]
    cases = exported["cases"]
    if args.filter:
        rx = re.compile(args.filter)
        cases = [c for c in cases if rx.search(c["name"])]
    run_tool(args, cases_dir, results_path)
    results = load_results(results_path)

    skips, problems = parse_skips(args.skips)
    all_names = {c["name"] for c in exported["cases"]}
    for name in skips:
        if name not in all_names:
            problems.append(f"skip entry '{name}' names no ONNX {onnx_version} node case")
    rows = classify(cases, results, skips)
    stale = [r["name"] for r in rows if r["name"] in skips and results.get(r["name"], {}).get("status") == "pass"]
    idle = [r["name"] for r in rows if r["name"] in skips and r["status"] == "unsupported"]
    summary = summarize(rows)

    body = render(rows, summary, skips, onnx_version, args.device, markdown=False)
    print()
    print(body, end="")
    slow = sorted((r for r in rows if r["seconds"] > 5), key=lambda r: -r["seconds"])
    if slow:
        print("\nSlow cases (> 5 s): " + ", ".join(f"{r['name']} {r['seconds']:.1f}s" for r in slow[:20]))
    print(f"\n({time.monotonic() - t0:.0f} s; results in {results_path})")

    if not args.no_docs and not args.filter:
        write_docs(args.docs, render(rows, summary, skips, onnx_version, args.device, markdown=True), onnx_version,
                   args.device)
        print(f"wrote {args.docs}")

    errors = []
    if summary["failed"]:
        errors.append(f"{summary['failed']} supported case(s) fail and are not in {args.skips} (listed above)")
    if summary["supported"] and summary["skipped"] >= MAX_SKIP_FRACTION * summary["supported"]:
        errors.append(
            f"skips are {summary['skip_pct']:.1f}% of the supported cases; the limit is {100 * MAX_SKIP_FRACTION:.0f}%"
        )
    for name in stale:
        errors.append(f"stale skip: '{name}' passes now; remove it from {args.skips}")
    errors += problems
    for name in idle:
        print(f"note: skip entry '{name}' names an unsupported case; it has no effect", file=sys.stderr)
    if errors:
        print("\nCONFORMANCE FAILED:", file=sys.stderr)
        for e in errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    print("conformance OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
