#!/usr/bin/env bash
# Speed (issue #8): distill's training step against PyTorch and against this machine's sgemm peak, the int8
# runtime against the float model and onnxruntime at batch 1, and the HDF5 reader against what training
# consumes -- with peak memory of each -- in one run, printed side by side.
#
#   bash bench/speed.sh [BUILD_DIR]            (default <repo>/build; configured and built here, Release)
#
# Environment: ROUNDS (3) interleaved rounds, THREADS (2), INT8_RUNS (2000), SIZES ("64x1 128x2 256x4"),
# INT8_SIZE (128x2), WORK (a fresh temporary folder). About 7 minutes.
#
# Method. The machine is shared, so every comparison is interleaved (A B A B ...) over ROUNDS rounds, each
# round re-measuring the sgemm peak too, and every figure is the median over rounds (each round itself reports
# a median step or call). Training is timed in-process (bench/bench_train.c, bench/speed_torch.py): batches
# already in memory, warm-up steps excluded, the full step (forward, loss, backward, clip, AdamW). Both sides
# run with OMP_WAIT_POLICY=passive -- what the distill CLI sets for itself -- since spinning OpenMP threads
# collapse under load; the active policy is measured separately for distill. Data: synthetic sentences of
# random length (most of a padded batch is padding, as with real sentences) and the same at full length,
# where distill's dropping of padding rows cannot help. Model FLOPs: the matmuls distill executed (padding
# dropped) in forward and backward (3x the forward's), against the sgemm peak: the best of bench/sgemm_peak.c's layouts --
# OpenBLAS with its own threads or split across ours, with the kernel OpenBLAS is configured for here and (if
# OPENBLAS_CORETYPE pins one) the one it would pick for this CPU itself, and distill's own GEMM.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
INT8_RUNS=${INT8_RUNS:-2000}
SIZES=${SIZES:-"64x1 128x2 256x4"}
INT8_SIZE=${INT8_SIZE:-128x2}
TORCH_PY=/usr/bin/python3 # Debian's python3-torch
ORT_PY=python3            # the Python with onnxruntime (pip install onnxruntime)
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/distill_speed.XXXXXX")}
mkdir -p "$WORK"

# ---- build ------------------------------------------------------------------------------------------------
echo "== building $BUILD (Release)" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 >/dev/null
HDF5_CFLAGS=$(pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)
HDF5_LIBS=$(pkg-config --libs hdf5 2>/dev/null || echo "-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5")
BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-pthread)
LIBS="$BUILD/libdistill_train.a $BUILD/libdistill_qat.a $BUILD/libdistill_model.a $BUILD/libdistill_kernels.a
      $BUILD/libdistill_config.a $BUILD/libdistill_int8.a $BUILD/libdistill_data.a $BUILD/libdistill_checkpoints.a $BUILD/libdistill_h5.a
      $BUILD/libdistill_common.a $HDF5_LIBS -lgsl -lopenblas -lm"
mkdir -p "$BUILD/bench"
for p in bench_train bench_reader bench_int8 sgemm_peak; do
  # shellcheck disable=SC2086
  gcc -O2 -Wall -Wextra -fopenmp -I"$ROOT" $HDF5_CFLAGS $BLAS_CFLAGS "$ROOT/bench/$p.c" -o "$BUILD/bench/$p" $LIBS
done
B=$BUILD/bench

# ---- helpers ----------------------------------------------------------------------------------------------
kv() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }     # kv FILE KEY: value of "KEY value"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
  else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
load() { cut -d' ' -f1 /proc/loadavg; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }
mb() { awk -v k="$1" 'BEGIN { if (k != "") printf "%.0f MB", k / 1024; else print "n/a" }'; }
dim_of() { echo "${1%x*}"; }
layers_of() { echo "${1#*x}"; }
steps_of() { case $1 in 64x*) echo 30 ;; 128x*) echo 16 ;; *) echo 6 ;; esac; }
export OMP_WAIT_POLICY=passive

