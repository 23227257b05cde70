#!/usr/bin/env python3
"""Builds Kiln's default demo model: a MobileNetV2-shaped network.

The layers are those of torchvision's MobileNetV2 (inverted residual blocks
with depthwise convolutions, BatchNormalization, Clip(0, 6) as ReLU6, residual
Add, GlobalAveragePool, Flatten, Gemm, Softmax), unfused as a training-style
export would write them, at opset 17. The weights are random but seeded, so
every run writes the same bytes: the model exercises the importer and the
kernels without downloading anything.

    python models/make_default_model.py                      # models/mobilenetv2.onnx, ~14 MB
    python models/make_default_model.py --resolution 32 --width 0.25 --classes 10 -o tiny.onnx

The written model is checked with onnx.checker and run once with onnxruntime.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17

# torchvision's MobileNetV2 settings: expansion t, output channels c, repeats n, first stride s.
INVERTED_RESIDUAL_SETTING = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def make_divisible(v, divisor=8):
    """Channel rounding of the reference implementation (at most 10% down)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.initializers = []

    def weight(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def conv_bn(self, x, name, cin, cout, kernel, stride, groups, relu6):
        """Conv (no bias) -> BatchNormalization [-> Clip(0, 6)]."""
        fan_in = cin // groups * kernel * kernel
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(cout, cin // groups, kernel, kernel))
        pad = kernel // 2
        conv_out = f"{name}/conv"
        self.nodes.append(helper.make_node(
            "Conv", [x, self.weight(f"{name}.weight", w)], [conv_out], name=f"{name}/Conv",
            kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4, group=groups))
        bn_out = f"{name}/bn"
        self.nodes.append(helper.make_node(
            "BatchNormalization",
            [conv_out,
             self.weight(f"{name}.bn.scale", self.rng.uniform(0.8, 1.2, cout)),
             self.weight(f"{name}.bn.bias", self.rng.normal(0.0, 0.1, cout)),
             self.weight(f"{name}.bn.mean", self.rng.normal(0.0, 0.1, cout)),
             self.weight(f"{name}.bn.var", self.rng.uniform(0.5, 1.5, cout))],
            [bn_out], name=f"{name}/BatchNormalization", epsilon=1e-5))
        if not relu6:
            return bn_out
        out = f"{name}/relu6"
        self.nodes.append(helper.make_node("Clip", [bn_out, "clip_min", "clip_max"], [out], name=f"{name}/Clip"))
        return out

    def inverted_residual(self, x, name, cin, cout, stride, expand):
        hidden = int(round(cin * expand))
        h = x
        if expand != 1:
            h = self.conv_bn(h, f"{name}.expand", cin, hidden, 1, 1, 1, relu6=True)
        h = self.conv_bn(h, f"{name}.depthwise", hidden, hidden, 3, stride, hidden, relu6=True)
        h = self.conv_bn(h, f"{name}.project", hidden, cout, 1, 1, 1, relu6=False)
        if stride == 1 and cin == cout:
            out = f"{name}/add"
            self.nodes.append(helper.make_node("Add", [x, h], [out], name=f"{name}/Add"))
            return out
        return h


def build_model(resolution=224, width=1.0, classes=1000, seed=0):
    b = Builder(seed)
    b.weight("clip_min", np.array(0.0))
    b.weight("clip_max", np.array(6.0))

    cin = make_divisible(32 * width)
    last = make_divisible(1280 * max(1.0, width))
    x = b.conv_bn("input", "features.0", 3, cin, 3, 2, 1, relu6=True)
    index = 1
    for t, c, n, s in INVERTED_RESIDUAL_SETTING:
        cout = make_divisible(c * width)
        for i in range(n):
            x = b.inverted_residual(x, f"features.{index}", cin, cout, s if i == 0 else 1, t)
            cin = cout
            index += 1
    x = b.conv_bn(x, f"features.{index}", cin, last, 1, 1, 1, relu6=True)

    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="classifier/GlobalAveragePool"))
    b.nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="classifier/Flatten", axis=1))
    fc_w = b.weight("classifier.weight", b.rng.normal(0.0, 0.01, size=(classes, last)))
    fc_b = b.weight("classifier.bias", np.zeros(classes))
    b.nodes.append(helper.make_node("Gemm", ["flat", fc_w, fc_b], ["logits"], name="classifier/Gemm", transB=1))
    b.nodes.append(helper.make_node("Softmax", ["logits"], ["output"], name="classifier/Softmax", axis=1))

    graph = helper.make_graph(
        b.nodes, "mobilenetv2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, resolution, resolution])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, classes])],
        initializer=b.initializers)
    model = helper.make_model(graph, producer_name="kiln make_default_model.py", producer_version="1",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.doc_string = (f"MobileNetV2-shaped network with seeded random weights "
                        f"(resolution {resolution}, width {width}, {classes} classes, seed {seed})")
    return model


def check_model(path, resolution, classes):
    """onnx.checker, then one onnxruntime inference whose rows must sum to 1."""
    onnx.checker.check_model(path, full_check=True)
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, resolution, resolution)).astype(np.float32)
    (y,) = session.run(None, {"input": x})
    if y.shape != (1, classes) or not np.isfinite(y).all() or abs(float(y.sum()) - 1.0) > 1e-3:
        raise RuntimeError(f"onnxruntime gave an unexpected output: shape {y.shape}, sum {y.sum()}")


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default=os.path.join(here, "mobilenetv2.onnx"))
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--width", type=float, default=1.0, help="width multiplier")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-check", action="store_true", help="skip onnx.checker and the onnxruntime run")
    args = parser.parse_args(argv)
    if args.resolution < 32 or args.resolution % 32:
        parser.error("--resolution must be a multiple of 32 (five stride-2 stages)")

    model = build_model(args.resolution, args.width, args.classes, args.seed)
    # Written beside the target, then renamed: a reader never sees half a file.
    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".onnx.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        if not args.no_check:
            check_model(tmp, args.resolution, args.classes)
        os.replace(tmp, args.output)
    except BaseException:
        os.unlink(tmp)
        raise
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"wrote {args.output}: {len(model.graph.node)} nodes, {params:,} parameters, "
          f"{os.path.getsize(args.output) / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
