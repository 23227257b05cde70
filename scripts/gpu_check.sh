#!/usr/bin/env bash
# Everything Kiln checks on the GPU machine, in one call (the device tool lends
# a machine for a limited time): build, CPU and GPU test suites, the ONNX
# node tests on CUDA, exports of ResNet-50 and BERT-base, CPU-reference and
# engine accuracy, and the benchmark against PyTorch. Logs go to
# $OUT/gpu_check.tgz (or ./out); a short summary is printed last.
#
# Usage: scripts/gpu_check.sh [stage ...]
#   stages: build unit gpu conformance models profile bench accuracy
#   models: exports ResNet-50 and BERT-base with both exporters (KILN_MODELS=bench:
#   only the two exports the benchmark runs); profile: `kiln bench --verbose
#   --dumpProfile` on ResNet-50 batch 1 and 32 and BERT batch 32 (build report,
#   memory, per-layer times), and torch.compile's top kernels on ResNet-50 batch 32
# Needs: the Debian packages in .carry/debs (CLI11 and GoogleTest headers),
# which scripts/carry_deps.sh downloads on the development machine.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Logs are written under $out (a scratch dir) and packed into one archive in $dest at the
# end (the device tool brings back only a few files per call).
dest=${OUT:-$root/out}
mkdir -p "$dest"
rm -f "$dest/summary.txt"
out=$(mktemp -d)
stages=${*:-build unit gpu conformance models profile bench accuracy}
summary=()
# Each summary line also goes straight to $dest/summary.txt, so a run cut
# short by the device's time limit still tells how far it got.
note() { summary+=("$1"); echo "== $1"; echo "$1" >>"$dest/summary.txt"; }
has() { [[ " $stages " == *" $1 "* ]]; }
# Pack the logs however the script ends, so a run stopped by `timeout` still returns them.
pack() { cp "$dest/summary.txt" "$out/summary.txt" 2>/dev/null; tar czf "$dest/gpu_check.tgz" -C "$out" .; }
trap pack EXIT
trap 'exit 143' TERM

export PATH=/usr/local/cuda/bin:$PATH
deps=/opt/kiln-deps
if [ -d .carry/debs ] && [ ! -d $deps ]; then
  for f in .carry/debs/*.deb; do dpkg -x "$f" $deps; done
fi
export CMAKE_PREFIX_PATH=$deps/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
py=$(command -v python3)
jobs=$(nproc)

if has build; then
  t0=$(date +%s)
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_CUDA=${KILN_CUDA:-ON} -DKILN_CUDA_ARCHITECTURES=90 \
    -DKILN_PYTHON="$py" >"$out/cmake.log" 2>&1 && ninja -C build-gpu -k 0 -j"$jobs" ${KILN_TARGETS:-} >"$out/build.log" 2>&1
  rc=$?
  note "build: rc=$rc in $(( $(date +%s) - t0 )) s"
  # Keep going: the targets that did build can still be tested.
  [ $rc -eq 0 ] || grep -E "error|FAILED" "$out/build.log" | head -20
fi
kiln=$root/build-gpu/tools/kiln/kiln
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$out/gpu.txt" 2>&1
note "gpu: $(cat "$out/gpu.txt")"

if has unit; then
  build-gpu/tests/kiln_unit_tests --gtest_brief=1 >"$out/unit.log" 2>&1
  note "unit tests: rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$out/unit.log" | tr '\n' ' ')"
fi
if has gpu; then
  build-gpu/tests/kiln_gpu_tests >"$out/gpu_tests.log" 2>&1
  note "gpu tests: rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$out/gpu_tests.log" | tr '\n' ' ')"
fi
models=/tmp/kiln-models
if has models; then
  # KILN_MODELS=bench exports only the two models the benchmark runs.
  if [ "${KILN_MODELS:-all}" = bench ]; then
    $py bench/export_models.py $models --batch 2 --models resnet50 --exporters ts >"$out/export.log" 2>&1 &&
      $py bench/export_models.py $models --batch 2 --models bert --exporters dynamo >>"$out/export.log" 2>&1
  else
    $py bench/export_models.py $models --batch 2 >"$out/export.log" 2>&1
  fi
  note "exports: rc=$? $(grep -c exported "$out/export.log") models; $(grep -c FAILED "$out/export.log") failed"
fi
if has profile; then
  for spec in "resnet50_ts input:1x3x224x224 resnet50_b1" "resnet50_ts input:32x3x224x224 resnet50_b32" \
    "bert_dynamo input_ids:32x128,attention_mask:32x128 bert_b32"; do
    set -- $spec
    timeout 120 "$kiln" bench --onnx=$models/$1.onnx --fp16 --shapes=$2 --duration=1 --warmUp=200 --noDataTransfers \
      --verbose --dumpProfile >"$out/profile_$3.txt" 2>&1
    note "profile $3: rc=$? $(grep -E 'build time|memory:|Latency' "$out/profile_$3.txt" | tr '\n' ' ' | cut -c1-400)"
  done
  # torch.compile's kernels on ResNet-50 batch 32, to set beside Kiln's layers.
  timeout 180 $py bench/torch_baseline.py --model resnet50 --batches 32 --compile --kernel-profile 40 \
    --json "$out/torch_profile.json" >"$out/profile_torch_resnet50_b32.txt" 2>&1
  note "profile torch.compile resnet50_b32: rc=$? $(grep 'kernel profile' "$out/profile_torch_resnet50_b32.txt")"
fi
if has conformance; then
  timeout 240 $py tests/conformance/run_conformance.py --build-dir build-gpu --device cuda --jobs "$jobs" \
    --docs "$out/conformance_cuda.md" >"$out/conformance_cuda.log" 2>&1
  note "conformance (cuda): rc=$? $(grep -E 'passed|supported' "$out/conformance_cuda.log" | head -3 | tr '\n' ' ')"
fi
if has bench && [ -f bench/benchmark.py ]; then
  # KILN_BENCH_ARGS: e.g. "--only bert --compile".
  $py bench/benchmark.py --kiln "$kiln" --models-dir $models --out "$out/bench" ${KILN_BENCH_ARGS:-} >"$out/bench.txt" 2>&1
  note "benchmark: rc=$?"
  cp "$out/bench/table.md" "$dest/table.md" 2>/dev/null
  tail -20 "$out/bench.txt"
fi
if has accuracy; then
  # KILN_ACCURACY=cuda skips the (slow) CPU-reference comparison.
  if [ "${KILN_ACCURACY:-all}" != cuda ]; then
    $py bench/compare_outputs.py $models "$kiln" --device cpu --log-dir /tmp/kiln-cpu-ref >"$out/accuracy_cpu.txt" 2>&1
    note "accuracy cpu reference: rc=$? $(tail -1 "$out/accuracy_cpu.txt")"
  fi
  for mode in "" "--fp16"; do
    $py bench/compare_outputs.py $models "$kiln" --device cuda $mode --log-dir /tmp/kiln-cuda$mode \
      >"$out/accuracy_cuda$mode.txt" 2>&1
    note "accuracy cuda $mode: rc=$? $(tail -1 "$out/accuracy_cuda$mode.txt")"
  done
fi

echo
echo "==== summary (logs: gpu_check.tgz) ===="
for s in "${summary[@]}"; do echo "$s"; done
