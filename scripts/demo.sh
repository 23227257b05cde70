#!/usr/bin/env bash
# The README's first command: sets up and builds Kiln (scripts/setup.sh),
# generates the default model (a MobileNetV2-shaped network) if it is missing,
# inspects it and runs it once, writing the outputs to out/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

model=models/mobilenetv2.onnx
kiln=build/tools/kiln/kiln
if [ ! -f "$model" ]; then
  echo "== generating $model"
  .venv/bin/python models/make_default_model.py --output "$model"
fi

echo
echo "== kiln version"
"$kiln" version
echo
echo "== kiln inspect $model"
"$kiln" inspect "$model"

# ---------------------------------------------------------------------------
# GPU ENGINE: once `kiln build` and `kiln bench` exist, this is where the demo
# builds an engine for the GPU found and benchmarks it against the CPU
# reference (and PyTorch where installed). Until then, and on machines
# without a GPU, the demo runs the CPU reference.
# ---------------------------------------------------------------------------
echo
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "== GPU found ($(nvidia-smi -L | head -n 1)), but the GPU engine is not built yet:"
  echo "   falling back to the CPU reference"
else
  echo "== no GPU found: running the CPU reference"
fi

echo
echo "== kiln run $model --output-dir out/"
"$kiln" run "$model" --output-dir out/
