"""ONNX backend node tests on Kiln's CPU reference and CUDA engines
(tests/conformance/run_conformance.py).

Uses the build directory in $KILN_BUILD_DIR (set by ctest). Set
KILN_UPDATE_CONFORMANCE_DOCS=1 to also rewrite docs/conformance.md.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "tests", "conformance", "run_conformance.py")
BUILD_DIR = os.environ.get("KILN_BUILD_DIR") or os.path.join(REPO, "build")
TOOL = os.path.join(BUILD_DIR, "tools", "kiln_conformance", "kiln_conformance")


def tools_disabled() -> bool:
    cache = os.path.join(BUILD_DIR, "CMakeCache.txt")
    if not os.path.exists(cache):
        return False
    with open(cache) as f:
        return any(line.strip() == "KILN_TOOLS:BOOL=OFF" for line in f)


def test_onnx_node_conformance():
    if tools_disabled():
        pytest.skip("KILN_TOOLS=OFF in this build: kiln_conformance is not built")
    assert os.path.isfile(TOOL), f"{TOOL} is missing: build the kiln_conformance target"
    cmd = [sys.executable, SCRIPT, "--build-dir", BUILD_DIR]
    if os.environ.get("KILN_UPDATE_CONFORMANCE_DOCS") != "1":
        cmd.append("--no-docs")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # The table and the failing cases are the useful part of a failure.
    print(proc.stdout)
    assert proc.returncode == 0, "ONNX conformance failed:\n" + proc.stdout[-20000:]


def test_cuda_node_conformance():
    """The same suite on CUDA engines; where no GPU can run them, the tool's
    refusal must say why, and the test skips with that reason."""
    if tools_disabled():
        pytest.skip("KILN_TOOLS=OFF in this build: kiln_conformance is not built")
    cmd = [sys.executable, SCRIPT, "--build-dir", BUILD_DIR, "--device", "cuda"]
    if os.environ.get("KILN_UPDATE_CONFORMANCE_DOCS") != "1":
        cmd.append("--no-docs")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout)
    refusal = [line for line in proc.stdout.splitlines() if line.startswith("kiln_conformance: --device cuda:")]
    if proc.returncode != 0 and refusal:
        assert "CUDA" in refusal[0] or "GPU" in refusal[0], refusal[0]
        pytest.skip(refusal[0])
    assert proc.returncode == 0, "ONNX conformance on CUDA failed:\n" + proc.stdout[-20000:]


@pytest.mark.parametrize("skip_file", ["skips.txt", "skips_cuda.txt"])
def test_skip_file_is_well_formed(skip_file):
    sys.path.insert(0, os.path.join(REPO, "tests", "conformance"))
    import run_conformance

    skips, problems = run_conformance.parse_skips(os.path.join(REPO, "tests", "conformance", skip_file))
    assert not problems, "\n".join(problems)
    for name, reason in skips.items():
        assert name.startswith("test_") and reason, name
