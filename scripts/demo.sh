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
# GPU ENGINE: where `kiln devices` finds a GPU, build an fp16 engine of the
# default model for it, benchmark it (trtexec's options and summary lines),
# save it, and run the saved engine once. Elsewhere (no GPU, or a kiln built
# without CUDA) run the CPU reference instead, and say so.
# ---------------------------------------------------------------------------
echo
devices=$("$kiln" devices)
mkdir -p out
if ! grep -q '^No CUDA devices' <<<"$devices"; then
  echo "== GPU found:"
  echo "$devices"
  engine=out/mobilenetv2.engine
  echo
  echo "== kiln bench --onnx=$model --fp16 --shapes=input:1x3x224x224 --saveEngine=$engine"
  "$kiln" bench --onnx="$model" --fp16 --shapes=input:1x3x224x224 --saveEngine="$engine"
  echo
  echo "== kiln run --engine $engine --output-dir out/"
  "$kiln" run --engine "$engine" --output-dir out/
else
  echo "== no GPU to build an engine for ($(grep '^No CUDA devices' <<<"$devices")):"
  echo "   falling back to the CPU reference"
  echo
  echo "== kiln run $model --output-dir out/"
  "$kiln" run "$model" --output-dir out/
fi
