# Shared by the MPI tests (sourced, not run): a small teacher file and a student config, and the cases the
# equivalence test trains with 1 process and with `mpirun -np 2` at the same global batch.
#   mpi_make_inputs BIN DIR    writes DIR/t.h5 (synthetic teacher: logits, labels, embeddings) and DIR/s.cfg
#   MPI_CASES                  case names; mpi_case_sets NAME prints that case's options
# QAT cases stop 4 (token_rows: 2) fake-quant steps after start_step: rounding makes QAT runs chaotic, so two runs whose
# gradients differ in the last bit (or one run with lr changed by 2.5e-7 relative) drift to 1e-3 apart within
# ~12 fake-quant steps; docs/mpi.md has the measurements. token_rows trains on the bundled real teacher (it
# needs token_embeddings and a vocabulary), with learned scales: two backward passes per step, sparse rows.
MPI_CASES="float ce_sim prune qat_ema qat_lsq token_rows token_dropout"

mpi_make_inputs() {
  "$1/make_synthetic_teacher" --out "$2/t.h5" --rows 1200 --len 16 --vocab 400 --classes 5 --emb-dim 16 \
    --dim 32 --layers 1 --heads 2 --ffn 64 --seed 7 > /dev/null || return 1
  cat > "$2/s.cfg" << CFG
[student]
dim = 32
layers = 2
heads = 4
ffn_dim = 64
max_len = 16
[train]
steps = ${MPI_STEPS:-16}
batch_size = 16
lr = 2e-3
warmup_steps = 2
seed = 3
threads = 1
val_fraction = 0.1
eval_every = 8
save_every = 8
CFG
}

mpi_case_sets() {
  case $1 in
    float) ;;
    ce_sim) echo "--set loss.ce_weight=0.5 --set loss.sim_weight=0.5" ;;
    token_dropout) echo "--set train.token_dropout=0.3" ;;
    prune) echo "--set prune.enabled=true --set prune.heads=0.5 --set prune.ffn=0.5 --set prune.vocab=true" \
      "--set prune.start_step=4 --set prune.end_step=12 --set prune.every=4 --set prune.criterion=taylor" ;;
    qat_ema) echo "--steps 8 --set quant.enabled=true --set quant.start_step=4 --set quant.observer=ema" ;;
    qat_lsq) echo "--steps 8 --set quant.enabled=true --set quant.start_step=4 --set quant.learn_scales=true" ;;
    token_rows) echo "--teacher $MPI_SRC/experiments/data/teacher.h5 --steps 6 --set student.max_len=24" \
      "--set student.init=random --set train.token_rows=6 --set train.val_fraction=0.01" \
      "--set quant.enabled=true --set quant.start_step=4 --set quant.learn_scales=true" ;;
  esac
}
