"""Cross-check of Kiln's own ONNX protobuf reader against the onnx package.

Models are built with onnx.helper (initializers of many dtypes, as raw_data
and as typed fields; attributes of every kind including subgraphs; value_info
with symbolic dims; a model-local function; external data), saved, and read
back twice: by onnx (the reference) and by Kiln through the kiln_dump_proto
tool, which prints what Kiln's reader and tensor_from_proto produced as JSON.
Nodes, attributes, types and every initializer byte must agree.

The tool is found under $KILN_BUILD_DIR (default /work/main/build) at
tools/kiln_dump/kiln_dump_proto (build target kiln_dump_proto).
"""

import json
import os
import pathlib
import subprocess

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

BUILD_DIR = pathlib.Path(os.environ.get("KILN_BUILD_DIR", "/work/main/build"))
DUMP = BUILD_DIR / "tools" / "kiln_dump" / "kiln_dump_proto"

pytestmark = pytest.mark.skipif(not DUMP.exists(), reason=f"{DUMP} is not built (ninja kiln_dump_proto)")

# ONNX data types Kiln converts to tensors (src/ir/dtype.h); others must be
# refused with an error naming the tensor.
KILN_DTYPES = {
    TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32, TensorProto.INT64,
    TensorProto.BOOL, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16,
    TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E5M2,
}


def kiln_dump(path, expect_ok=True):
    proc = subprocess.run([str(DUMP), str(path)], capture_output=True, text=True, errors="surrogateescape",
                          timeout=120)
    assert proc.stdout, f"no output from {DUMP} (exit {proc.returncode}): {proc.stderr}"
    data = json.loads(proc.stdout)
    if expect_ok:
        assert proc.returncode == 0, data.get("error")
    return proc.returncode, data


def save(model, tmp_path, name="model.onnx", **kwargs):
    path = tmp_path / name
    onnx.save_model(model, str(path), **kwargs)
    return path


# ---- comparisons ------------------------------------------------------------

def check_tensor(ref, got, base_dir):
    where = f"tensor '{ref.name}'"
    assert got["name"] == ref.name
    assert got["data_type"] == ref.data_type, where
    assert got["dims"] == list(ref.dims), where
    assert got["data_location"] == ref.data_location, where
    assert got["external_data"] == [[e.key, e.value] for e in ref.external_data], where
    assert got["has_raw_data"] == ref.HasField("raw_data"), where
    kiln = got["kiln"]
    if ref.data_type not in KILN_DTYPES:
        assert not kiln["ok"], where
        assert f"tensor '{ref.name}' has type" in kiln["error"], kiln["error"]
        assert "Unsupported" in kiln["error"] or "unsupported" in kiln["error"], kiln["error"]
        return
    assert kiln["ok"], f"{where}: {kiln.get('error')}"
    expected = numpy_helper.to_array(ref, base_dir=str(base_dir))
    assert kiln["dims"] == list(expected.shape), where
    assert kiln["nbytes"] == expected.nbytes, where
    assert kiln["hex"] == np.ascontiguousarray(expected).tobytes().hex(), where


def same_float(a, b):
    a, b = np.float32(a), np.float32(b)
    return (np.isnan(a) and np.isnan(b)) or a == b


def check_attribute(ref, got, base_dir):
    A = onnx.AttributeProto
    where = f"attribute '{ref.name}'"
    assert got["name"] == ref.name
    assert got["type"] == ref.type, where
    assert got["ref_attr_name"] == ref.ref_attr_name, where
    if ref.ref_attr_name:
        return
    if ref.type == A.FLOAT:
        assert same_float(got["f"], ref.f), where
    elif ref.type == A.INT:
        assert got["i"] == ref.i, where
    elif ref.type == A.STRING:
        assert got["s_hex"] == ref.s.hex(), where
    elif ref.type == A.TENSOR:
        check_tensor(ref.t, got["t"], base_dir)
    elif ref.type == A.GRAPH:
        check_graph(ref.g, got["g"], base_dir)
    elif ref.type == A.FLOATS:
        assert len(got["floats"]) == len(ref.floats), where
        assert all(same_float(a, b) for a, b in zip(got["floats"], ref.floats)), where
    elif ref.type == A.INTS:
        assert got["ints"] == list(ref.ints), where
    elif ref.type == A.STRINGS:
        assert got["strings_hex"] == [s.hex() for s in ref.strings], where
    elif ref.type == A.TENSORS:
        assert len(got["tensors"]) == len(ref.tensors), where
        for r, g in zip(ref.tensors, got["tensors"]):
            check_tensor(r, g, base_dir)
    elif ref.type == A.GRAPHS:
        assert len(got["graphs"]) == len(ref.graphs), where
        for r, g in zip(ref.graphs, got["graphs"]):
            check_graph(r, g, base_dir)
    # SPARSE_TENSOR(S), TYPE_PROTO(S): Kiln records the type only.


