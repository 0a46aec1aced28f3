#!/usr/bin/env bash
# [loss] hidden_weight (token-level distillation, train/hidden_distill.h) end to end, on a small teacher file
# with hidden_states [300, 16, 24] float16 (zeros at padding) made here with h5py:
#  - hidden_weight = 1 (mse, and cosine) trains, exit 0, and the logged loss goes down (emb_weight is tiny, so the
#    loss in metrics.csv is nearly the hidden-state loss alone);
#  - also with a student max_len (8) shorter than the file's rows;
#  - hidden_weight = 1 on a file without hidden_states exits 1 naming hidden_states and leaves no run folder;
#  - with student.arch = static, or quant.enabled = true, it is refused (exit 1, a message, no run folder);
#  - N steps in one go and N/2 + --resume + N/2 give bit-identical parameters (ckpt_params_equal) and an
#    identical /hidden_head (params, adam_m, adam_v);
#  - a NaN in hidden_states is refused, naming the dataset.
# usage: hidden.sh /path/to/distill /path/to/source   (exit 77: no python3 with numpy + h5py)
set -u
distill=$1
bin=$(dirname "$distill")
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
need_python_h5py "to write the teacher files"
make_work hidden
N=40
# Sanitizer builds run ~10x slower.
if ldd "$distill" 2> /dev/null | grep -q libasan; then N=16; fi

# t.h5: ids, mask, embeddings, vocab, hidden_states (a per-token table plus a little noise, so there is something
# to learn); nohid.h5: the same without hidden_states; nan.h5: a NaN in hidden_states at row 7, token 2.
"$PY" - "$work" << 'EOF' || { echo "FAILED: could not write the teacher files"; exit 1; }
import os, sys
import h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(11)
N, L, V, D, H = 300, 16, 200, 32, 24
ids = np.zeros((N, L), np.int32)
mask = np.zeros((N, L), np.uint8)
for i in range(N):
    n = int(rng.integers(4, L + 1))
    ids[i, 0], ids[i, n - 1] = 1, 2
    ids[i, 1:n - 1] = rng.integers(3, V, n - 2)
    mask[i, :n] = 1
table = rng.normal(0, 1, (V, H)).astype(np.float32)
hidden = table[ids] + 0.1 * rng.normal(0, 1, (N, L, H)).astype(np.float32)
hidden[mask == 0] = 0
hidden = hidden.astype(np.float16)
emb = rng.normal(0, 1, (N, D)).astype(np.float32)
vocab = ["[PAD]", "[CLS]", "[SEP]"] + ["w%d" % i for i in range(3, V)]
for name in ("t", "nohid", "nan"):
    with h5py.File(os.path.join(out, name + ".h5"), "w") as f:
        f.create_dataset("input_ids", data=ids)
        f.create_dataset("attention_mask", data=mask)
        f.create_dataset("embeddings", data=emb)
        f.create_dataset("vocab", data=vocab, dtype=h5py.string_dtype())
        f.attrs["vocab_size"] = V
        f.attrs["pad_id"] = 0
        if name == "t":
            f.create_dataset("hidden_states", data=hidden)
        elif name == "nan":
            h = hidden.copy()
            h[7, 2, 5] = np.nan
            f.create_dataset("hidden_states", data=h)
EOF

cat > "$work/s.cfg" << CFG
[student]
init = random
[train]
steps = $N
batch_size = 16
lr = 3e-3
warmup_steps = 2
schedule = constant
threads = 1
seed = 5
val_fraction = 0.1
eval_every = $N
save_every = $((N / 2))
log_every = 1
CFG
small=(--set student.dim=16 --set student.heads=2 --set student.ffn_dim=32 --set student.layers=1
  --set student.max_len=16)
# The hidden-state loss, with a token sentence-level term (emb_weight = 0 would be refused as "nothing to learn"
# even with hidden_weight set): metrics.csv's loss, which adds both, is then nearly the hidden-state loss alone.
hid=(--set loss.hidden_weight=1 --set loss.emb_weight=0.001)
train() { "$distill" --teacher "$work/$1.h5" --student "$work/s.cfg" --out "$work/$2" --quiet "${small[@]}" "${@:3}"; }

