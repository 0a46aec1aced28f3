#!/usr/bin/env bash
# Every bad input of SPEC.md -- teacher files, configs, flags -- is refused before training: exit status 1 (never
# a crash), a message naming what is wrong (file, dataset, first offending row; config file:line), and no run
# folder left behind (neither --out DIR nor the default runs/<name>).
#   bash test_bad_inputs.sh /path/to/distill /path/to/source
set -uo pipefail
DISTILL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
PY=/usr/bin/python3
if ! "$PY" -c "import h5py, numpy" 2>/dev/null; then
  echo "SKIP: the bad teacher files are written with Debian's python3-h5py, which is not installed"
  exit 77
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/cwd" # the working directory of every run: a default runs/<name> would appear here
cd "$WORK/cwd" || exit 1
failures=0
n_cases=0

# One good teacher and every bad one. Rows are 0-based, as distill reports them.
"$PY" - "$WORK" <<'EOF' || { echo "FAIL: could not write the teacher fixtures" >&2; exit 1; }
import os, sys
import h5py, numpy as np

w = sys.argv[1]
N, L, V, C, D = 64, 8, 100, 4, 8
rng = np.random.default_rng(3)

def data(n=N):
    ids = rng.integers(1, V, size=(n, L)).astype(np.int32)
    return dict(input_ids=ids, logits=rng.standard_normal((n, C)).astype(np.float32),
                embeddings=rng.standard_normal((n, D)).astype(np.float32))

def write(name, d, vocab_size=V):
    with h5py.File(os.path.join(w, name), "w") as f:
        f.attrs["vocab_size"] = vocab_size
        f.attrs["teacher"] = "bad-input fixture"
        for k, v in d.items():
            f.create_dataset(k, data=v)

write("good.h5", data())
with open(os.path.join(w, "not_hdf5.h5"), "w") as f:
    f.write("input_ids,logits\n1 2 3,0.5\n")
# Truncated: a big contiguous file cut to 60 %: the superblock is intact, the data is not.
write("truncated.h5", data(4000))
size = os.path.getsize(os.path.join(w, "truncated.h5"))
os.truncate(os.path.join(w, "truncated.h5"), int(size * 0.6))
d = data(); del d["input_ids"]; write("no_input_ids.h5", d)
d = data(); del d["logits"]; del d["embeddings"]; write("no_targets.h5", d)
d = data(); d["input_ids"] = d["input_ids"].astype(np.float32); write("ids_float.h5", d)
d = data(); d["logits"] = d["logits"].astype(np.int32); write("logits_int.h5", d)
d = data(); d["embeddings"] = d["embeddings"][: N - 3]; write("rows_disagree.h5", d)
d = data(); d["input_ids"][17, 5] = V; write("id_out_of_range.h5", d)
d = data(); d["input_ids"][19, 0] = -4; write("id_negative.h5", d)
d = data(); d["logits"][23, 2] = np.nan; write("nan_logits.h5", d)
d = data(); d["embeddings"][31, 6] = np.inf; write("inf_embeddings.h5", d)
write("zero_rows.h5", dict(input_ids=np.zeros((0, L), np.int32), logits=np.zeros((0, C), np.float32)))
EOF

good_cfg() {
  cat <<'EOF'
[run]
name = bad
[student]
dim = 32
layers = 1
heads = 2
ffn_dim = 64
max_len = 8
[train]
steps = 2
batch_size = 8
EOF
}
good_cfg >"$WORK/good.cfg"

