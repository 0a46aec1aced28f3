"""Builds a distill teacher file (SPEC.md "Teacher file") from a real sentence-embedding model.

Teacher (--model, see models.py): minilm = sentence-transformers/all-MiniLM-L6-v2 (default),
paraphrase-l3 = sentence-transformers/paraphrase-MiniLM-L3-v2; each with its own pooling and
normalisation. Corpus (--corpus): debian = Debian package descriptions labelled by archive Section
(corpus.py, default); pydoc = Python docstrings labelled by top-level package (corpus_pydoc.py).
Logits: a linear softmax head fitted on the embeddings of the training rows (head.py, its L2
chosen on an inner validation split of the training rows); rows
i % --heldout-every == --heldout-every - 1 are held out and give `label_accuracy`.
token_embeddings [V, D]: the sentence embedding of each vocabulary id alone, "[CLS] id [SEP]"
(mask all ones), pooled and normalised like the rows (Model2Vec's recipe). --hidden-states adds
hidden_states [N, L, H] float16: the last layer's token states, zeros at padding.
--add-token-embeddings FILE only appends token_embeddings to an existing teacher file.

Usage: python make_teacher.py --out /work/teacher-full/teacher.h5 [--rows N] [--max-len 64]
       [--seed 1] [--batch-size 128] [--threads 0] [--model minilm|paraphrase-l3]
       [--corpus debian|pydoc] [--hidden-states] [--no-token-embeddings]
       python make_teacher.py --add-token-embeddings experiments/data/teacher.h5 [--threads 1]
"""
import argparse
import os
import shutil
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import corpus  # noqa: E402
import corpus_pydoc  # noqa: E402
import head  # noqa: E402
import models  # noqa: E402

TOKEN_BATCH = 1024


def tokenize(tok, texts, max_len):
    """[CLS] ... [SEP] ids truncated to max_len, padded with 0; and the mask."""
    tok.enable_truncation(max_len)
    tok.no_padding()
    ids = np.zeros((len(texts), max_len), dtype=np.int32)
    for i, enc in enumerate(tok.encode_batch(texts)):
        ids[i, :len(enc.ids)] = enc.ids
    return ids, (ids != 0).astype(np.uint8)


