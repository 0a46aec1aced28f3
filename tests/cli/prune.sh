#!/usr/bin/env bash
# `distill` with [prune]: heads, FFN neurons and unused vocabulary are pruned during training and cut out at
# the end; the run log shows the structure before and after, summary.json counts the compact parameters,
# the compact checkpoint evaluates, and a schedule that cannot finish is refused before anything is written.
# usage: prune.sh /path/to/distill /path/to/source
set -u
distill=$1
gen="$(dirname "$distill")/make_synthetic_teacher"
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
make_work prune

# 600 rows over 3000 ids: about a fifth of the ids never occur, so vocabulary pruning has work to do.
"$gen" --out "$work/t.h5" --rows 600 --len 12 --vocab 3000 --dim 32 --ffn 64 --emb-dim 16 --classes 4 >/dev/null || exit 1
{ student_section 32 2 4 64 12; cat <<CFG; } > "$work/s.cfg"
[train]
steps = 30
batch_size = 16
warmup_steps = 3
threads = 1
eval_every = 10
save_every = 10
[prune]
enabled = true
heads = 0.5
ffn = 0.5
vocab = true
start_step = 5
end_step = 20
every = 5
criterion = magnitude
CFG
"$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/run" 2> "$work/log"
rc=$?
check "pruned run exits 0" test $rc -eq 0
check "log: structure before" grep -q "pruning: structure before: heads 4,4 ffn 64,64 vocab 3000" "$work/log"
check "log: structure after" grep -q "pruning: structure after compaction: heads 2,2 ffn 32,32 vocab" "$work/log"
check "log: vocabulary event" grep -q "pruning: vocabulary: .* of 3000 embedding rows kept" "$work/log"
after=$(sed -n 's/.*structure after compaction: .*: \([0-9]*\) params.*/\1/p' "$work/log")
dense=$(sed -n 's/.*structure before: .*: \([0-9]*\) params.*/\1/p' "$work/log")
params=$(sed -n 's/.*"params": \([0-9]*\).*/\1/p' "$work/run/summary.json")
echo "dense $dense, compact $after, summary.json params $params"
check "summary.json params = compact count" test "$params" = "$after"
check "compact is smaller" test "$after" -lt "$dense"
"$distill" eval --checkpoint "$work/run/last.ckpt" --teacher "$work/t.h5" > "$work/eval.json"
check "eval of the compact checkpoint" grep -q '"n": 600' "$work/eval.json"
"$distill" inspect "$work/run/last.ckpt" > "$work/inspect.txt"
check "checkpoint holds the id map" grep -q "/vocab_map" "$work/inspect.txt"

# end_step after the last step: refused, nothing written.
"$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/bad" --set prune.end_step=31 2> "$work/bad.log"
rc=$?
check "unfinishable schedule exits 1" test $rc -eq 1
check "message names end_step" grep -q "end_step = 31" "$work/bad.log"
check "no run folder" test ! -e "$work/bad"
exit $fail