# decreasing CSV: the mean loss (column 3) of the last 5 logged steps is below 0.8 x that of the first 5.
decreasing() {
  awk -F, 'NR > 1 && $3 != "" { l[n++] = $3 } END {
    if (n < 10) exit 1
    for (i = 0; i < 5; i++) { a += l[i]; b += l[n - 1 - i] }
    printf "  loss: first 5 steps %.4g, last 5 steps %.4g\n", a / 5, b / 5
    exit !(b < 0.8 * a) }' "$1"
}

for kind in mse cosine; do
  train t "$kind" "${hid[@]}" --set loss.hidden_loss=$kind
  check "hidden_loss=$kind trains: exit 0" test $? -eq 0 -a -f "$work/$kind/last.ckpt"
  check "hidden_loss=$kind: the loss decreases" decreasing "$work/$kind/metrics.csv"
done
# A student shorter than the file's rows (max_len 8 < 16 tokens): the hidden states are read truncated alike.
train t short "${hid[@]}" --set student.max_len=8
check "max_len 8 < 16 tokens trains: exit 0" test $? -eq 0 -a -f "$work/short/last.ckpt"
check "max_len 8: the loss decreases" decreasing "$work/short/metrics.csv"
check "the checkpoint holds /hidden_head/params" "$PY" -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    sys.exit(f['hidden_head/params'].shape != (24 * 16 + 24,))" "$work/mse/last.ckpt"

# Refusals: exit 1, a message naming the problem, no run folder.
refuse() { # description, expected message part (grep -E), run folder name, then the command
  local what=$1 want=$2 dir=$3
  shift 3
  "$@" > /dev/null 2> "$work/err"
  local rc=$?
  check "$what: exit 1" test $rc -eq 1
  check "$what: says '$want'" grep -Eq "$want" "$work/err"
  check "$what: no run folder" test ! -e "$work/$dir"
  [ $rc -eq 1 ] && grep -Eq "$want" "$work/err" || sed 's/^/  stderr: /' "$work/err"
}
refuse "no hidden_states" "hidden_states" r1 train nohid r1 "${hid[@]}"
refuse "static student" "transformer|static" r2 train t r2 "${hid[@]}" --set student.arch=static
refuse "with QAT" "quant" r3 train t r3 "${hid[@]}" --set quant.enabled=true
refuse "NaN in hidden_states" "hidden_states.*(row 7|NaN)" r4 train nan r4 "${hid[@]}"
# Without hidden_weight, a file without hidden_states trains as before.
train nohid plain --set loss.hidden_weight=0
check "hidden_weight=0 on a file without hidden_states: exit 0" test $? -eq 0

# Resume: N/2 steps then --resume to N equals the mse run above bit for bit (constant schedule, one thread).
train t b "${hid[@]}" --set loss.hidden_loss=mse --steps $((N / 2)) && train t b "${hid[@]}" --set loss.hidden_loss=mse --resume
check "resumed run exits 0" test $? -eq 0
check "resume: identical /params" "$bin/ckpt_params_equal" "$work/mse/last.ckpt" "$work/b/last.ckpt"
check "resume: identical /hidden_head" "$PY" -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r') as a, h5py.File(sys.argv[2], 'r') as b:
    for k in ('params', 'adam_m', 'adam_v'):
        x, y = a['hidden_head/' + k][()], b['hidden_head/' + k][()]
        if x.shape != y.shape or x.tobytes() != y.tobytes():
            sys.exit('hidden_head/%s differs' % k)" "$work/mse/last.ckpt" "$work/b/last.ckpt"
# Resuming a hidden-state run without hidden_weight, or the other way round, must not silently drop the head.
train t c --steps $((N / 2)) > /dev/null 2>&1
train t c "${hid[@]}" --resume > /dev/null 2> "$work/err"
check "resume with hidden_weight from a run without it: exit 1" test $? -eq 1
check "  ... names /hidden_head" grep -q "hidden_head" "$work/err"
exit $fail
