#!/usr/bin/env bash
# Teacher-derived initialization end to end, on the first 600 rows of the bundled teacher file (its
# token_embeddings [30522, 384], vocab and attributes kept):
#  - `student.init=teacher` logs the `init = teacher` line; summary.json has init_val_cos / init_val_knn10 /
#    init_val_loss, and the teacher init starts clearly above a random one;
#  - a static student initialised from the teacher (token weights none, zipf, sif) starts at exactly the
#    `static_teacher` baseline of experiments/baselines.py (--static-pool mean): init_val_cos to 1e-4;
#  - a file without token_embeddings trains with the default config (init = teacher) and logs exactly one
#    line, saying it falls back to the random init, which it then equals;
#  - `train.token_rows=8` trains on a file with token_embeddings and vocab, and is refused (exit 1, naming
#    token_embeddings, no run folder) on one without;
#  - a NaN in token_embeddings is refused (exit 1, dataset and row named) and leaves no run folder.
# usage: teacher_init.sh /path/to/distill /path/to/source   (exit 77: no python3 with numpy + h5py)
set -u
distill=$1
src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
need_python_h5py "to cut the teacher file and run experiments/baselines.py"
teacher=$src/experiments/data/teacher.h5
if ! "$PY" -c "import h5py, sys; sys.exit('token_embeddings' not in h5py.File(sys.argv[1], 'r'))" "$teacher"; then
  echo "FAILED: $teacher has no token_embeddings"
  exit 1
fi
make_work teacher_init
has_key() { grep -q "\"$2\": " "$1"; }
# |a - b| <= tol
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= t) }'; }
# a > b + margin
above() { awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(a != "" && b != "" && a > b + m) }'; }

# small.h5: rows 0..599 with token_embeddings; notok.h5: the same without them; nan.h5: a NaN at row 1234.
"$PY" - "$teacher" "$work" <<'EOF' || { echo "FAILED: could not cut the teacher file"; exit 1; }
import os, sys
import h5py, numpy as np
src, out = sys.argv[1], sys.argv[2]
with h5py.File(src, "r") as f:
    rows = {k: f[k][:600] for k in ("input_ids", "attention_mask", "embeddings", "logits", "labels")}
    vocab = f["vocab"][:]
    attrs = dict(f.attrs)
    table = f["token_embeddings"][:]
for name in ("small", "notok", "nan"):
    with h5py.File(os.path.join(out, name + ".h5"), "w") as g:
        for k, v in rows.items():
            g.create_dataset(k, data=v)
        g.create_dataset("vocab", data=vocab, dtype=h5py.string_dtype())
        for k, v in attrs.items():
            g.attrs[k] = v
        if name == "nan":
            t = table.copy()
            t[1234, 5] = np.nan
            g.create_dataset("token_embeddings", data=t)
        elif name == "small":
            g.create_dataset("token_embeddings", data=table)
EOF

cat > "$work/s.cfg" << 'CFG'
[student]
dim = 32
layers = 1
heads = 2
ffn_dim = 64
max_len = 64
out_dim = teacher
[train]
steps = 10
batch_size = 16
lr = 1e-3
warmup_steps = 2
threads = 2
eval_every = 0
save_every = 0
[loss]
kd_weight = 0.1
emb_weight = 1.0
CFG
train() { # out dir name, teacher file, then --set assignments; stderr in $work/NAME.log
  local name=$1 file=$2
  shift 2
  "$distill" --teacher "$work/$file" --student "$work/s.cfg" --out "$work/$name" "$@" 2> "$work/$name.log"
}

# 1. init = teacher (transformer) against init = random.
train ti small.h5 --set student.init=teacher
check "init=teacher run exits 0" test $? -eq 0
check "logs the 'init = teacher' line (PCA of token_embeddings 30522 x 384 -> 32)" \
  grep -q "^distill: init = teacher: token table from a PCA of .*token_embeddings (30522 x 384 -> 32)" "$work/ti.log"
s=$work/ti/summary.json
for k in init_val_cos init_val_knn10 init_val_loss; do
  check "summary.json has $k ($(json "$s" $k))" has_key "$s" $k
