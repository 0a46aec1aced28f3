#!/usr/bin/env bash
# The table of experiments/RESULTS.md: trains the students of experiments/results/*.cfg on the full
# teacher file, evaluates each on the run's validation rows, and rewrites the table between the
# "results-table" markers of experiments/RESULTS.md after every finished run (partial tables are useful).
# By default the six teacher-initialised recipes (transformer and static, float / QAT / QAT + pruning);
# name the nine random-init configs of the earlier table (tiny ... base_qat_prune) to rerun those instead.
#
#   bash experiments/run_results.sh [--teacher FULL.h5] [--bin build/distill] [--out runs/results]
#                                   [--jobs 2] [--eval-only] [--table-only] [NAME ...]
#
# Validation rows: the runs' own split (val_fraction 0.05: rows 19, 39, 59, …), copied once into
# OUT/val.h5 so that `distill eval` sees exactly those rows. A finished run (summary.json present) is
# not trained again; its evaluations are repeated only when missing (or with --eval-only).
# Environment: DISTILL_EVAL=path uses another binary for export/eval than for training; DISTILL_RUN_ARGS
# adds flags to every training command (e.g. "--steps 20" for a smoke test).
# Needs /usr/bin/python3 with h5py (Debian's python3-h5py) for the validation file and the table.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
teacher=$root/experiments/data/full/teacher.h5
bin=$root/build/distill
out=$root/runs/results
jobs=2
mode=all
names=()
while [ $# -gt 0 ]; do
  case $1 in
    --teacher) teacher=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --eval-only) mode=eval; shift ;;
    --table-only) mode=table; shift ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    -*) echo "run_results.sh: unknown option $1" >&2; exit 1 ;;
    *) names+=("$1"); shift ;;
  esac
