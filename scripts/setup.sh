#!/usr/bin/env bash
# Prepares a machine to build and test Kiln, then builds it. Meant for a fresh
# Debian 12 with the CUDA 13 toolkit in /usr/local/cuda (a GPU is optional),
# run as root (or with sudo). Idempotent: each step checks before it acts, so a
# second run installs nothing and only lets ninja find nothing to do.
#   1. Debian packages that are missing (checked with dpkg -s)
#   2. the project virtualenv .venv with requirements-dev.txt (exact pins)
#   3. CMake + Ninja build in build/ (CUDA on when nvcc is found, -Werror)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*"; }

# --- 1. Debian packages ------------------------------------------------------
packages=(cmake ninja-build g++ clang libclang-rt-14-dev libgtest-dev libcli11-dev ccache)
python=python3
if ! command -v "$python" >/dev/null 2>&1; then
  packages+=(python3)
  python=/usr/bin/python3
fi
# Debian's python3 needs python3-venv for `python3 -m venv`; other Pythons
# (pyenv, conda) bring venv and ensurepip themselves.
if [ "$(command -v "$python" 2>/dev/null || echo /usr/bin/python3)" = /usr/bin/python3 ] ||
   ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  packages+=(python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup.sh: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  log "Debian packages: all present"
fi

# --- 2. Python virtualenv ----------------------------------------------------
# True when every pinned package is installed at its pinned version.
venv_matches_requirements() {
  .venv/bin/python - requirements-dev.txt <<'PY' >/dev/null 2>&1
import sys
from importlib import metadata
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, _, version = line.partition("==")
    if metadata.version(name) != version:
        sys.exit(1)
PY
}

if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$python" -m venv .venv
fi
if venv_matches_requirements; then
  log ".venv: requirements-dev.txt satisfied"
else
  log "installing requirements-dev.txt into .venv"
  .venv/bin/python -m pip install --disable-pip-version-check --no-input -r requirements-dev.txt
fi

# --- 3. Build ----------------------------------------------------------------
export PATH=/usr/local/cuda/bin:$PATH
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere
# on the same machine reuses earlier compilations.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
cuda=OFF
if command -v nvcc >/dev/null 2>&1; then cuda=ON; fi
log "configuring build/ (CUDA $cuda)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_CUDA="$cuda" -DKILN_WERROR=ON >/dev/null
log "building"
ninja -C build -j"$(nproc)"
log "setup done: build/tools/kiln/kiln"