# ---- data -------------------------------------------------------------------------------------------------
echo "== teacher files in $WORK" >&2
"$BUILD/make_synthetic_teacher" --out "$WORK/train.h5" --rows 2048 --len 32 >/dev/null
"$BUILD/make_synthetic_teacher" --out "$WORK/dense.h5" --rows 2048 --len 32 --min-len 32 >/dev/null
"$BUILD/make_synthetic_teacher" --out "$WORK/reader.h5" --rows 50000 --len 32 --targets random >/dev/null

echo "distill speed benchmark -- $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores;" \
  "OpenBLAS core ${OPENBLAS_CORETYPE:-auto}; torch $($TORCH_PY -c 'import torch; print(torch.__version__)');" \
  "threads $THREADS; batch 64, L 32; $ROUNDS interleaved rounds"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- training: distill vs PyTorch, and the sgemm peak, interleaved ----------------------------------------
declare -A D_SPS T_SPS DA_SPS TA_SPS D_GF DA_GF D_RSS T_RSS D_CPW DD_SPS TD_SPS DD_GF D_ROWS
P_CFG="" P_AUTO="" P_DS="" LOADS=""
best_of() { awk -v l1="$2" -v l2="$3" '$1 == "sgemm_peak" && ($2 == l1 || $2 == l2) && $10 > m { m = $10 } END { print m }' "$1"; }
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r/$ROUNDS (load $(load))" >&2
  "$B/sgemm_peak" --n 2048 --threads "$THREADS" --reps 5 >"$WORK/peak.$r"
  P_CFG="$P_CFG $(best_of "$WORK/peak.$r" openblas omp-split)"
  P_DS="$P_DS $(best_of "$WORK/peak.$r" ds_sgemm ds_sgemm)"
  if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    env -u OPENBLAS_CORETYPE "$B/sgemm_peak" --n 2048 --threads "$THREADS" --reps 5 >"$WORK/peak_auto.$r"
    P_AUTO="$P_AUTO $(best_of "$WORK/peak_auto.$r" openblas omp-split)"
  fi
  LOADS="$LOADS $(load)"
  for s in $SIZES; do
    args=(--teacher "$WORK/train.h5" --dim "$(dim_of "$s")" --layers "$(layers_of "$s")" --heads 4
          --batch 64 --len 32 --threads "$THREADS" --steps "$(steps_of "$s")" --warmup 2)
    "$B/bench_train" "${args[@]}" >"$WORK/d.$s.$r"
    $TORCH_PY "$ROOT/bench/speed_torch.py" "${args[@]}" >"$WORK/t.$s.$r"
    dargs=("${args[@]}")
    dargs[1]="$WORK/dense.h5" # the same with every position a real token: no padding to drop
    "$B/bench_train" "${dargs[@]}" >"$WORK/dd.$s.$r"
    $TORCH_PY "$ROOT/bench/speed_torch.py" "${dargs[@]}" >"$WORK/td.$s.$r"
    DD_SPS[$s]="${DD_SPS[$s]:-} $(kv "$WORK/dd.$s.$r" samples_per_sec)"
    TD_SPS[$s]="${TD_SPS[$s]:-} $(kv "$WORK/td.$s.$r" samples_per_sec)"
    DD_GF[$s]="${DD_GF[$s]:-} $(kv "$WORK/dd.$s.$r" gflops)"
    D_ROWS[$s]=$(kv "$WORK/d.$s.$r" token_rows_frac)
    if [ -n "${OPENBLAS_CORETYPE:-}" ]; then # both again with the OpenBLAS kernel it would pick for this CPU
      env -u OPENBLAS_CORETYPE "$B/bench_train" "${args[@]}" >"$WORK/da.$s.$r"
      env -u OPENBLAS_CORETYPE $TORCH_PY "$ROOT/bench/speed_torch.py" "${args[@]}" >"$WORK/ta.$s.$r"
      DA_SPS[$s]="${DA_SPS[$s]:-} $(kv "$WORK/da.$s.$r" samples_per_sec)"
      DA_GF[$s]="${DA_GF[$s]:-} $(kv "$WORK/da.$s.$r" gflops)"
      TA_SPS[$s]="${TA_SPS[$s]:-} $(kv "$WORK/ta.$s.$r" samples_per_sec)"
    fi
    D_SPS[$s]="${D_SPS[$s]:-} $(kv "$WORK/d.$s.$r" samples_per_sec)"
    T_SPS[$s]="${T_SPS[$s]:-} $(kv "$WORK/t.$s.$r" samples_per_sec)"
    D_GF[$s]="${D_GF[$s]:-} $(kv "$WORK/d.$s.$r" gflops)"
    D_CPW[$s]="${D_CPW[$s]:-} $(kv "$WORK/d.$s.$r" cpu_per_wall)"
    D_RSS[$s]=$(kv "$WORK/d.$s.$r" maxrss_kb)
    T_RSS[$s]=$(kv "$WORK/t.$s.$r" maxrss_kb)
  done