def check_node(ref, got, base_dir):
    assert got["name"] == ref.name
    assert got["op_type"] == ref.op_type
    assert got["domain"] == ref.domain
    assert got["overload"] == ref.overload
    assert got["input"] == list(ref.input)
    assert got["output"] == list(ref.output)
    assert len(got["attribute"]) == len(ref.attribute), ref.name
    for r, g in zip(ref.attribute, got["attribute"]):
        check_attribute(r, g, base_dir)


def check_value_info(ref, got):
    assert got["name"] == ref.name
    if not ref.HasField("type"):
        assert got["type"] is None
        return
    kind = ref.type.WhichOneof("value")
    names = {"tensor_type": "tensor", "sequence_type": "sequence", "map_type": "map",
             "optional_type": "optional", "sparse_tensor_type": "sparse_tensor", "opaque_type": "other"}
    assert got["type"]["kind"] == names.get(kind, "none"), ref.name
    if kind in ("tensor_type", "sparse_tensor_type"):
        t = getattr(ref.type, kind)
        assert got["type"]["elem_type"] == t.elem_type
        assert got["type"]["has_shape"] == t.HasField("shape")
        dims = []
        for d in t.shape.dim:
            which = d.WhichOneof("value")
            dims.append({"value": d.dim_value} if which == "dim_value"
                        else {"param": d.dim_param} if which == "dim_param" and d.dim_param else {})
        assert got["type"]["dims"] == dims, ref.name


def check_graph(ref, got, base_dir):
    assert got["name"] == ref.name
    assert len(got["node"]) == len(ref.node)
    for r, g in zip(ref.node, got["node"]):
        check_node(r, g, base_dir)
    assert len(got["initializer"]) == len(ref.initializer)
    for r, g in zip(ref.initializer, got["initializer"]):
        check_tensor(r, g, base_dir)
    assert got["sparse_initializer_count"] == len(ref.sparse_initializer)
    for key, field in (("input", ref.input), ("output", ref.output), ("value_info", ref.value_info)):
        assert len(got[key]) == len(field), key
        for r, g in zip(field, got[key]):
            check_value_info(r, g)


def check_model(ref, got, base_dir):
    assert got["ir_version"] == ref.ir_version
    assert got["producer_name"] == ref.producer_name
    assert got["producer_version"] == ref.producer_version
    assert got["domain"] == ref.domain
    assert got["model_version"] == ref.model_version
    assert got["doc_string"] == ref.doc_string
    assert got["opset_import"] == [{"domain": o.domain, "version": o.version} for o in ref.opset_import]
    assert got["metadata_props"] == [[p.key, p.value] for p in ref.metadata_props]
    check_graph(ref.graph, got["graph"], base_dir)
    assert len(got["functions"]) == len(ref.functions)
    for r, g in zip(ref.functions, got["functions"]):
        assert g["name"] == r.name and g["domain"] == r.domain and g["overload"] == r.overload
        assert g["input"] == list(r.input) and g["output"] == list(r.output)
        assert g["attribute"] == list(r.attribute)
        assert len(g["attribute_proto"]) == len(r.attribute_proto)
        for ra, ga in zip(r.attribute_proto, g["attribute_proto"]):
            check_attribute(ra, ga, base_dir)
        assert len(g["node"]) == len(r.node)
        for rn, gn in zip(r.node, g["node"]):
            check_node(rn, gn, base_dir)
        assert g["opset_import"] == [{"domain": o.domain, "version": o.version} for o in r.opset_import]


def roundtrip(model, tmp_path, **save_kwargs):
    path = save(model, tmp_path, **save_kwargs)
    ref = onnx.load(str(path), load_external_data=False)
    _, got = kiln_dump(path)
    check_model(ref, got, tmp_path)
    return ref, got


# ---- models -----------------------------------------------------------------

def random_array(rng, np_dtype, shape):
    if np_dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(np_dtype, np.integer):
        info = np.iinfo(np_dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=np_dtype)
    return rng.standard_normal(size=shape).astype(np.float32).astype(np_dtype)


