#!/usr/bin/env bash
# The README's second command: installs what is missing, builds Kiln (the
# regular build and a clang ASan+UBSan+libFuzzer build), and runs the whole
# test suite through ctest: C++ unit and op tests, the same tests under the
# sanitizers, bounded fuzz runs, the Python suites (reader cross-check against
# the onnx package, CLI, ONNX node-test conformance). GPU tests skip with a
# printed reason where no GPU is present. Ends with ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/setup.sh
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1

jobs=$(nproc)
echo "== sanitizer + fuzz build (clang, ASan + UBSan) =="
cmake -S . -B build-sanitize -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_CUDA=OFF -DKILN_SANITIZE=ON -DKILN_FUZZ=ON -DKILN_TOOLS=OFF >/dev/null
ninja -C build-sanitize -j"$jobs"

cmake build -DKILN_SANITIZE_BUILD_DIR="$root/build-sanitize" >/dev/null
echo "== tests =="
ctest --test-dir build --output-on-failure -j"$jobs"
