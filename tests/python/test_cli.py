"""The `kiln` command line, end to end: small models written with onnx.helper
into temporary directories, `kiln run` outputs compared with onnxruntime on
the same .npy inputs, `kiln inspect` reports, and the exit codes (0 success,
1 model or data error naming the file/node/tensor, 2 usage error). The GPU
commands (`build`, `run --device cuda`, `run --engine`, `bench`) are tested
for their usage errors and no-GPU failures everywhere, and end to end where
`kiln devices` finds a GPU (skipped, with the reason printed, elsewhere).

The binary is found under $KILN_BUILD_DIR (default: <repo>/build).
"""

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("KILN_BUILD_DIR", REPO / "build"))
KILN = BUILD_DIR / "tools" / "kiln" / "kiln"


@pytest.fixture(scope="session", autouse=True)
def kiln_binary():
    if not KILN.is_file():
        pytest.fail(f"{KILN} not found: build the `kiln` target (or set KILN_BUILD_DIR)")


def kiln(*args, timeout=600):
    return subprocess.run([str(KILN), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def save_model(graph, path, opset=17):
    model = helper.make_model(graph, producer_name="test_cli", opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def ort_run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


# --- models -------------------------------------------------------------------

@pytest.fixture
def conv_model(tmp_path):
    """Conv (with bias) -> Relu -> Add(const) -> Mul(second input)."""
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["r"], name="relu"),
         helper.make_node("Add", ["r", "k"], ["a"], name="add"),
         helper.make_node("Mul", ["a", "scale"], ["y"], name="mul")],
        "conv_model",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8]),
         helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1, 4, 1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        initializer=[init("w", rng.normal(size=(4, 3, 3, 3)).astype(np.float32)),
                     init("b", rng.normal(size=4).astype(np.float32)),
                     init("k", np.float32(0.5))])
    return save_model(graph, tmp_path / "conv.onnx")


@pytest.fixture
def dynamic_model(tmp_path):
    """x[batch,4] @ W[4,3] + b -> Softmax; the batch dim is symbolic."""
    rng = np.random.default_rng(1)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["m"], name="matmul"),
         helper.make_node("Add", ["m", "b"], ["s"], name="bias"),
         helper.make_node("Softmax", ["s"], ["probs"], name="softmax", axis=-1)],
        "dynamic_model",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 3])],
        initializer=[init("w", rng.normal(size=(4, 3)).astype(np.float32)),
                     init("b", rng.normal(size=3).astype(np.float32))])
    return save_model(graph, tmp_path / "dynamic.onnx")


@pytest.fixture
def gather_model(tmp_path):
    """An int64 input (indices) and outputs whose names are not file names."""
    table = np.arange(40, dtype=np.float32).reshape(10, 4)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["rows"], name="gather", axis=0),
         helper.make_node("Cast", ["ids"], ["ids_f"], name="cast", to=TensorProto.FLOAT),
         helper.make_node("Identity", ["rows"], ["out/rows:0"], name="id1"),
         helper.make_node("Identity", ["ids_f"], ["../ids"], name="id2")],
        "gather_model",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [5])],
        [helper.make_tensor_value_info("out/rows:0", TensorProto.FLOAT, [5, 4]),
         helper.make_tensor_value_info("../ids", TensorProto.FLOAT, [5])],
        initializer=[init("table", table)])
    return save_model(graph, tmp_path / "gather.onnx")