done
pc=$(echo "$P_CFG" | median)
pd=$(echo "$P_DS" | median)
pa=$([ -n "$P_AUTO" ] && echo "$P_AUTO" | median || echo 0)
PEAK=$(printf '%s\n' "$pc" "$pd" "$pa" | sort -g | tail -1)
echo
echo "sgemm peak, n 2048, $THREADS threads, best of 5 per round, median of rounds (GFLOP/s):"
echo "  OpenBLAS as configured (core ${OPENBLAS_CORETYPE:-auto}): $pc   [rounds:$P_CFG ]"
[ -n "$P_AUTO" ] && echo "  OpenBLAS with its own choice of core (OPENBLAS_CORETYPE unset): $pa   [rounds:$P_AUTO ]"
echo "  distill's ds_sgemm (kernels/ops_gemm.c): $pd   [rounds:$P_DS ]"
echo "  => peak used below: $PEAK"
echo "load average during rounds:$LOADS"
echo
train_table() { # train_table DISTILL_SPS TORCH_SPS GFLOPS KERNEL_PEAK [rss]: one row per size
  local -n ds=$1 ts=$2 gs=$3
  local kp=$4
  printf "| %-12s | %9s | %9s | %7s | %8s | %9s | %8s |" "student" "distill" "PyTorch" "ratio" "GFLOP/s" "of kernel" \
    "of best"
  [ "${5:-}" = rss ] && printf " %9s | %9s |" "RSS dist." "RSS torch"
  printf "\n|%s|" "--------------|-----------|-----------|---------|----------|-----------|----------"
  [ "${5:-}" = rss ] && printf "%s|" "-----------|-----------"
  echo
  for s in $SIZES; do
    local d t g
    d=$(echo "${ds[$s]}" | median)
    t=$(echo "${ts[$s]}" | median)
    g=$(echo "${gs[$s]}" | median)
    printf "| %-12s | %9s | %9s | %6sx | %8s | %9s | %8s |" "dim $(dim_of "$s") x $(layers_of "$s")" "$d" "$t" \
      "$(div "$d" "$t")" "$g" "$(pct "$g" "$kp")" "$(pct "$g" "$PEAK")"
    [ "${5:-}" = rss ] && printf " %9s | %9s |" "$(mb "${D_RSS[$s]}")" "$(mb "${T_RSS[$s]}")"
    echo
  done
}
first=${SIZES%% *}
echo "## Training step (samples/s, median of $ROUNDS rounds), OpenBLAS core ${OPENBLAS_CORETYPE:-auto} (as configured here)"
echo "## Sentences of random length 4-32 tokens: $(awk -v f="${D_ROWS[$first]}" 'BEGIN { printf "%.0f%%", 100 * f }') of" \
  "the positions are real tokens. distill drops the padding rows (kernels/kernels.h); PyTorch computes and masks them."
echo "## GFLOP/s: the matmul FLOPs distill executed (padding dropped); of kernel: against the sgemm peak of the"
echo "## OpenBLAS kernel the run used (core ${OPENBLAS_CORETYPE:-auto}: $pc); of best: against the best peak above ($PEAK)."
train_table D_SPS T_SPS D_GF "$pc" rss
echo
echo "## The same on full-length sentences (every position a real token: nothing to drop)"
train_table DD_SPS TD_SPS DD_GF "$pc"
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  echo
  echo "## Random lengths again with OPENBLAS_CORETYPE unset: OpenBLAS picks its kernel for this CPU (PyTorch's"
  echo "## matmuls and distill's then run the same OpenBLAS kernel)"
  train_table DA_SPS TA_SPS DA_GF "$pa"
