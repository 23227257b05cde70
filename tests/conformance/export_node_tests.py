#!/usr/bin/env python3
"""Writes the ONNX backend node tests of the installed onnx wheel to a directory.

The onnx wheel carries the node-test generators but not their data, so the
cases are produced with onnx.backend.test.case.node.collect_testcases and
written in the layout of onnx's own test data:

    OUT_DIR/<case>/model.onnx
    OUT_DIR/<case>/test_data_set_N/input_K.pb, output_K.pb
    OUT_DIR/cases.json   name, rtol, atol, op types, primary op per case
    OUT_DIR/cases.tsv    name <TAB> rtol <TAB> atol (read by kiln_conformance)
    OUT_DIR/.complete    onnx version and exporter hash (the cache key)

Cases with a non-tensor input or output (sequence, optional, map) also get a
`kiln_unsupported_kind.txt` marker naming it, so the runner counts them as
unsupported without importing them.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import warnings

MARKER = "kiln_unsupported_kind.txt"
EXPANDED_SUFFIX = re.compile(r"_expanded(_ver\d+)?$")


def cache_key() -> str:
    import onnx

    with open(__file__, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    return f"onnx {onnx.__version__} exporter {digest}\n"


def is_complete(out_dir: str) -> bool:
    path = os.path.join(out_dir, ".complete")
    if not os.path.isfile(path):
        return False
    with open(path) as f:
        return f.read() == cache_key()


def qualified_op(node) -> str:
    # ONNX's default domain has two spellings; other domains prefix the op.
    if node.domain in ("", "ai.onnx"):
        return node.op_type
    return f"{node.domain}.{node.op_type}"


def value_kind(type_proto) -> str:
    return type_proto.WhichOneof("value") or "none"


def serialize(value, vi, numpy_helper, TensorProto) -> bytes:
    kind = value_kind(vi.type)
    if kind == "sequence_type":
        return numpy_helper.from_list(value, vi.name).SerializeToString()
    if kind == "optional_type":
        return numpy_helper.from_optional(value, vi.name).SerializeToString()
    if kind == "map_type":
        return numpy_helper.from_dict(value, vi.name).SerializeToString()
    if isinstance(value, TensorProto):
        proto = TensorProto()
        proto.CopyFrom(value)
        proto.name = vi.name
        return proto.SerializeToString()
    import numpy as np

    # Some generators hand numpy scalars (np.float32(3)) rather than arrays.
    return numpy_helper.from_array(np.asarray(value), vi.name).SerializeToString()


def write_case(case, case_dir: str) -> dict:
    from onnx import TensorProto, numpy_helper

    os.makedirs(case_dir)
    model = case.model
    with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    graph = model.graph
    non_tensor = [
        f"{role} '{vi.name}' is a {value_kind(vi.type).removesuffix('_type')}"
        for role, vis in (("input", graph.input), ("output", graph.output))
        for vi in vis
        if value_kind(vi.type) != "tensor_type"
    ]
    for n, (inputs, outputs) in enumerate(case.data_sets):
        ds_dir = os.path.join(case_dir, f"test_data_set_{n}")
        os.makedirs(ds_dir)
        for prefix, values, vis in (("input", inputs, graph.input), ("output", outputs, graph.output)):
            for k, value in enumerate(values):
                try:
                    data = serialize(value, vis[k], numpy_helper, TensorProto)
                except Exception as e:  # noqa: BLE001 - report and mark, never stop the export
                    non_tensor.append(f"{prefix} {k} could not be serialized: {type(e).__name__}: {e}")
                    continue
                with open(os.path.join(ds_dir, f"{prefix}_{k}.pb"), "wb") as f:
                    f.write(data)
    if non_tensor:
        with open(os.path.join(case_dir, MARKER), "w") as f:
            f.write("; ".join(non_tensor) + "\n")
    ops = sorted({qualified_op(node) for node in graph.node})
    return {
        "name": case.name,
        "rtol": case.rtol,
        "atol": case.atol,
        "op_types": ops,
        "primary_op": qualified_op(graph.node[0]) if len(graph.node) == 1 else None,
        "opsets": {imp.domain or "ai.onnx": imp.version for imp in model.opset_import},
        "data_sets": len(case.data_sets),
        "non_tensor": bool(non_tensor),
    }


def export(out_dir: str, force: bool = False, quiet: bool = False) -> int:
    """Exports every node case to out_dir (cached); returns the case count."""
    out_dir = os.path.abspath(out_dir)
    if not force and is_complete(out_dir):
        with open(os.path.join(out_dir, "cases.json")) as f:
            return len(json.load(f)["cases"])

    import onnx
    from onnx.backend.test.case import node as node_cases

    with warnings.catch_warnings():
        # The generators compute expected values that overflow on purpose.
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases(None)

    # Write beside the target and swap, so an interrupted export leaves no
    # half-written directory that looks complete.
    tmp_dir = out_dir + ".tmp"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    os.makedirs(tmp_dir)
    entries = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in sorted(cases, key=lambda c: c.name):
            if case.kind != "node" or case.model is None or not case.data_sets:
                continue
            entries.append(write_case(case, os.path.join(tmp_dir, case.name)))

    # An `_expanded` case holds the function body of the op its base case tests.
    by_name = {e["name"]: e for e in entries}
    for e in entries:
        if e["primary_op"] is None:
            base = by_name.get(EXPANDED_SUFFIX.sub("", e["name"]))
            e["primary_op"] = base["primary_op"] if base and base["primary_op"] else None
        if e["primary_op"] is None:
            e["primary_op"] = e["op_types"][0] if e["op_types"] else "(none)"

    with open(os.path.join(tmp_dir, "cases.json"), "w") as f:
        json.dump({"onnx_version": onnx.__version__, "cases": entries}, f, indent=1, sort_keys=True)
    with open(os.path.join(tmp_dir, "cases.tsv"), "w") as f:
        for e in entries:
            f.write(f"{e['name']}\t{e['rtol']!r}\t{e['atol']!r}\n")
    with open(os.path.join(tmp_dir, ".complete"), "w") as f:
        f.write(cache_key())
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp_dir, out_dir)
    if not quiet:
        print(f"exported {len(entries)} ONNX {onnx.__version__} node cases to {out_dir}")
    return len(entries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write the cases into")
    parser.add_argument("--force", action="store_true", help="export even if the cache is current")
    args = parser.parse_args()
    n = export(args.out_dir, force=args.force)
    print(f"{n} cases in {os.path.abspath(args.out_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