@pytest.fixture
def unsupported_model(tmp_path):
    """Two nodes Kiln cannot run: a custom-domain op and an ai.onnx op it lacks."""
    graph = helper.make_graph(
        [helper.make_node("Frobnicate", ["x"], ["f"], name="frob_node", domain="com.example"),
         helper.make_node("Det", ["f"], ["d"], name="det_node"),
         helper.make_node("Abs", ["d"], ["y"], name="abs_node")],
        "unsupported_model",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, producer_name="test_cli",
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    model.ir_version = 8
    path = tmp_path / "unsupported.onnx"
    onnx.save(model, str(path))
    return path


# --- run: outputs match onnxruntime -------------------------------------------

def test_run_matches_onnxruntime_with_npy_inputs(conv_model, tmp_path):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1, 3, 8, 8)).astype(np.float32)
    scale = rng.uniform(0.5, 2, size=(1, 4, 1, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "scale.npy", scale)
    out = tmp_path / "out"
    r = kiln("run", conv_model, "--input", f"x={tmp_path / 'x.npy'}", "--input", f"scale={tmp_path / 'scale.npy'}",
             "--output-dir", out)
    assert r.returncode == 0, r.stderr
    got = np.load(out / "y.npy")
    want = ort_run(conv_model, {"x": x, "scale": scale})["y"]
    assert got.dtype == np.float32 and got.shape == (1, 4, 8, 8)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert "y" in r.stdout and "float32[1,4,8,8]" in r.stdout
    assert "CPU reference" in r.stdout


def test_run_random_inputs_are_seeded(conv_model, tmp_path):
    outs = []
    for seed, name in [(3, "a"), (3, "b"), (4, "c")]:
        r = kiln("run", conv_model, "--seed", seed, "-o", tmp_path / name)
        assert r.returncode == 0, r.stderr
        assert "random (seed" in r.stdout
        outs.append(np.load(tmp_path / name / "y.npy"))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


def test_run_one_input_from_file_other_random(conv_model, tmp_path):
    np.save(tmp_path / "x.npy", np.ones((1, 3, 8, 8), np.float32))
    r = kiln("run", conv_model, "--input", f"x={tmp_path / 'x.npy'}")
    assert r.returncode == 0, r.stderr
    assert "x.npy" in r.stdout and "random" in r.stdout


def test_run_symbolic_dims_default_to_one_with_a_note(dynamic_model, tmp_path):
    r = kiln("run", dynamic_model, "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "note" in r.stderr and "--shapes=x:1x4" in r.stderr
    assert np.load(tmp_path / "probs.npy").shape == (1, 3)


def test_run_with_shapes(dynamic_model, tmp_path):
    r = kiln("run", dynamic_model, "--shapes=x:6x4", "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    probs = np.load(tmp_path / "probs.npy")
    assert probs.shape == (6, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_run_npy_dims_bind_symbolic_dims(dynamic_model, tmp_path):
    x = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = kiln("run", dynamic_model, "--input", f"x={tmp_path / 'x.npy'}", "-o", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(tmp_path / "o" / "probs.npy"), ort_run(dynamic_model, {"x": x})["probs"],
                               rtol=1e-5, atol=1e-6)


def test_run_integer_inputs_and_file_name_sanitizing(gather_model, tmp_path):
    ids = np.array([9, 0, 3, 3, 7], dtype=np.int64)
    np.save(tmp_path / "ids.npy", ids)
    out = tmp_path / "out"
    r = kiln("run", gather_model, "--input", f"ids={tmp_path / 'ids.npy'}", "-o", out)
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["_.._ids.npy", "out_rows_0.npy"], files
    want = ort_run(gather_model, {"ids": ids})
    np.testing.assert_array_equal(np.load(out / "out_rows_0.npy"), want["out/rows:0"])
    np.testing.assert_array_equal(np.load(out / "_.._ids.npy"), want["../ids"])
    # Random int64 inputs stay in [0, 10): valid indices for this table.
    assert kiln("run", gather_model).returncode == 0


def test_default_model_small_variant_matches_onnxruntime(tmp_path):
    path = tmp_path / "tiny_mobilenetv2.onnx"
    subprocess.run([sys.executable, str(REPO / "models" / "make_default_model.py"), "-o", str(path),
                    "--resolution", "32", "--width", "0.25", "--classes", "10"], check=True, capture_output=True)
    x = np.random.default_rng(5).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = kiln("run", path, "--input", f"input={tmp_path / 'x.npy'}", "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(tmp_path / "out" / "output.npy"), ort_run(path, {"input": x})["output"],
                               rtol=1e-4, atol=1e-6)


def test_default_model_script_is_deterministic(tmp_path):
    paths = [tmp_path / "a.onnx", tmp_path / "b.onnx"]
    for p in paths:
        subprocess.run([sys.executable, str(REPO / "models" / "make_default_model.py"), "-o", str(p), "--no-check",
                        "--resolution", "64", "--width", "0.5", "--classes", "20"], check=True, capture_output=True)
    assert paths[0].read_bytes() == paths[1].read_bytes()


# --- inspect -----------------------------------------------------------------

def test_inspect_reports_model_facts(conv_model):
    r = kiln("inspect", conv_model)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for text in ["test_cli", "IR version", "ai.onnx 17", "float32[1,3,8,8]", "float32[1,4,8,8]",
                 "Conv", "Relu", "Import      ok"]:
        assert text in out, text
    # 4*3*3*3 weights + 4 biases + 1 constant
    assert "113 (" in out


def test_inspect_histogram_is_sorted_by_count(tmp_path):
    nodes = [helper.make_node("Neg", ["x"], ["n0"], name="n0")]
    nodes += [helper.make_node("Abs", [f"n{i}"], [f"n{i + 1}"], name=f"a{i}") for i in range(3)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("n3", TensorProto.FLOAT, [2])])
    r = kiln("inspect", save_model(graph, tmp_path / "h.onnx"))
    assert r.returncode == 0, r.stderr
    lines = [line.split() for line in r.stdout.splitlines()]
    assert ["Abs", "3"] in lines and ["Neg", "1"] in lines
    assert lines.index(["Abs", "3"]) < lines.index(["Neg", "1"])


def test_inspect_symbolic_dims_and_shapes(dynamic_model):
    r = kiln("inspect", dynamic_model)
    assert r.returncode == 0, r.stderr
    assert "float32[batch,4]" in r.stdout
    r = kiln("inspect", dynamic_model, "--shapes=x:8x4")
    assert r.returncode == 0, r.stderr
    assert "-> float32[8,3]" in r.stdout


def test_inspect_dump_ir(conv_model):
    r = kiln("inspect", conv_model, "--dump-ir")
    assert r.returncode == 0, r.stderr
    assert "Conv(" in r.stdout and "%y" in r.stdout


def test_inspect_lists_every_unsupported_node(unsupported_model):
    r = kiln("inspect", unsupported_model)
    assert r.returncode == 1
    # The raw facts still print, then all unsupported nodes at once.
    assert "Frobnicate" in r.stdout and "Det" in r.stdout and "Abs" in r.stdout
    assert "Unsupported ops (2 nodes)" in r.stdout
    assert "frob_node" in r.stdout and "det_node" in r.stdout and "com.example" in r.stdout
    assert str(unsupported_model) in r.stderr and "frob_node" in r.stderr and "det_node" in r.stderr


# --- model and data errors: exit 1, message names the file -----------------------

def test_run_unsupported_op_names_file_and_nodes(unsupported_model):
    r = kiln("run", unsupported_model)
    assert r.returncode == 1
    assert str(unsupported_model) in r.stderr and "frob_node" in r.stderr and "det_node" in r.stderr


@pytest.mark.parametrize("command", ["inspect", "run"])
def test_missing_file(command, tmp_path):
    path = tmp_path / "nope.onnx"
    r = kiln(command, path)
    assert r.returncode == 1
    assert str(path) in r.stderr


@pytest.mark.parametrize("command", ["inspect", "run"])
def test_corrupt_files(command, conv_model, tmp_path):
    data = conv_model.read_bytes()
    rng = np.random.default_rng(3)
    cases = {
        "garbage.onnx": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "truncated.onnx": data[: len(data) // 2],
        "empty.onnx": b"",
        "text.onnx": b"this is not a model\n" * 10,
    }
    for name, blob in cases.items():
        path = tmp_path / name
        path.write_bytes(blob)
        r = kiln(command, path)
        assert r.returncode == 1, f"{name}: rc {r.returncode}\n{r.stdout}\n{r.stderr}"
        assert str(path) in r.stderr, f"{name}: {r.stderr}"


def test_run_bad_npy_files(conv_model, tmp_path):
    good_scale = tmp_path / "scale.npy"
    np.save(good_scale, np.ones((1, 4, 1, 1), np.float32))
    cases = {
        "wrong_dtype.npy": np.zeros((1, 3, 8, 8), np.float64),
        "wrong_shape.npy": np.zeros((1, 3, 8, 9), np.float32),
        "fortran.npy": np.asfortranarray(np.zeros((1, 3, 8, 8), np.float32).transpose(0, 1, 3, 2)),
    }
    for name, array in cases.items():
        np.save(tmp_path / name, array)
    (tmp_path / "truncated.npy").write_bytes((tmp_path / "wrong_shape.npy").read_bytes()[:100])
    (tmp_path / "not_npy.npy").write_bytes(b"hello")
    for name in [*cases, "truncated.npy", "not_npy.npy", "missing.npy"]:
        path = tmp_path / name
        r = kiln("run", conv_model, "--input", f"x={path}", "--input", f"scale={good_scale}")
        assert r.returncode == 1, f"{name}: rc {r.returncode}\n{r.stderr}"
        assert str(path) in r.stderr, f"{name}: {r.stderr}"
    r = kiln("run", conv_model, "--input", f"x={tmp_path / 'wrong_dtype.npy'}")
    assert "'x'" in r.stderr and "float32" in r.stderr


# --- usage errors: exit 2 --------------------------------------------------------

@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["--no-such-flag"],
    ["inspect"],
    ["run"],
    ["inspect", "m.onnx", "--no-such-flag"],
    ["run", "m.onnx", "--seed", "abc"],
    ["run", "m.onnx", "--device", "tpu"],
    ["run", "m.onnx", "--output-dir"],
    ["ops", "extra"],
])
def test_usage_errors(args):
    r = kiln(*args)
    assert r.returncode == 2, f"{args}: rc {r.returncode}\n{r.stderr}"
    assert "Usage" in r.stderr or "usage" in r.stderr.lower(), r.stderr


@pytest.mark.parametrize("spec", ["x", "x:", "x:1xx4", "x:-1x4", "x:1x4,", "x:1x4,x:2x4", "'x:1x4", "x:ax4", ":1x4"])
@pytest.mark.parametrize("command", ["inspect", "run"])
def test_shapes_grammar_errors(command, spec, dynamic_model):
    r = kiln(command, dynamic_model, f"--shapes={spec}")
    assert r.returncode == 2, f"{spec}: rc {r.returncode}\n{r.stderr}"
    assert "NAME:DxDx" in r.stderr  # the grammar is printed


def test_shapes_grammar_is_checked_before_the_file():
    r = kiln("run", "does_not_exist.onnx", "--shapes=bad")
    assert r.returncode == 2


@pytest.mark.parametrize("args", [
    ["--shapes=nosuch:1x4"],
    ["--shapes=x:1x4x1"],
    ["--input", "x"],
    ["--input", "nosuch=a.npy"],
    ["--input", "x="],
])
def test_arguments_that_do_not_fit_the_model(args, dynamic_model):
    r = kiln("run", dynamic_model, *args)
    assert r.returncode == 2, f"{args}: rc {r.returncode}\n{r.stderr}"


def test_shapes_conflicting_with_input_file(dynamic_model, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 4), np.float32))
    r = kiln("run", dynamic_model, "--shapes=x:3x4", "--input", f"x={tmp_path / 'x.npy'}")
    assert r.returncode == 2


