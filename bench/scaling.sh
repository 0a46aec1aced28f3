#!/usr/bin/env bash
# Data-parallel scaling (docs/mpi.md): samples/s of the README's students with 1 and 2 processes of one OpenMP
# thread each on this machine, the share of a step spent in communication, the all-reduce cost by message
# size (bench/allreduce_cost.c), and a ring-model estimate for 8 and 64 nodes.
#   bash bench/scaling.sh [STEPS]      (needs build-mpi/: bash scripts/test.sh --mpi, or cmake -DDISTILL_MPI=ON)
# Estimate, per student: a step on p nodes takes u + (t1 - u) / p of compute (t1: one process's step at the same
# global batch; u: the work every process repeats after the all-reduce, gradient clipping and AdamW over every
# parameter, measured in the 1-process run as summary.json's update_fraction) plus one all-reduce of the step's
# gradient bytes (at 32 rows per node: all parameters), t = 2 (p - 1) / p * bytes / bw + 2 (p - 1) * lat, plus
# the per-step latency-bound collectives (loss gather, token-row flags, QAT ranges: about 4 + 15 per layer
# with QAT) at 2 (p - 1) * lat each. lat and bw: the fit of this machine's all-reduce (shared memory between
# two processes), then two assumed networks for comparison (10 GbE: 30 us, 1.1 GB/s; InfiniBand HDR100:
# 2 us, 11 GB/s).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-40}
BIN=build-mpi
for f in distill allreduce_cost; do
  [ -x "$BIN/$f" ] || { echo "bench/scaling.sh: $BIN/$f missing; build with -DDISTILL_MPI=ON into $BIN/" >&2; exit 1; }
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
mpi() { mpirun -np "$1" --oversubscribe --bind-to none "${@:2}"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
json() { sed -n "s/.*\"$2\": \([-0-9.e+]*\).*/\1/p" "$1" | head -1; }

echo "# machine: $(nproc --all) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
mpi 2 "$BIN/allreduce_cost" 16777216 | tee "$work/ar.txt"
lat_us=$(sed -n 's/ring fit: latency \([0-9.]*\) us.*/\1/p' "$work/ar.txt")
bw_mbs=$(sed -n 's/.*bandwidth \([0-9.]*\) MB\/s/\1/p' "$work/ar.txt")

# The README's students on the bundled teacher: the default (384 wide, 1 layer, from the teacher), the static
# student, and the 192-wide 2-layer student of the earlier default.
students=(
  "default:"
  "static:--set student.arch=static"
  "w192:--set student.dim=192 --set student.layers=2 --set student.heads=4 --set student.ffn_dim=768 --set student.init=random"
)
printf "\n# %-8s %6s %12s %12s %8s %8s %10s %14s\n" student procs samples/s step_ms comm% update% speedup allreduce_MB
for s in "${students[@]}"; do
  name=${s%%:*}
  sets=${s#*:}
  for p in 1 2; do
    # shellcheck disable=SC2086 # sets are words
    mpi $p "$BIN/distill" run experiments/default.cfg --out "$work/$name-$p" --quiet --steps "$STEPS" \
      --threads 1 --val-fraction 0.01 --eval-every 0 --save-every 0 $sets
    sps=$(json "$work/$name-$p/summary.json" samples_per_sec)
    eval "sps_${name}_$p=$sps"
    comm=$(json "$work/$name-$p/summary.json" comm_fraction)
    upd=$(json "$work/$name-$p/summary.json" update_fraction)
    floats=$(json "$work/$name-$p/summary.json" allreduce_floats)
    params=$(json "$work/$name-$p/summary.json" params)
    if [ $p = 1 ]; then
      floats=$params
      eval "upd_${name}=$upd; params_${name}=$params"
    fi
    eval "floats_${name}=$floats"
    base=$(eval echo "\$sps_${name}_1")
    awk -v n="$name" -v p=$p -v s="$sps" -v c="$comm" -v u="$upd" -v b="$base" -v f="$floats" 'BEGIN {
      printf "  %-8s %6d %12.1f %12.1f %8.1f %8.1f %10.2f %14.2f\n", n, p, s, 32000 / s, 100 * c, 100 * u, s / b,
        f * 4 / 1e6 }'
  done
done

echo
echo "# ring-model estimate at global batch 32 (strong scaling) and at 32 rows per node (weak scaling), samples/s"
echo "# (all-reduce bytes per step: at batch 32 as measured with 2 processes, the token-table rows a batch touches;"
echo "#  at 32 rows per node every parameter, as p batches together touch most of the vocabulary)"
printf "# %-8s %-28s %6s %12s %10s %12s\n" student network nodes strong comm% weak
for s in "${students[@]}"; do
  name=${s%%:*}
  t1=$(awk -v s="$(eval echo "\$sps_${name}_1")" 'BEGIN { print 32 / s }')
  # u: seconds per step of the update every process repeats, from the 1-process run (no contention)
  u=$(awk -v t1="$t1" -v f="$(eval echo "\$upd_${name}")" 'BEGIN { print f * t1 }')
  bytes=$(awk -v f="$(eval echo "\$floats_${name}")" 'BEGIN { print 4 * f }')
  dense=$(awk -v f="$(eval echo "\$params_${name}")" 'BEGIN { print 4 * f }')
  for net in "this machine (fit):$lat_us:$bw_mbs" "10 GbE (assumed):30:1100" "InfiniBand HDR100 (assumed):2:11000"; do
    IFS=: read -r label lat bw <<< "$net"
    for p in 8 64; do
      awk -v n="$name" -v l="$label" -v p=$p -v t1="$t1" -v u="$u" -v B="$bytes" -v D="$dense" -v lat="$lat" \
        -v bw="$bw" 'BEGIN {
        lat *= 1e-6; bw *= 1e6
        comm = 2 * (p - 1) / p * B / bw + 2 * (p - 1) * lat * (1 + 4)
        comm_weak = 2 * (p - 1) / p * D / bw + 2 * (p - 1) * lat * (1 + 4)
        tp = u + (t1 - u) / p + comm
        strong = 32 / tp; weak = 32 * p / (t1 + comm_weak)
        printf "  %-8s %-28s %6d %12.0f %10.1f %12.0f\n", n, l, p, strong, 100 * comm / tp, weak }'
    done
  done
done