DTYPES = [
    (np.float32, TensorProto.FLOAT), (np.float64, TensorProto.DOUBLE), (np.float16, TensorProto.FLOAT16),
    (ml_dtypes.bfloat16, TensorProto.BFLOAT16), (ml_dtypes.float8_e4m3fn, TensorProto.FLOAT8E4M3FN),
    (ml_dtypes.float8_e5m2, TensorProto.FLOAT8E5M2), (np.int8, TensorProto.INT8), (np.uint8, TensorProto.UINT8),
    (np.int32, TensorProto.INT32), (np.int64, TensorProto.INT64), (np.bool_, TensorProto.BOOL),
    (np.uint16, TensorProto.UINT16), (np.int16, TensorProto.INT16), (np.uint64, TensorProto.UINT64),
]


def initializers(rng):
    out = []
    for np_dtype, onnx_dtype in DTYPES:
        name = TensorProto.DataType.Name(onnx_dtype).lower()
        for shape in [(3, 5), (), (0, 4), (7,)]:
            arr = random_array(rng, np_dtype, shape)
            tag = "x".join(map(str, shape)) or "scalar"
            # raw_data, as numpy_helper writes it.
            out.append(numpy_helper.from_array(arr, f"{name}_raw_{tag}"))
            # Typed fields (float_data, int32_data with narrow types' bits, ...).
            vals = arr.astype(np.float32) if onnx_dtype in (TensorProto.BFLOAT16, TensorProto.FLOAT8E4M3FN,
                                                            TensorProto.FLOAT8E5M2) else arr
            out.append(helper.make_tensor(f"{name}_typed_{tag}", onnx_dtype, shape, vals.flatten(), raw=False))
    out.append(helper.make_tensor("strings", TensorProto.STRING, [2], [b"ab", b"c"]))
    return out


def test_initializers_of_every_dtype(tmp_path):
    rng = np.random.default_rng(1)
    inits = initializers(rng)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 5])
    node = helper.make_node("Add", ["x", "float_raw_3x5"], ["y"], name="add")
    graph = helper.make_graph([node], "inits", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], producer_name="crosscheck")
    model.metadata_props.add(key="author", value="kiln")
    _, got = roundtrip(model, tmp_path)
    by_name = {t["name"]: t for t in got["graph"]["initializer"]}
    assert by_name["float_raw_3x5"]["kiln"]["dtype"] == "float32"
    assert by_name["bfloat16_typed_7"]["kiln"]["dtype"] == "bfloat16"
    assert not by_name["strings"]["kiln"]["ok"]


def test_attributes_of_every_kind(tmp_path):
    rng = np.random.default_rng(2)
    sub_init = numpy_helper.from_array(rng.standard_normal((2, 2)).astype(np.float32), "sub_w")
    sub = helper.make_graph(
        [helper.make_node("Identity", ["sub_w"], ["sub_out"], name="inner")], "subgraph", [],
        [helper.make_tensor_value_info("sub_out", TensorProto.FLOAT, [2, 2])], initializer=[sub_init])
    other = helper.make_graph([helper.make_node("Constant", [], ["c"], value_int=3)], "other", [],
                              [helper.make_tensor_value_info("c", TensorProto.INT64, [])])
    t16 = numpy_helper.from_array(rng.standard_normal((4,)).astype(np.float16), "t16")
    t8 = numpy_helper.from_array(np.array([-3, 7], np.int8), "t8")
    sparse = helper.make_sparse_tensor(helper.make_tensor("v", TensorProto.FLOAT, [2], [1.0, 2.0]),
                                       helper.make_tensor("i", TensorProto.INT64, [2], [0, 3]), [5])
    custom = helper.make_node(
        "Custom", ["x"], ["y"], name="custom", domain="test.kiln",
        f=0.25, i=-12345678901, s=b"bytes\x00\xff", t=t16, g=sub, floats=[1.5, -0.0, float("inf")],
        ints=[0, -1, 2**62], strings=[b"a", b"", b"\xc3\xa9"], tensors=[t16, t8], graphs=[sub, other],
        sparse=sparse, tp=helper.make_tensor_type_proto(TensorProto.INT8, [1, "n"]),
        tps=[helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, None))])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    if_node = helper.make_node("If", ["cond"], ["z"], name="branch", then_branch=sub, else_branch=sub)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    graph = helper.make_graph([custom, if_node], "attrs", [x, cond],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2]),
                               helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19), helper.make_opsetid("test.kiln", 1)])
    _, got = roundtrip(model, tmp_path)
    attrs = {a["name"]: a for a in got["graph"]["node"][0]["attribute"]}
    assert attrs["g"]["g"]["initializer"][0]["name"] == "sub_w"
    assert attrs["graphs"]["graphs"][1]["node"][0]["op_type"] == "Constant"


