#!/usr/bin/env bash
# Regenerates tests/fuzz/bases/ and the seed inputs of tests/fuzz/corpus/ with the project's own tools
# (tests/fuzz/README.md). Not run by scripts/fuzz.sh: the outputs are committed. Regression inputs
# (corpus/*/regress-*) are kept; every other seed is rewritten.
#   bash tests/fuzz/make_corpus.sh [BUILD_DIR]   (default build-fuzz, configured by scripts/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
cmake --build "$build" -j2 --target distill make_synthetic_teacher make_fuzz_bases > /dev/null
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
distill=$build/distill
work=$(mktemp -d "${TMPDIR:-/tmp}/distill_fuzz_corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
bases=tests/fuzz/bases corpus=tests/fuzz/corpus
mkdir -p "$bases"
for c in config tokenizer int8_model export_inspect teacher checkpoint; do
  mkdir -p "$corpus/$c"
  find "$corpus/$c" -type f ! -name 'regress-*' -delete
done

# ---- base files: two teachers, three checkpoints ----
"$build/make_synthetic_teacher" --out "$bases/teacher.h5" --rows 20 --len 8 --vocab 40 --classes 3 --emb-dim 8 \
  --dim 16 --layers 1 --heads 2 --ffn 16 > /dev/null
"$build/make_fuzz_bases" "$bases/teacher_rich.h5"
common='[train]
steps = 4
batch_size = 4
warmup_steps = 1
threads = 1
eval_every = 2
save_every = 2
val_fraction = 0.2'
# Both runs train the same shape: a [student] section that the two configs below go on with.
shape='[student]
dim = 8
layers = 1
heads = 2
ffn_dim = 8
max_len = 8'
cat > "$work/float.cfg" <<CFG
$shape
init = teacher
$common
[loss]
hidden_weight = 1.0
[prune]
enabled = true
ffn = 0.5
start_step = 1
end_step = 3
every = 1
CFG
cat > "$work/qat.cfg" <<CFG
$shape
init = random
pooling = cls
$common
[quant]
enabled = true
start_step = 1
learn_scales = true
CFG
cat > "$work/static_qat.cfg" <<CFG
[student]
arch = static
dim = 8
max_len = 8
$common
[quant]
enabled = true
start_step = 1
[prune]
enabled = true
vocab = true
start_step = 1
end_step = 3
every = 1
CFG
"$distill" --teacher "$bases/teacher_rich.h5" --student "$work/float.cfg" --out "$work/float" --quiet
"$distill" --teacher "$bases/teacher.h5" --student "$work/qat.cfg" --out "$work/qat" --quiet
"$distill" --teacher "$bases/teacher_rich.h5" --student "$work/static_qat.cfg" --out "$work/static_qat" --quiet
for m in float qat static_qat; do cp "$work/$m/last.ckpt" "$bases/$m.ckpt"; done

# ---- config: the bundled experiments, a written config, broken ones; overrides after NUL bytes ----
cp experiments/default.cfg "$corpus/config/default.cfg"
cp "$work/qat/config.cfg" "$corpus/config/written.cfg"
cp "$work/static_qat.cfg" "$corpus/config/static.cfg"
printf '[student]\ndim = 64\nheads = 3\n' > "$corpus/config/bad-heads.cfg"
printf '[student]\ndim=32 # c\n[train]\nlr = 1e-3\nlr = 2e-3\n[nope]\n' > "$corpus/config/bad-dup.cfg"
printf '[student]\nlayers = 99999999999999999999\nout_dim = teacher\n' > "$corpus/config/bad-range.cfg"
printf '[student]\nmax_len = 16\n\0train.lr=0.01\0student.heads = 2\0quant.freeze_step=-1\0run.name=a b\0prune.ffn=1' \
  > "$corpus/config/overrides.cfg"

# ---- tokenizer: flags, max_len (2 bytes), text ----
tok() { printf "$1" > "$corpus/tokenizer/$2"; }
tok '\000\100\000Hello, World! naïve café — 中文 [SEP] [MASK] re-loadable' plain
tok '\000\010\000The quick brown fox jumps over the lazy dog.' truncated
tok '\000\377\003\377\376\300\200\355\240\200\364\220\200\200 bad utf8 \xc3\x28' invalid-utf8
tok '\004\040\000\001\002aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ' long
tok '\003\020\000hello\n##lo\nhe\n\nhello hello helo [CLS]' own-vocab
tok '\001\020\000[CLS]\n[SEP]\n[UNK]\n[PAD]\n[CLS]\n\n[PAD] x [UNK]' own-vocab-dups
head -c 3000 tests/tokenizer/fixtures/tokenizer_sample.txt | tail -c 2000 | { printf '\000\000\001'; cat; } > "$corpus/tokenizer/sample"

# ---- int8 models and exported files, from the two QAT checkpoints ----
for m in qat static_qat; do
  for f in native onnx tflite encodings; do "$distill" export --checkpoint "$bases/$m.ckpt" --format "$f" --out "$work/$m.$f"; done
  "$distill" export --checkpoint "$bases/$m.ckpt" --format onnx --uint8 --w8a16 --out "$work/$m.u8.onnx"
  "$distill" export --checkpoint "$bases/$m.ckpt" --format tflite --target qnn-htp --out "$work/$m.htp.tflite"
  cp "$work/$m.native" "$corpus/int8_model/$m.native"
  head -c 200 "$work/$m.native" > "$corpus/int8_model/$m-truncated.native"
  for f in onnx tflite encodings u8.onnx htp.tflite; do cp "$work/$m.$f" "$corpus/export_inspect/$m.$f"; done
done
head -c 300 "$work/qat.onnx" > "$corpus/export_inspect/truncated.onnx"
head -c 300 "$work/qat.tflite" > "$corpus/export_inspect/truncated.tflite"
printf '{"activation_encodings": {"x": [{"bitwidth": 8, "scale": 0.1, "offset": -3}]}, "param_encodings": {"w\\' \
  > "$corpus/export_inspect/broken.json"

# ---- teacher and checkpoint: base byte + mutation program (h5_mutate.c: opcode, target, operands) ----
python3 - "$corpus" <<'PY'
import sys
corpus = sys.argv[1]
def seed(harness, name, items):  # a list of byte values and byte strings
    data = b"".join(x if isinstance(x, bytes) else bytes([x]) for x in items)
    open(f"{corpus}/{harness}/{name}", "wb").write(data)
DELETE, CREATE, RETYPE, RESHAPE, POKE, EXTENT, ATTR_SET, ATTR_DEL, ATTR_EDIT, GROUP, LINK, COPY = range(12)
S = lambda i: 0x80 | i  # a name the schema knows, by index
# teacher schema: 0 input_ids 1 attention_mask 2 logits 3 embeddings 4 labels 5 vocab 6 token_embeddings 7 hidden_states
# attributes: 0 vocab_size 1 pad_id 2 teacher
seed("teacher", "base", [0])
seed("teacher", "rich", [1])
seed("teacher", "no-mask", [0, DELETE, S(1)])
seed("teacher", "nan-embedding", [0, POKE, S(3), 0, 5, 0, 0, 0, 0, 2, 5, 0])
seed("teacher", "id-past-vocab", [0, POKE, S(0), 0, 9, 0, 0, 0, 1, 2, 10, 1])
seed("teacher", "small-vocab-size", [0, ATTR_SET, S(0), 0, 5, 0, 0, 0])
seed("teacher", "more-rows", [0, EXTENT, S(0), 2, 0x80 | 42, 0x80 | 32])
seed("teacher", "huge-rows", [1, EXTENT, S(7), 3, 0xF8, 0x80 | 32, 0x80 | 32])
seed("teacher", "int-token-emb", [1, RETYPE, S(6), 4, 0])
seed("teacher", "token-emb-from-emb", [0, COPY, S(3), S(6)])
seed("teacher", "labels-as-group", [0, GROUP, S(4)])
seed("teacher", "vocab-link", [1, LINK, S(5), 0])
seed("teacher", "vocab-fixed-strings", [1, RETYPE, S(5), 14, 8, 1, 0, 4, 16, b"[CLS][SEP][UNK]x"])
seed("teacher", "reshape-ids", [0, RESHAPE, S(0), 3, 20, 2, 4, 1])
# checkpoint attributes: 0 format 1 format_version 2 config 3 step ... 9 arch 10 vocab 11 max_len 12 dim 13 n_layers
# datasets: 0 /shape/heads 1 /shape/ffn 2 /masks/heads 3 /masks/ffn 4 /params/tok_emb.weight ... 13 /vocab_map 15 /quant/scale
seed("checkpoint", "float", [0])
seed("checkpoint", "qat", [1])
seed("checkpoint", "static-qat", [2])
seed("checkpoint", "config-edit", [1, ATTR_EDIT, S(2), 0, 40, 0, 1, 12, b"\n[nope]\nx=1\n"])
seed("checkpoint", "many-layers", [0, ATTR_SET, S(13), 0, 7, 0, 0, 0])
seed("checkpoint", "heads-negative", [0, POKE, S(0), 0, 0, 0, 0, 0, 0, 2, 2, 0])
seed("checkpoint", "no-scales", [1, DELETE, S(15)])
seed("checkpoint", "zero-scale", [1, POKE, S(15), 1, 3, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 2, 0, 0])
seed("checkpoint", "vocab-map-past", [2, POKE, S(13), 0, 4, 0, 0, 0, 0, 2, 21, 0])
seed("checkpoint", "format-version", [0, ATTR_SET, S(1), 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x80])
seed("checkpoint", "dim-huge", [2, ATTR_SET, S(12), 0, 19, 0, 0, 0])
seed("checkpoint", "tok-emb-reshape", [0, RESHAPE, S(4), 2, 0x80 | 33, 0x80 | 32, 1])
PY
du -sh "$bases" "$corpus"/*
