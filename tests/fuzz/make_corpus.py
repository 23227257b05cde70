"""Writes the seed corpus of fuzz_onnx_reader: small valid ONNX models that
between them use every part of the format the reader handles (raw and typed
initializers of each dtype, attributes of every kind with subgraphs,
symbolic shapes, non-tensor types, a local function, external-data
references, metadata). Deterministic; the outputs are committed.

    .venv/bin/python tests/fuzz/make_corpus.py   # writes tests/fuzz/corpus/onnx_reader/
"""

import pathlib

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "onnx_reader"


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def model(graph, opset=19, **kwargs):
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)] + kwargs.pop("extra_opsets", []),
                             producer_name="kiln-corpus", **kwargs)


def add_model(rng):
    w = numpy_helper.from_array(rng.standard_normal((2, 3)).astype(np.float32), "w")
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")], "add",
                          [vi("x", TensorProto.FLOAT, [2, 3])], [vi("y", TensorProto.FLOAT, [2, 3])], [w])
    return model(g)


def dtypes_model(rng):
    inits = []
    for np_dtype, onnx_dtype in [(np.float16, TensorProto.FLOAT16), (ml_dtypes.bfloat16, TensorProto.BFLOAT16),
                                 (np.int8, TensorProto.INT8), (np.uint8, TensorProto.UINT8),
                                 (np.bool_, TensorProto.BOOL), (np.int64, TensorProto.INT64),
                                 (np.int32, TensorProto.INT32), (np.float64, TensorProto.DOUBLE),
                                 (ml_dtypes.float8_e4m3fn, TensorProto.FLOAT8E4M3FN),
                                 (ml_dtypes.float8_e5m2, TensorProto.FLOAT8E5M2)]:
        arr = (rng.standard_normal(5) * 3).astype(np.float32)
        arr = (arr > 0) if np_dtype == np.bool_ else arr.astype(np_dtype)
        name = TensorProto.DataType.Name(onnx_dtype).lower()
        inits.append(numpy_helper.from_array(arr, f"{name}_raw"))
        vals = arr.astype(np.float32) if onnx_dtype in (TensorProto.BFLOAT16, TensorProto.FLOAT8E4M3FN,
                                                        TensorProto.FLOAT8E5M2) else arr
        inits.append(helper.make_tensor(f"{name}_typed", onnx_dtype, [5], vals, raw=False))
    inits.append(helper.make_tensor("scalar", TensorProto.FLOAT, [], [1.5]))
    inits.append(helper.make_tensor("empty", TensorProto.FLOAT, [0, 3], []))
    inits.append(helper.make_tensor("text", TensorProto.STRING, [2], [b"a", b"bc"]))
    g = helper.make_graph([helper.make_node("Identity", ["scalar"], ["y"])], "dtypes", [],
                          [vi("y", TensorProto.FLOAT, [])], inits)
    return model(g)


def attributes_model(rng):
    sub = helper.make_graph([helper.make_node("Identity", ["s"], ["o"])], "sub", [],
                            [vi("o", TensorProto.FLOAT, [1])],
                            [numpy_helper.from_array(np.array([2.0], np.float32), "s")])
    t = numpy_helper.from_array(rng.standard_normal(3).astype(np.float16), "t")
    sparse = helper.make_sparse_tensor(helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]),
                                       helper.make_tensor("i", TensorProto.INT64, [1], [2]), [4])
    custom = helper.make_node("Custom", ["x"], ["y"], domain="test.kiln", f=0.5, i=-7, s=b"str", t=t, g=sub,
                              floats=[1.0, 2.0], ints=[1, -2, 3], strings=[b"a", b"b"], tensors=[t], graphs=[sub],
                              sp=sparse, tp=helper.make_tensor_type_proto(TensorProto.INT8, ["n", 2]))
    branch = helper.make_node("If", ["c"], ["z"], then_branch=sub, else_branch=sub)
    g = helper.make_graph([custom, branch], "attrs", [vi("x", TensorProto.FLOAT, [1]), vi("c", TensorProto.BOOL, [])],
                          [vi("y", TensorProto.FLOAT, [1]), vi("z", TensorProto.FLOAT, [1])])
    return model(g, extra_opsets=[helper.make_opsetid("test.kiln", 1)])


def shapes_model(_rng):
    seq = helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, [2])
    opt = helper.make_value_info("opt", helper.make_optional_type_proto(helper.make_tensor_type_proto(1, [1])))
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["h"]), helper.make_node("Neg", ["h"], ["y"])], "shapes",
                          [vi("x", TensorProto.FLOAT16, ["batch", 3, None])],
                          [vi("y", TensorProto.FLOAT16, ["batch", 3, None])],
                          value_info=[vi("h", TensorProto.FLOAT16, ["batch", 3, "w"]), vi("u", TensorProto.FLOAT, None), seq, opt])
    m = model(g, opset=17)
    m.metadata_props.add(key="k", value="v")
    return m


def function_model(_rng):
    leaky = helper.make_node("LeakyRelu", ["a"], ["out"])
    leaky.attribute.append(helper.make_attribute_ref("alpha", onnx.AttributeProto.FLOAT))
    fn = helper.make_function("local", "Leaky", ["a"], ["out"], [leaky], [helper.make_opsetid("", 18)],
                              attribute_protos=[helper.make_attribute("alpha", 0.1)])
    g = helper.make_graph([helper.make_node("Leaky", ["x"], ["y"], domain="local", alpha=0.3)], "fn",
                          [vi("x", TensorProto.FLOAT, [4])], [vi("y", TensorProto.FLOAT, [4])])
    return model(g, opset=18, functions=[fn], extra_opsets=[helper.make_opsetid("local", 1)])


def external_model(rng):
    w = numpy_helper.from_array(rng.standard_normal((4, 4)).astype(np.float32), "w")
    onnx.external_data_helper.set_external_data(w, location="weights.bin", offset=0, length=64)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "ext",
                          [vi("x", TensorProto.FLOAT, [1, 4])], [vi("y", TensorProto.FLOAT, [1, 4])], [w])
    return model(g)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for make in (add_model, dtypes_model, attributes_model, shapes_model, function_model, external_model):
        data = make(rng).SerializeToString()
        path = OUT / f"{make.__name__}.onnx"
        path.write_bytes(data)
        print(f"{path.relative_to(OUT.parent.parent.parent.parent)}: {len(data)} bytes")


if __name__ == "__main__":
    main()