done
check "config.cfg records init = teacher" grep -q "^init *= *teacher" "$work/ti/config.cfg"
train tr small.h5 --set student.init=random
check "init=random run exits 0" test $? -eq 0
check "logs the 'init = random' line" grep -q "^distill: init = random" "$work/tr.log"
check "init=random has no teacher line" test "$(grep -c 'init = teacher' "$work/tr.log")" -eq 0
check "teacher init starts above random: init_val_cos $(json "$s" init_val_cos) > $(json "$work/tr/summary.json" init_val_cos) + 0.05" \
  above "$(json "$s" init_val_cos)" "$(json "$work/tr/summary.json" init_val_cos)" 0.05
check "teacher init starts above random: init_val_loss $(json "$work/tr/summary.json" init_val_loss) > $(json "$s" init_val_loss)" \
  above "$(json "$work/tr/summary.json" init_val_loss)" "$(json "$s" init_val_loss)" 0

# 2. A static student from the teacher is the static_teacher baseline of experiments/baselines.py.
"$PY" "$src/experiments/baselines.py" --teacher "$work/small.h5" --dim 32 --token-weights none,zipf,sif \
  --baselines static_teacher --static-pool mean --json > "$work/baselines.json" 2> "$work/baselines.log"
check "baselines.py runs" test $? -eq 0
for kw in none zipf sif; do
  want=$("$PY" -c "import json, sys
for b in json.load(open(sys.argv[1]))['baselines']:
    if b['name'] == 'static_teacher' and b['weights'] == sys.argv[2]: print(repr(b['val_cos']), repr(b['val_knn10']))" \
    "$work/baselines.json" $kw)
  train st_$kw small.h5 --set student.arch=static --set student.token_weights=$kw
  check "static token_weights=$kw run exits 0" test $? -eq 0
  check "static $kw logs 'token weights $kw'" grep -q "^distill: init = teacher: .*token weights $kw" "$work/st_$kw.log"
  got=$(json "$work/st_$kw/summary.json" init_val_cos)
  check "static $kw: init_val_cos $got = baselines.py static_teacher ${want%% *} (1e-4)" close "$got" "${want%% *}" 1e-4
  got=$(json "$work/st_$kw/summary.json" init_val_knn10)
  check "static $kw: init_val_knn10 $got ~ baselines.py ${want##* } (0.02: ties may break differently)" \
    close "$got" "${want##* }" 0.02
done

# 3. No token_embeddings: the default config (init = teacher) falls back to random, in one log line.
train nt notok.h5
check "file without token_embeddings trains with the default config" test $? -eq 0 -a -f "$work/nt/summary.json"
check "exactly one log line mentions token_embeddings" test "$(grep -c token_embeddings "$work/nt.log")" -eq 1
check "that line says it falls back to the random init" \
  grep -q "^distill: init = teacher: .*has no 'token_embeddings'; using the random init$" "$work/nt.log"
check "exactly one init line" test "$(grep -c '^distill: init = ' "$work/nt.log")" -eq 1
train ntr notok.h5 --set student.init=random
check "the fallback equals init = random (init_val_loss $(json "$work/nt/summary.json" init_val_loss))" \
  test "$(json "$work/nt/summary.json" init_val_loss)" = "$(json "$work/ntr/summary.json" init_val_loss)" -a \
  "$(json "$work/nt/summary.json" val_loss)" = "$(json "$work/ntr/summary.json" val_loss)"

# 4. [train] token_rows.
train rows small.h5 --set train.token_rows=8
check "token_rows=8 trains on a file with token_embeddings and vocab" test $? -eq 0 -a -f "$work/rows/summary.json"
check "token_rows=8 changes the training (val_loss differs from the same run without)" \
  test "$(json "$work/rows/summary.json" val_loss)" != "$(json "$s" val_loss)"
train rows_bad notok.h5 --set train.token_rows=8
rc=$?
check "token_rows=8 without token_embeddings: exit 1 (got $rc)" test $rc -eq 1
check "the message names token_embeddings: $(head -c 300 "$work/rows_bad.log")" grep -q "token_embeddings" "$work/rows_bad.log"
check "the refusal leaves no run folder" test ! -e "$work/rows_bad"

# 5. A NaN in token_embeddings.
train nan nan.h5
rc=$?
check "NaN in token_embeddings: exit 1 (got $rc)" test $rc -eq 1
check "the message names the dataset and the row: $(head -c 300 "$work/nan.log")" \
  grep -q "'token_embeddings'.*row 1234.*NaN" "$work/nan.log"
check "the refusal leaves no run folder" test ! -e "$work/nan"
check "no crash output" test "$(grep -ci 'sanitizer\|segmentation\|HDF5-DIAG' "$work/nan.log")" -eq 0
exit $fail