def embed(teacher, ids, mask, batch_size, log, hidden_out=None):
    """Sentence embeddings of every row, batched by length to waste no padding. With hidden_out
    (a float16 dataset [N, L, H]) the last layer's token states are written there as they come,
    zeros at padding."""
    lengths = mask.sum(1)
    order = np.argsort(-lengths, kind="stable")
    out = None
    t0 = time.time()
    for k in range(0, len(order), batch_size):
        rows = order[k:k + batch_size]
        width = int(lengths[rows].max())
        pooled, hidden = teacher.run(ids[rows, :width], mask[rows, :width], hidden_out is not None)
        if out is None:
            out = np.zeros((len(ids), pooled.shape[1]), dtype=np.float32)
        out[rows] = pooled
        if hidden_out is not None:
            states = np.zeros((len(rows),) + hidden_out.shape[1:], dtype=np.float16)
            states[:, :width] = hidden * mask[rows, :width, None]
            for j in np.argsort(rows):
                hidden_out[rows[j]] = states[j]
        if (k // batch_size) % 50 == 0:
            log("embedded %d/%d rows (%.0f s)" % (k + len(rows), len(order), time.time() - t0))
    return out


def token_embeddings(teacher, vocab_size, log):
    """[V, D] float32: the sentence embedding of "[CLS] id [SEP]" for every id (mask all ones)."""
    cls, sep = teacher.tok.token_to_id("[CLS]"), teacher.tok.token_to_id("[SEP]")
    out = None
    t0 = time.time()
    for start in range(0, vocab_size, TOKEN_BATCH):
        ids = np.arange(start, min(start + TOKEN_BATCH, vocab_size))
        x = np.stack([np.full_like(ids, cls), ids, np.full_like(ids, sep)], axis=1)
        pooled, _ = teacher.run(x, np.ones_like(x))
        if out is None:
            out = np.zeros((vocab_size, pooled.shape[1]), dtype=np.float32)
        out[ids] = pooled
    log("token_embeddings: %d ids in %.0f s" % (vocab_size, time.time() - t0))
    return out


def token_recipe(teacher):
    return ("row i = the teacher's sentence embedding of the 3 tokens [CLS] i [SEP] (attention mask "
            "all ones), with its own pooling and normalisation: %s" % teacher.describe())


def write(path, arrays, attrs, tmp_file=None):
    """Writes the datasets and root attributes, through path + ".tmp" renamed at the end.
    tmp_file: that temporary file already open (datasets written into it earlier stay)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with tmp_file if tmp_file is not None else h5py.File(tmp, "w") as f:
        for name, data in arrays.items():
            if name == "vocab":
                f.create_dataset(name, data=data, dtype=h5py.string_dtype("utf-8"))
                continue
            if data.ndim == 3:
                chunks = (1,) + data.shape[1:]
            else:
                chunks = (min(1024, len(data)),) + data.shape[1:]
            f.create_dataset(name, data=data, chunks=chunks, compression="gzip",
                             compression_opts=4, shuffle=True)
        for k, v in attrs.items():
            if isinstance(v, list):
                v = np.array(v, dtype=h5py.string_dtype("utf-8"))
            f.attrs[k] = v
    os.replace(tmp, path)


def read_vocab(f):
    """The `vocab` strings of an open teacher file, as str."""
    return [v.decode("utf-8") if isinstance(v, bytes) else v for v in f["vocab"][:]]


def read_attrs(f):
    """The root attributes of an open teacher file, string arrays as lists of str (as write() takes them)."""
    return {k: [x.decode() if isinstance(x, bytes) else x for x in v]
            if isinstance(v, np.ndarray) and v.dtype.kind == "O" else v for k, v in f.attrs.items()}


def vocab_of(tok):
    return [t for t, _ in sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])]


def add_token_embeddings(path, model, threads, log):
    """Appends token_embeddings (float16 if the file's embeddings are) to an existing teacher file
    made with `model`, after checking the file's teacher, vocabulary and first embeddings."""
    teacher = models.load(model, threads)
    with h5py.File(path, "r") as f:
        if "token_embeddings" in f:
            raise SystemExit("%s: already has token_embeddings" % path)
        name = f.attrs["teacher"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        if not name.startswith(teacher.name + " "):
            raise SystemExit("%s: teacher %r is not %s" % (path, name, teacher.name))
        vocab = read_vocab(f)
        if vocab != vocab_of(teacher.tok) or int(f.attrs["vocab_size"]) != len(vocab):
            raise SystemExit("%s: vocabulary differs from the tokenizer's" % path)
        ids, mask, emb = f["input_ids"][:64], f["attention_mask"][:64], f["embeddings"][:64]
        dtype = np.float16 if f["embeddings"].dtype == np.float16 else np.float32
    width = int(mask.sum(1).max())
    check = np.abs(teacher.run(ids[:, :width], mask[:, :width])[0] - emb.astype(np.float32)).max()
    log("first 64 rows re-embedded: max |difference| to the file's embeddings %.2g" % check)
    if check > 1e-2:
        raise SystemExit("%s: its embeddings were not made by %s" % (path, teacher.describe()))
    table = token_embeddings(teacher, len(vocab), log).astype(dtype)
    tmp = path + ".tmp"
    shutil.copyfile(path, tmp)
    with h5py.File(tmp, "a") as f:
        f.create_dataset("token_embeddings", data=table, chunks=(min(1024, len(table)), table.shape[1]),
                         compression="gzip", compression_opts=4, shuffle=True)
        f.attrs["token_embeddings_recipe"] = token_recipe(teacher) + (
            "; added by make_teacher.py --add-token-embeddings, stored as %s" % np.dtype(dtype).name)
    os.replace(tmp, path)
    log("added token_embeddings %s %s to %s (%.1f MB now)" %
        (np.dtype(dtype).name, table.shape, path, os.path.getsize(path) / 1e6))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out")
    ap.add_argument("--rows", type=int, default=0, help="keep the first N shuffled rows (0 = all)")
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="torch/onnxruntime threads (0 = all cores)")
    ap.add_argument("--heldout-every", type=int, default=5)
    ap.add_argument("--model", choices=models.NAMES, default="minilm")
    ap.add_argument("--corpus", choices=("debian", "pydoc"), default="debian")
    ap.add_argument("--hidden-states", action="store_true",
                    help="also write hidden_states [N, L, H] float16 (about 40 kB a row)")
    ap.add_argument("--no-token-embeddings", action="store_true")
    ap.add_argument("--add-token-embeddings", metavar="FILE",
                    help="only append token_embeddings to FILE, made with --model")
    args = ap.parse_args()
    t_start = time.time()

    def log(msg):
        print("[%6.0f s] %s" % (time.time() - t_start, msg), file=sys.stderr, flush=True)

    import torch
    torch.manual_seed(args.seed)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.add_token_embeddings:
        add_token_embeddings(args.add_token_embeddings, args.model, args.threads, log)
        return
    if not args.out:
        ap.error("--out is required")

    source = corpus if args.corpus == "debian" else corpus_pydoc
    texts, labels, label_names, stats = source.load()
    log("corpus: %s" % stats)
    order = np.random.default_rng(args.seed).permutation(len(texts))
    if args.rows > 0:
        order = order[:args.rows]
    texts = [texts[i] for i in order]
    labels = np.array([labels[i] for i in order], dtype=np.int32)

    teacher = models.load(args.model, args.threads)
    ids, mask = tokenize(teacher.tok, texts, args.max_len)
    log("tokenized %d rows, %d truncated at %d tokens" %
        (len(ids), int((mask[:, -1] == 1).sum()), args.max_len))
    tmp_file = None
    hidden_out = None
    if args.hidden_states:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        tmp_file = h5py.File(args.out + ".tmp", "w")
        hidden_out = tmp_file.create_dataset(
            "hidden_states", shape=(len(ids), args.max_len, teacher.hidden_size), dtype=np.float16,
            chunks=(1, args.max_len, teacher.hidden_size), compression="gzip", compression_opts=4,
            shuffle=True)
    emb = embed(teacher, ids, mask, args.batch_size, log, hidden_out)

    rows = np.arange(len(texts))
    heldout = rows % args.heldout_every == args.heldout_every - 1
    w, b, l2, scores = head.fit_select(emb[~heldout], labels[~heldout], len(label_names))
    log("head: inner validation accuracy by L2 %s -> L2 %g" % (scores, l2))
    logits = (emb.astype(np.float64) @ w + b).astype(np.float32)
    acc = head.accuracy(logits[heldout], labels[heldout])
    train_acc = head.accuracy(logits[~heldout], labels[~heldout])
    log("head: train accuracy %.4f, held-out accuracy %.4f (%d rows)" %
        (train_acc, acc, int(heldout.sum())))

    vocab = vocab_of(teacher.tok)
    arrays = {"input_ids": ids, "attention_mask": mask, "embeddings": emb,
              "logits": logits, "labels": labels, "vocab": vocab}
    attrs = {
        "vocab_size": np.int64(len(vocab)),
        "pad_id": np.int64(0),
        "teacher": teacher.describe(),
        "corpus": source.description(len(label_names) - 1, stats),
        "label_names": list(label_names),
        "label_accuracy": np.float64(acc),
        "label_train_accuracy": np.float64(train_acc),
        "label_heldout": "rows i with i %% %d == %d were held out of the head's fit"
                         % (args.heldout_every, args.heldout_every - 1),
        "label_heldout_every": np.int64(args.heldout_every),
        "label_heldout_offset": np.int64(args.heldout_every - 1),
        "label_head": "linear softmax on the embeddings, Adam full batch, L2 %g chosen on an "
                      "inner validation split of the training rows" % l2,
        "max_len": np.int64(args.max_len),
        "seed": np.int64(args.seed),
        "texts_total": np.int64(stats["unique_texts"]),
    }
    if not args.no_token_embeddings:
        arrays["token_embeddings"] = token_embeddings(teacher, len(vocab), log)
        attrs["token_embeddings_recipe"] = token_recipe(teacher)
    if args.hidden_states:
        attrs["hidden_states_recipe"] = ("the last layer's token states (before pooling) of every "
                                         "row, zeros at padding, float16, one chunk per row")
    write(args.out, arrays, attrs, tmp_file)
    log("wrote %s: %d rows, L=%d, %d classes, %.1f MB, %.0f s in all" %
        (args.out, len(ids), args.max_len, len(label_names),
         os.path.getsize(args.out) / 1e6, time.time() - t_start))


if __name__ == "__main__":
    main()