fi
echo "(per round:"
for s in $SIZES; do
  echo "   $s distill${D_SPS[$s]} | torch${T_SPS[$s]} | full-length: distill${DD_SPS[$s]} torch${TD_SPS[$s]}" \
    "| distill auto${DA_SPS[$s]:- n/a} | torch auto${TA_SPS[$s]:- n/a} | distill cpu/wall${D_CPW[$s]}"
done
echo ")"

# ---- OpenMP wait policy: distill's driver with active vs passive threads ------------------------------------
s=128x2
ACT="" PAS=""
for r in $(seq 1 "$ROUNDS"); do
  args=(--teacher "$WORK/train.h5" --dim 128 --layers 2 --heads 4 --threads "$THREADS" --steps 16 --warmup 2)
  PAS="$PAS $(OMP_WAIT_POLICY=passive "$B/bench_train" "${args[@]}" | awk '$1 == "samples_per_sec" { print $2 }')"
  ACT="$ACT $(OMP_WAIT_POLICY=active "$B/bench_train" "${args[@]}" | awk '$1 == "samples_per_sec" { print $2 }')"
done
echo
echo "## OMP_WAIT_POLICY, distill dim 128 x 2 (samples/s, median): passive $(echo "$PAS" | median)" \
  "[$PAS ], active $(echo "$ACT" | median) [$ACT ]"

# ---- the real CLI, once ----------------------------------------------------------------------------------
{ cat "$ROOT/bench/spec_student.cfg"; cat <<CFG
[train]
steps = 40
batch_size = 64
warmup_steps = 5
threads = $THREADS
eval_every = 40
save_every = 40
CFG
} >"$WORK/cli.cfg"
unset OMP_WAIT_POLICY # the CLI sets its own
TIMEV=()
[ -x /usr/bin/time ] && TIMEV=(/usr/bin/time -v -o "$WORK/cli.time")
"${TIMEV[@]}" "$BUILD/distill" --teacher "$WORK/train.h5" --student "$WORK/cli.cfg" --out "$WORK/cli" --quiet
export OMP_WAIT_POLICY=passive
cli_sps=$(sed -n 's/.*"samples_per_sec": \([0-9.]*\).*/\1/p' "$WORK/cli/summary.json")
cli_rss=$([ -f "$WORK/cli.time" ] && awk -F': ' '/Maximum resident/ { print $2 }' "$WORK/cli.time" || true)
echo
echo "## distill CLI, dim 128 x 2, 40 steps (incl. HDF5 reads, 1 evaluation, 1 checkpoint): summary.json" \
  "samples_per_sec $cli_sps, peak RSS $(mb "$cli_rss") (load $(load))"

# ---- the HDF5 reader --------------------------------------------------------------------------------------
"$B/bench_reader" --teacher "$WORK/reader.h5" --batch 64 --len 32 --seconds 2 >"$WORK/reader"
rd=$(kv "$WORK/reader" samples_per_sec)
fastest=$(for s in $SIZES; do echo "${D_SPS[$s]}" | median; done | sort -g | tail -1)
echo
echo "## HDF5 reader (data/data.h, shuffled batches of 64 from a 50,000-row file in the page cache):" \
  "$rd samples/s, $(div "$rd" "$fastest")x the fastest training above ($fastest samples/s); peak RSS" \
  "$(mb "$(kv "$WORK/reader" maxrss_kb)")"