def test_help_exits_zero():
    for args in [["--help"], ["run", "--help"], ["inspect", "--help"]]:
        r = kiln(*args)
        assert r.returncode == 0
        assert "Usage" in r.stdout


# --- version, devices, ops --------------------------------------------------------

def test_version_and_devices():
    r = kiln("version")
    assert r.returncode == 0 and r.stdout.startswith("kiln ")
    assert "CUDA" in r.stdout and "build type" in r.stdout
    assert kiln("--version").stdout == r.stdout
    r = kiln("devices")
    assert r.returncode == 0 and r.stdout.strip()


def test_device_cuda_is_accepted(conv_model):
    # With a GPU `--device cuda` runs; without one it fails with a message
    # (exit 1). It is never a usage error or a crash.
    r = kiln("run", conv_model, "--device", "cuda")
    if gpu_missing_reason():
        assert r.returncode == 1, r.stderr
        assert "cuda" in r.stderr.lower()
    else:
        assert r.returncode == 0, r.stderr
        assert "CUDA engine" in r.stdout


def test_ops_table():
    r = kiln("ops")
    assert r.returncode == 0
    assert "Conv" in r.stdout and "Family" in r.stdout
    r = kiln("ops", "--markdown")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].startswith("<!--")
    header = next(line for line in lines if line.startswith("| Op |"))
    rows = [line for line in lines if line.startswith("| ") and line != header]
    assert len(rows) > 1 and all(line.count("|") == header.count("|") for line in rows)
    assert any(line.startswith("| Conv |") for line in rows)