def test_value_info_with_symbolic_dims(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["batch", 3, "seq", None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["batch", 3, "seq", None])
    scalar = helper.make_tensor_value_info("s", TensorProto.INT64, [])
    unranked = helper.make_tensor_value_info("u", TensorProto.BFLOAT16, None)
    seq = helper.make_tensor_sequence_value_info("seq_v", TensorProto.FLOAT, [2])
    opt = helper.make_value_info("opt_v", helper.make_optional_type_proto(
        helper.make_tensor_type_proto(TensorProto.FLOAT, [1])))
    nodes = [helper.make_node("Relu", ["x"], ["h"]), helper.make_node("Neg", ["h"], ["y"])]
    h = helper.make_tensor_value_info("h", TensorProto.FLOAT16, ["batch", 3, "seq", 8])
    graph = helper.make_graph(nodes, "shapes", [x, scalar, unranked], [y], value_info=[h, seq, opt])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    _, got = roundtrip(model, tmp_path)
    dims = got["graph"]["input"][0]["type"]["dims"]
    assert dims == [{"param": "batch"}, {"value": 3}, {"param": "seq"}, {}]
    assert got["graph"]["value_info"][1]["type"]["kind"] == "sequence"


def test_model_local_function(tmp_path):
    body = [
        helper.make_node("Constant", [], ["alpha_t"], value_float=1.0),
        helper.make_node("LeakyRelu", ["a"], ["t"], name="leaky"),
        helper.make_node("Mul", ["t", "alpha_t"], ["out"]),
    ]
    ref_attr = helper.make_attribute_ref("alpha", onnx.AttributeProto.FLOAT)
    body[1].attribute.append(ref_attr)
    fn = helper.make_function("local.fns", "ScaledLeaky", ["a"], ["out"], body,
                              [helper.make_opsetid("", 18)], attributes=["beta"],
                              attribute_protos=[helper.make_attribute("alpha", 0.1)])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    call = helper.make_node("ScaledLeaky", ["x"], ["y"], domain="local.fns", alpha=0.2)
    graph = helper.make_graph([call], "fn", [x], [y])
    model = helper.make_model(graph, functions=[fn], opset_imports=[
        helper.make_opsetid("", 18), helper.make_opsetid("local.fns", 1)])
    _, got = roundtrip(model, tmp_path)
    f = got["functions"][0]
    assert f["node"][1]["attribute"][0]["ref_attr_name"] == "alpha"
    assert f["attribute_proto"][0]["name"] == "alpha"


def test_external_data(tmp_path):
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(random_array(rng, d, (64, 33)), f"w_{i}")
             for i, d in enumerate([np.float32, np.float16, np.int8, np.int64, ml_dtypes.bfloat16])]
    inits.append(numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "small"))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 33])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 33])
    graph = helper.make_graph([helper.make_node("Add", ["x", "w_0"], ["y"])], "ext", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    ref, got = roundtrip(model, tmp_path, save_as_external_data=True, all_tensors_to_one_file=True,
                         location="weights.bin", size_threshold=1024)
    by_name = {t["name"]: t for t in got["graph"]["initializer"]}
    assert by_name["w_0"]["data_location"] == TensorProto.EXTERNAL
    assert by_name["small"]["data_location"] == TensorProto.DEFAULT  # below the threshold: stays inline
    assert (tmp_path / "weights.bin").exists()


def test_external_data_escaping_the_directory_is_refused(tmp_path):
    (tmp_path / "secret.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "link.bin").symlink_to(tmp_path / "secret.bin")
    for location, why in [("../secret.bin", "contains '..'"), (str(tmp_path / "secret.bin"), "absolute path"),
                          ("link.bin", "outside the model directory")]:
        t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
        t.data_location = TensorProto.EXTERNAL
        t.external_data.add(key="location", value=location)
        t.external_data.add(key="length", value="16")
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
        graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], initializer=[t])
        path = model_dir / "model.onnx"
        path.write_bytes(helper.make_model(graph).SerializeToString())
        _, got = kiln_dump(path)
        kiln = got["graph"]["initializer"][0]["kiln"]
        assert not kiln["ok"]
        assert why in kiln["error"], kiln["error"]


def test_corrupt_file_is_refused_with_its_name(tmp_path):
    rng = np.random.default_rng(4)
    inits = [numpy_helper.from_array(rng.standard_normal((8, 8)).astype(np.float32), "w")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 8])
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 8])], initializer=inits)
    data = helper.make_model(graph).SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    rc, got = kiln_dump(path, expect_ok=False)
    assert rc == 1
    assert str(path) in got["error"] and "exceeds" in got["error"], got["error"]