# ---- int8 runtime vs float model vs onnxruntime, batch 1 --------------------------------------------------
echo
d=$(dim_of "$INT8_SIZE")
cat >"$WORK/qat.cfg" <<CFG
[student]
dim = $d
layers = $(layers_of "$INT8_SIZE")
heads = 4
ffn_dim = $((4 * d))
max_len = 32
[train]
steps = 30
batch_size = 64
warmup_steps = 5
threads = $THREADS
eval_every = 30
save_every = 30
[quant]
enabled = true
start_step = 10
CFG
if "$BUILD/distill" --teacher "$WORK/train.h5" --student "$WORK/qat.cfg" --out "$WORK/qat" --quiet 2>"$WORK/qat.err" &&
  "$BUILD/distill" export --checkpoint "$WORK/qat/last.ckpt" --format native --out "$WORK/m.i8" 2>>"$WORK/qat.err"; then
  has_onnx=0
  "$BUILD/distill" export --checkpoint "$WORK/qat/last.ckpt" --format onnx --out "$WORK/m.onnx" 2>>"$WORK/qat.err" &&
    $ORT_PY -c "import onnxruntime" 2>/dev/null && has_onnx=1
  I8="" FL="" ORT="" ORT2=""
  for r in $(seq 1 "$ROUNDS"); do
    "$B/bench_int8" --native "$WORK/m.i8" --checkpoint "$WORK/qat/last.ckpt" --teacher "$WORK/train.h5" \
      --runs "$INT8_RUNS" --threads 1 --dump "$WORK/rows.bin" >"$WORK/i8.$r"
    I8="$I8 $(kv "$WORK/i8.$r" int8_latency_us)"
    FL="$FL $(kv "$WORK/i8.$r" float_latency_us)"
    if [ $has_onnx = 1 ]; then
      $ORT_PY "$ROOT/bench/speed_ort.py" "$WORK/m.onnx" "$WORK/rows.bin" --threads 1 --runs "$INT8_RUNS" >"$WORK/ort.$r"
      ORT="$ORT $(kv "$WORK/ort.$r" ort_latency_us)"
      $ORT_PY "$ROOT/bench/speed_ort.py" "$WORK/m.onnx" "$WORK/rows.bin" --threads 2 --runs "$INT8_RUNS" >"$WORK/ort2.$r"
      ORT2="$ORT2 $(kv "$WORK/ort2.$r" ort_latency_us)"
    fi
  done
  i8=$(echo "$I8" | median)
  fl=$(echo "$FL" | median)
  persec() { awk -v u="$1" 'BEGIN { if (u > 0) printf "%.0f", 1e6 / u; else print "n/a" }'; }
  echo "## Inference at batch 1, dim $d x $(layers_of "$INT8_SIZE") QAT student, 32 tokens (median of $ROUNDS rounds;" \
    "1 thread unless said)"
  printf "| %-26s | %12s | %12s | %9s |\n" "runtime" "latency (us)" "embeddings/s" "peak RSS"
  printf "|%s|\n" "----------------------------|--------------|--------------|-----------"
  printf "| %-26s | %12s | %12s | %9s |\n" "distill int8 runtime" "$i8" "$(persec "$i8")" "$(mb "$(kv "$WORK/i8.1" maxrss_kb)")"
  printf "| %-26s | %12s | %12s | %9s |\n" "distill float model" "$fl" "$(persec "$fl")" "(same process)"
  if [ $has_onnx = 1 ]; then
    o=$(echo "$ORT" | median)
    o2=$(echo "$ORT2" | median)
    printf "| %-26s | %12s | %12s | %9s |\n" "onnxruntime (QDQ export)" "$o" "$(persec "$o")" \
      "$(mb "$(kv "$WORK/ort.1" maxrss_kb)")"
    printf "| %-26s | %12s | %12s | %9s |\n" "onnxruntime, 2 threads" "$o2" "$(persec "$o2")" \
      "$(mb "$(kv "$WORK/ort2.1" maxrss_kb)")"
    echo "int8 runtime vs onnxruntime (1 thread): $(div "$o" "$i8")x; agreement: cos(int8, float)" \
      "$(kv "$WORK/i8.1" int8_float_cos), cos(onnxruntime, int8) $(kv "$WORK/ort.1" ort_int8_cos)"
  else
    echo "| onnxruntime                | n/a (not built: no ONNX export or no onnxruntime for $ORT_PY) |"
  fi
  echo "(rounds: int8$I8 | float$FL | ort$ORT | ort 2 threads$ORT2)"
else
  echo "## Inference at batch 1: n/a (not built: QAT training or native export failed: $(tail -1 "$WORK/qat.err"))"
fi
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); work files in $WORK"