# --- GPU commands: usage errors and no-GPU failures (any machine) -----------------

@functools.lru_cache(maxsize=None)
def gpu_missing_reason():
    """Why the GPU tests cannot run here, or None where `kiln devices` lists a GPU."""
    r = kiln("devices")
    if r.returncode != 0:
        return f"`kiln devices` failed: {r.stderr.strip()}"
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("No CUDA devices")), None)
    return line


@pytest.fixture
def gpu(request, capsys):
    reason = gpu_missing_reason()
    if reason:
        # Printed past pytest's capture, so the reason shows under -q too.
        with capsys.disabled():
            print(f"\nSKIPPED {request.node.name}: {reason}")
        pytest.skip(reason)


BENCH_LATENCY = re.compile(
    r"^\[I\] Latency: min = ([0-9.]+) ms, max = ([0-9.]+) ms, mean = ([0-9.]+) ms, median = ([0-9.]+) ms, "
    r"percentile\(90%\) = ([0-9.]+) ms, percentile\(99%\) = ([0-9.]+) ms$", re.M)
BENCH_THROUGHPUT = re.compile(r"^\[I\] Throughput: ([0-9.]+) qps$", re.M)


@pytest.mark.parametrize("args", [
    [],
    ["m.onnx"],
    ["--noSuchFlag"],
    ["--onnx=m.onnx", "--batch=8"],
    ["--onnx=m.onnx", "--loadEngine=m.engine"],
    ["--loadEngine=m.engine", "--fp16"],
    ["--onnx=m.onnx", "--iterations=0"],
    ["--onnx=m.onnx", "--iterations=ten"],
    ["--onnx=m.onnx", "--warmUp=-5"],
    ["--onnx=m.onnx", "--infStreams=0"],
    ["--onnx=m.onnx", "--useCudaGraph", "--noCudaGraph"],
    ["--onnx=m.onnx", "--shapes=x"],
    ["--onnx=m.onnx", "--loadInputs=x"],
])
def test_bench_usage_errors(args):
    r = kiln("bench", *args)
    assert r.returncode == 2, f"{args}: rc {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert "Usage" in r.stderr or "--help" in r.stderr, r.stderr  # the usage, or a grammar and where to find it
    assert r.stdout.rstrip().splitlines()[-1].startswith("&&&& FAILED Kiln.bench # "), r.stdout


