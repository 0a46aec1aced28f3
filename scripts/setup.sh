#!/usr/bin/env bash
# Installs what distill needs from Debian and builds it into build/ (Release).
#   bash scripts/setup.sh              toolkit only
#   bash scripts/setup.sh --test-deps  also what the test suite uses (h5py for bad-file fixtures, GNU time,
#                                      OpenMPI for the data-parallel tests, clang and libFuzzer for
#                                      scripts/fuzz.sh, and the Python runtimes that check exported models)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

packages=(build-essential cmake pkg-config libopenblas-dev libhdf5-dev libgsl-dev libomp-dev)
if [ "${1:-}" = "--test-deps" ]; then
  packages+=(python3-h5py python3-numpy time libopenmpi-dev openmpi-bin clang libclang-rt-dev)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--test-deps" ] && [ -f tests/quant/export/requirements.txt ]; then
  # The export checks run the `python3` on PATH; a Debian system Python needs --break-system-packages.
  python3 -m pip install -q -r tests/quant/export/requirements.txt ||
    python3 -m pip install -q --break-system-packages -r tests/quant/export/requirements.txt
  # Qualcomm's HTP simulator: wheels for some Pythons only, so its absence is a skip, not a failure.
  python3 -m pip install -q -r tests/quant/export/requirements-qnn.txt ||
    python3 -m pip install -q --break-system-packages -r tests/quant/export/requirements-qnn.txt ||
    echo "setup: onnxruntime-qnn cannot be installed here; tests/cli/test_export_qnn.sh will be skipped"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "setup: built build/distill"