# expect_fail NAME PATTERN... -- ARGS: distill ARGS must exit 1, print every (extended regex) PATTERN on stderr,
# leave no $WORK/out_NAME and create no runs/ folder in the working directory.
expect_fail() {
  local name=$1
  shift
  local patterns=()
  while [ "$1" != "--" ]; do
    patterns+=("$1")
    shift
  done
  shift
  n_cases=$((n_cases + 1))
  local status=0
  "$DISTILL" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
  local msg
  msg=$(cat "$WORK/stderr")
  local ok=1
  if [ "$status" -ne 1 ]; then
    echo "FAIL [$name]: exit status $status, expected 1" >&2
    ok=0
  fi
  for p in "${patterns[@]}"; do
    if ! grep -Eq -- "$p" "$WORK/stderr"; then
      echo "FAIL [$name]: message does not match /$p/" >&2
      ok=0
    fi
  done
  if [ -e "$WORK/out_$name" ]; then
    echo "FAIL [$name]: run folder $WORK/out_$name was left behind" >&2
    ok=0
  fi
  if [ -e "$WORK/cwd/runs" ]; then
    echo "FAIL [$name]: a default run folder was created: $(find "$WORK/cwd/runs" | tr "\n" " ")" >&2
    ok=0
    rm -rf "$WORK/cwd/runs"
  fi
  if [ "$ok" -eq 1 ]; then
    echo "ok   [$name] $msg"
  else
    echo "     [$name] stderr: $msg" >&2
    failures=$((failures + 1))
  fi
}

# Teacher files, each with an explicit --out and once more on the default runs/<name>.
teacher_case() {
  local name=$1 file=$2
  shift 2
  expect_fail "$name" "$@" -- --teacher "$WORK/$file" --student "$WORK/good.cfg" --out "$WORK/out_$name"
  expect_fail "$name-default-out" "$@" -- --teacher "$WORK/$file" --student "$WORK/good.cfg"
}
teacher_case not-hdf5 not_hdf5.h5 'not_hdf5\.h5' 'not an HDF5 file'
teacher_case truncated truncated.h5 'truncated\.h5' 'truncated|damaged'
teacher_case no-input-ids no_input_ids.h5 'no_input_ids\.h5' "input_ids" 'missing'
teacher_case no-targets no_targets.h5 'no_targets\.h5' 'logits' 'embeddings'
teacher_case ids-float ids_float.h5 'ids_float\.h5' "input_ids" 'int'
teacher_case logits-int logits_int.h5 'logits_int\.h5' "'logits'" 'float'
teacher_case rows-disagree rows_disagree.h5 'rows_disagree\.h5' "embeddings" '61 rows' '64'
teacher_case id-out-of-range id_out_of_range.h5 'id_out_of_range\.h5' "input_ids" 'row 17\b' '100'
teacher_case id-negative id_negative.h5 'id_negative\.h5' "input_ids" 'row 19\b' 'negative'
teacher_case nan-logits nan_logits.h5 'nan_logits\.h5' "'logits'" 'row 23\b' '[Nn]a[Nn]'
teacher_case inf-embeddings inf_embeddings.h5 'inf_embeddings\.h5' "'embeddings'" 'row 31\b' '[Ii]nf'
teacher_case zero-rows zero_rows.h5 'zero_rows\.h5' "input_ids" 'zero rows|no rows|0 rows'
teacher_case no-such-file does_not_exist.h5 'does_not_exist\.h5' 'no such file|No such file'

# Configs: each error names the file and the line.
cfg_case() {
  local name=$1 text=$2
  shift 2
  printf '%s\n' "$text" >"$WORK/$name.cfg"
  expect_fail "$name" "$name\.cfg" "$@" -- --teacher "$WORK/good.h5" --student "$WORK/$name.cfg" --out "$WORK/out_$name"
}
cfg_case unknown-section "$(good_cfg)
[teachr]
path = x.h5" ':12\b' 'teachr'
cfg_case unknown-key "$(good_cfg)
learning_rate = 0.1" ':12\b' 'learning_rate'
cfg_case wrong-type "$(good_cfg)
lr = fast" ':12\b' 'lr' 'fast'
cfg_case wrong-type-int "[student]
dim = 32.5
layers = 1
heads = 2
ffn_dim = 64
max_len = 8" ':2\b' 'dim' '32\.5'
cfg_case out-of-range "$(good_cfg)
val_fraction = 1.5" ':12\b' 'val_fraction' '1\.5'
cfg_case negative-steps "$(good_cfg | sed 's/^steps = 2/steps = -5/')" ':10\b' 'steps' '-5'
cfg_case heads-not-dividing "$(good_cfg | sed 's/^heads = 2/heads = 3/')" 'heads' '3' 'dim' '32' 'divide'
cfg_case bad-enum "$(good_cfg)
[loss]
emb_loss = cosinus" ':13\b' 'emb_loss' 'cosinus'
cfg_case missing-student "[train]
steps = 2" 'student'
cfg_case no-equals "$(good_cfg)
lr 0.1" ':12\b'
expect_fail missing-config 'nope\.cfg' -- --teacher "$WORK/good.h5" --student "$WORK/nope.cfg" --out "$WORK/out_missing-config"