def test_bench_batch_points_to_shapes():
    r = kiln("bench", "--onnx=m.onnx", "--batch=8")
    assert r.returncode == 2 and "--shapes" in r.stderr


@pytest.mark.parametrize("args", [
    ["build"],
    ["build", "m.onnx"],
    ["build", "m.onnx", "-o", "m.engine", "--shapes=x"],
    ["build", "m.onnx", "-o", "m.engine", "--no-such-flag"],
    ["run", "--engine", "m.engine", "--device", "cpu"],
    ["run", "m.onnx", "--engine", "m.engine"],
    ["run", "m.onnx", "--fp16"],
])
def test_gpu_command_usage_errors(args):
    r = kiln(*args)
    assert r.returncode == 2, f"{args}: rc {r.returncode}\n{r.stderr}"
    assert "Usage" in r.stderr or "--help" in r.stderr, r.stderr


def test_gpu_commands_without_gpu(conv_model, tmp_path):
    if not gpu_missing_reason():
        pytest.skip("a GPU is present; the no-GPU messages cannot be seen here")
    r = kiln("bench", f"--onnx={conv_model}")
    assert r.returncode == 1, r.stdout + r.stderr
    text = (r.stdout + r.stderr).lower()
    assert "no cuda device" in text or "without the cuda backend" in text, text
    lines = r.stdout.rstrip().splitlines()
    assert lines[0].startswith("&&&& RUNNING Kiln.bench # ")
    assert "[I] === Model Options ===" in r.stdout and "[I] === System Options ===" in r.stdout
    assert lines[-1].startswith("&&&& FAILED Kiln.bench # ") and f"--onnx={conv_model}" in lines[-1]
    assert any(line.startswith("[E] ") for line in lines)
    r = kiln("build", conv_model, "-o", tmp_path / "conv.engine")
    assert r.returncode == 1 and "cuda" in r.stderr.lower(), r.stderr
    assert not (tmp_path / "conv.engine").exists()
    r = kiln("run", "--engine", tmp_path / "conv.engine")
    assert r.returncode == 1 and "cuda" in r.stderr.lower(), r.stderr