done
# Rows of the table in this order; trained longest first, so two workers finish at about the same time.
table_order=(transformer transformer_qat transformer_qat_prune static static_qat static_qat_prune)
[ ${#names[@]} -gt 0 ] || names=(transformer_qat transformer_qat_prune transformer static_qat static_qat_prune static)
for name in "${names[@]}"; do
  [ -f "$root/experiments/results/$name.cfg" ] || { echo "run_results.sh: no experiments/results/$name.cfg" >&2; exit 1; }
  [[ " ${table_order[*]} " == *" $name "* ]] || table_order+=("$name")
done
evalbin=${DISTILL_EVAL:-$bin}
py=/usr/bin/python3
mkdir -p "$out"

make_val() { # the validation rows of the split as a teacher file of their own, plus the teacher's scores there
  [ -f "$out/val.h5" ] && return 0
  "$py" - "$teacher" "$out/val.h5.tmp" "$out/teacher.json" <<'EOF'
import json, sys
import h5py, numpy as np
src, dst, info = sys.argv[1:4]
f = h5py.File(src, "r")
n = f["input_ids"].shape[0]
frac = 0.05  # [train] val_fraction of every results config; data/loader_split.h's rule, in doubles
rows = np.array([r for r in range(n) if int((r + 1) * frac) > int(r * frac)])
with h5py.File(dst, "w") as g:
    for k, v in f.attrs.items():
        g.attrs[k] = v
    g.attrs["rows_of"] = "validation rows (val_fraction 0.05) of " + src
    for k in f:
        d = f[k]
        g.create_dataset(k, data=d[...] if k in ("vocab", "token_embeddings") else d[rows], dtype=d.dtype)  # per-vocabulary, not per-row
lab = f["labels"][rows]
acc = float((np.argmax(f["logits"][rows], axis=1) == lab).mean())
json.dump({"rows": int(len(rows)), "label_acc_val": acc,
           "label_accuracy": float(f.attrs["label_accuracy"])}, open(info, "w"))
EOF
  mv "$out/val.h5.tmp" "$out/val.h5"
}

train_one() {
  local name=$1 dir=$out/$1
  [ -f "$dir/summary.json" ] && return 0
  rm -rf "$dir"
  local cmd="distill run experiments/results/$name.cfg --teacher $teacher --out $dir --quiet${DISTILL_RUN_ARGS:+ $DISTILL_RUN_ARGS}"
  echo "$cmd" > "$out/$name.cmd"
  # shellcheck disable=SC2086  # DISTILL_RUN_ARGS (e.g. "--steps 20" for a smoke test) is split on purpose
  "$bin" run "$root/experiments/results/$name.cfg" --teacher "$teacher" --out "$dir" --quiet ${DISTILL_RUN_ARGS:-} \
    > "$out/$name.log" 2>&1
}

eval_one() {
  local name=$1 dir=$out/$1
  [ -f "$dir/summary.json" ] || return 0
  if [ "$mode" = eval ] || [ ! -s "$dir/eval.json" ]; then
    "$evalbin" eval --checkpoint "$dir/last.ckpt" --teacher "$out/val.h5" > "$dir/eval.json"
  fi
  if grep -q '^enabled = true' <(sed -n '/^\[quant\]/,/^\[/p' "$dir/config.cfg"); then
    if [ "$mode" = eval ] || [ ! -s "$dir/int8_eval.json" ]; then
      "$evalbin" export --checkpoint "$dir/last.ckpt" --format native --out "$dir/model.i8"
      "$evalbin" eval --checkpoint "$dir/model.i8" --int8 --teacher "$out/val.h5" > "$dir/int8_eval.json"
    fi
  fi
}

write_table() ( # one writer at a time (each call opens its own lock description)
  exec 9>>"$out/.table.lock"
  flock 9
  "$py" - "$out" "$root/experiments/RESULTS.md" "${table_order[*]}" <<'EOF'
import json, os, re, sys
import h5py
out, md, order = sys.argv[1], sys.argv[2], sys.argv[3].split()
def load(p):
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return {}
def f4(x):
    return "—" if x is None else f"{x:.4f}"
rows = []
for name in order:
    d = os.path.join(out, name)
    s = load(os.path.join(d, "summary.json"))
    if not s:
        continue
    e, q = load(os.path.join(d, "eval.json")), load(os.path.join(d, "int8_eval.json"))
    with h5py.File(os.path.join(d, "last.ckpt"), "r") as c:
        sizes = {k: c["params"][k].size for k in c["params"]}
    total = sum(sizes.values())
    non_emb = total - sizes["tok_emb.weight"] - sizes.get("pos_emb.weight", 0)  # a static student has no positions
    i8 = os.path.join(d, "model.i8")
    i8b = f"{os.path.getsize(i8):,}" if os.path.exists(i8) else "—"
    cmd = open(os.path.join(out, name + ".cmd")).read().strip().replace(out, "OUT")
    rows.append(f"| {name} | {total:,} ({non_emb:,}) | {i8b} | {f4(e.get('cos'))} | {f4(e.get('top1'))} | "
                f"{f4(e.get('label_acc'))} | {f4(e.get('knn10'))} | {f4(q.get('cos'))} | "
                f"{s['wall_seconds'] / 60:.1f} min | `{cmd}` |")
table = ("| config | params (non-embedding) | int8 bytes | val cos | top-1 vs teacher | label acc | kNN@10 | "
         "int8 val cos | train time | command |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
         + "\n".join(rows) + "\n")
text = open(md).read() if os.path.exists(md) else "<!-- results-table -->\n<!-- /results-table -->\n"
text = re.sub(r"<!-- results-table -->\n.*?<!-- /results-table -->",
              lambda m: "<!-- results-table -->\n" + table + "<!-- /results-table -->", text, flags=re.S)
open(md + ".tmp", "w").write(text)
os.replace(md + ".tmp", md)
EOF
)

next_name() { # a shared queue: each worker takes the next untaken name (fd 8 locks the counter)
  local k
  exec 8>>"$out/.queue.lock"
  flock 8
  k=$(cat "$out/.queue" 2>/dev/null || echo 0)
  echo $((k + 1)) > "$out/.queue"
  flock -u 8
  [ "$k" -lt ${#names[@]} ] && echo "${names[$k]}"
}

worker() {
  local name
  while name=$(next_name); do
    [ "$mode" = all ] && { train_one "$name" || echo "run_results.sh: $name failed (see $out/$name.log)" >&2; }
    eval_one "$name" || echo "run_results.sh: evaluating $name failed" >&2
    write_table
  done
}

make_val
if [ "$mode" = table ]; then
  write_table
  exit 0
fi
echo 0 > "$out/.queue"
for ((i = 0; i < jobs; i++)); do worker & done
wait
write_table