# Flags.
expect_fail unknown-flag "--lerning-rate" -- --teacher "$WORK/good.h5" --student "$WORK/good.cfg" \
  --out "$WORK/out_unknown-flag" --lerning-rate 0.1
expect_fail steps-abc "steps" "abc" -- --teacher "$WORK/good.h5" --student "$WORK/good.cfg" \
  --out "$WORK/out_steps-abc" --steps abc
expect_fail steps-missing-value "--steps" -- --teacher "$WORK/good.h5" --student "$WORK/good.cfg" \
  --out "$WORK/out_steps-missing-value" --steps
expect_fail lr-negative "lr" -- --teacher "$WORK/good.h5" --student "$WORK/good.cfg" \
  --out "$WORK/out_lr-negative" --lr -0.1
expect_fail resume-without-checkpoint "resume" "last\.ckpt" -- --teacher "$WORK/good.h5" --student "$WORK/good.cfg" \
  --out "$WORK/out_resume-without-checkpoint" --resume
expect_fail resume-missing-file "resume" "nothing\.ckpt" -- --teacher "$WORK/good.h5" --student "$WORK/good.cfg" \
  --out "$WORK/out_resume-missing-file" --resume "$WORK/nothing.ckpt"
# An HDF5 file other than the teacher.
expect_fail resume-not-a-checkpoint "no_targets\.h5" "distill-checkpoint" -- --teacher "$WORK/good.h5" \
  --student "$WORK/good.cfg" --out "$WORK/out_resume-not-a-checkpoint" --resume "$WORK/no_targets.h5"
# The teacher file itself, which this run holds open as its teacher while it opens the checkpoint.
expect_fail resume-teacher-itself "good\.h5" "not a 'distill-checkpoint' file" -- --teacher "$WORK/good.h5" \
  --student "$WORK/good.cfg" --out "$WORK/out_resume-teacher-itself" --resume "$WORK/good.h5"
expect_fail no-student "student" -- --teacher "$WORK/good.h5" --out "$WORK/out_no-student"
expect_fail no-teacher "teacher" -- --student "$WORK/good.cfg" --out "$WORK/out_no-teacher"
expect_fail run-missing-config "nope\.cfg" -- run "$WORK/nope.cfg" --out "$WORK/out_run-missing-config"
# Export targets: an unknown one, and formats a target's toolchain does not read (refused before any file).
expect_fail export-unknown-target "unknown target 'npu9'" -- export --checkpoint "$WORK/none.ckpt" \
  --format onnx --out "$WORK/out_export-unknown-target" --target npu9
expect_fail export-ethos-u-onnx "ethos-u takes --format tflite" -- export --checkpoint "$WORK/none.ckpt" \
  --format onnx --out "$WORK/out_export-ethos-u-onnx" --target ethos-u
expect_fail export-openvino-encodings "openvino takes --format onnx or tflite" -- export \
  --checkpoint "$WORK/none.ckpt" --format encodings --out "$WORK/out_export-openvino-encodings" --target openvino
expect_fail export-target-native "not native" -- export --checkpoint "$WORK/none.ckpt" --format native \
  --out "$WORK/out_export-target-native" --target qnn-htp

# The good files do train (so the failures above are about the bad part alone).
n_cases=$((n_cases + 1))
if "$DISTILL" --teacher "$WORK/good.h5" --student "$WORK/good.cfg" --out "$WORK/good_run" --quiet &&
  [ -f "$WORK/good_run/summary.json" ]; then
  echo "ok   [good] the good teacher and config train"
else
  echo "FAIL [good]: the good teacher and config do not train" >&2
  failures=$((failures + 1))
fi

echo "$n_cases cases, $failures failed"
[ "$failures" -eq 0 ]