# --- GPU commands end to end (skipped without a GPU) -------------------------------

def rel_l2(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30)


def test_gpu_build_run_and_engine_round_trip(gpu, conv_model, tmp_path):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(1, 3, 8, 8)).astype(np.float32)
    scale = rng.uniform(0.5, 2, size=(1, 4, 1, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "scale.npy", scale)
    feeds = ["--input", f"x={tmp_path / 'x.npy'}", "--input", f"scale={tmp_path / 'scale.npy'}"]
    r = kiln("run", conv_model, *feeds, "-o", tmp_path / "cpu")
    assert r.returncode == 0, r.stderr
    reference = np.load(tmp_path / "cpu" / "y.npy")

    engine = tmp_path / "conv.engine"
    r = kiln("build", conv_model, "-o", engine)
    assert r.returncode == 0, r.stdout + r.stderr
    for text in ["cuDNN", "cuBLAS", "CUDA runtime", "layers:", "memory:", "arena", "build: "]:
        assert text in r.stdout, text
    assert engine.is_file() and engine.stat().st_size > 0

    # fp32 on the GPU (TF32 convolutions allowed), the same file names as the CPU path.
    r = kiln("run", conv_model, "--device", "cuda", *feeds, "-o", tmp_path / "cuda")
    assert r.returncode == 0, r.stderr
    assert "CUDA engine" in r.stdout and "y  float32[1,4,8,8]" in r.stdout
    assert sorted(p.name for p in (tmp_path / "cuda").iterdir()) == ["y.npy"]
    assert rel_l2(np.load(tmp_path / "cuda" / "y.npy"), reference) < 2e-3

    r = kiln("run", "--engine", engine, *feeds, "-o", tmp_path / "engine")
    assert r.returncode == 0, r.stderr
    assert rel_l2(np.load(tmp_path / "engine" / "y.npy"), reference) < 2e-3

    r = kiln("run", conv_model, "--device", "cuda", "--fp16", *feeds, "-o", tmp_path / "fp16")
    assert r.returncode == 0, r.stderr
    assert rel_l2(np.load(tmp_path / "fp16" / "y.npy"), reference) < 2e-2

    # Random inputs are seeded by position: the engine gets the CPU run's data.
    assert kiln("run", conv_model, "--seed", 5, "-o", tmp_path / "r_cpu").returncode == 0
    assert kiln("run", "--engine", engine, "--seed", 5, "-o", tmp_path / "r_gpu").returncode == 0
    assert rel_l2(np.load(tmp_path / "r_gpu" / "y.npy"), np.load(tmp_path / "r_cpu" / "y.npy")) < 2e-3


def test_gpu_engine_checks_inputs(gpu, dynamic_model, tmp_path):
    engine = tmp_path / "dyn.engine"
    r = kiln("build", dynamic_model, "-o", engine, "--shapes=x:4x4", "--no-tune")
    assert r.returncode == 0, r.stdout + r.stderr
    x = np.random.default_rng(3).normal(size=(4, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = kiln("run", "--engine", engine, "--input", f"x={tmp_path / 'x.npy'}", "-o", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(tmp_path / "o" / "probs.npy"), ort_run(dynamic_model, {"x": x})["probs"],
                               rtol=2e-3, atol=1e-4)
    np.save(tmp_path / "bad.npy", np.zeros((2, 4), np.float32))
    r = kiln("run", "--engine", engine, "--input", f"x={tmp_path / 'bad.npy'}")
    assert r.returncode == 1 and str(tmp_path / "bad.npy") in r.stderr and "'x'" in r.stderr, r.stderr
    r = kiln("run", "--engine", engine, "--shapes=x:2x4")
    assert r.returncode == 2, r.stderr
    (tmp_path / "broken.engine").write_bytes(engine.read_bytes()[:100])
    r = kiln("run", "--engine", tmp_path / "broken.engine")
    assert r.returncode == 1 and str(tmp_path / "broken.engine") in r.stderr, r.stderr


def test_gpu_bench_streams_and_exports(gpu, conv_model, tmp_path):
    times, profile, layers = tmp_path / "times.json", tmp_path / "profile.json", tmp_path / "layers.json"
    r = kiln("bench", f"--onnx={conv_model}", "--infStreams=2", "--warmUp=20", "--duration=0.2", "--iterations=20",
             "--dumpProfile", f"--exportTimes={times}", f"--exportProfile={profile}", f"--exportLayerInfo={layers}",
             f"--saveEngine={tmp_path / 'conv.engine'}")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert out.rstrip().splitlines()[-1].startswith("&&&& PASSED Kiln.bench # ")
    for text in ["[I] === Device Information ===", "[I] Libraries: ", "[I] Inference Streams: 2",
                 "[I] GPU Compute Time: ", "[I] H2D Latency: ", "[I] D2H Latency: ", "Time(%)"]:
        assert text in out, text
    qps = float(BENCH_THROUGHPUT.search(out).group(1))
    latency = [float(v) for v in BENCH_LATENCY.search(out).groups()]
    assert qps > 0 and 0 < latency[0] <= latency[3] <= latency[5] <= latency[1]

    summary = json.loads(times.read_text())["summary"]
    assert summary["streams"] == 2 and summary["iterations"] >= 40
    assert summary["throughputQps"] == pytest.approx(qps, rel=1e-3, abs=0.01)
    assert summary["latencyMs"]["median"] == pytest.approx(latency[3], abs=1e-4)
    assert len(json.loads(times.read_text())["iterations"]) == summary["iterations"]
    prof = json.loads(profile.read_text())
    assert prof[0]["count"] >= 1 and all("kernel" in row for row in prof[1:])
    info = json.loads(layers.read_text())
    assert info["Bindings"] == ["x", "scale", "y"] and all(layer["Kernel"] for layer in info["Layers"])

    # The saved engine, eager enqueue, no copies, inputs from a file.
    np.save(tmp_path / "x.npy", np.ones((1, 3, 8, 8), np.float32))
    r = kiln("bench", f"--loadEngine={tmp_path / 'conv.engine'}", "--noCudaGraph", "--noDataTransfers",
             f"--loadInputs=x:{tmp_path / 'x.npy'}", "--duration=0.1", "--warmUp=0")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[I] CUDA Graph: Disabled" in r.stdout and "H2D Latency" not in r.stdout
    assert BENCH_THROUGHPUT.search(r.stdout)
    r = kiln("bench", f"--loadEngine={tmp_path / 'missing.engine'}")
    assert r.returncode == 1 and str(tmp_path / "missing.engine") in r.stderr
    assert "&&&& FAILED Kiln.bench" in r.stdout
