"""Cuts the bundled default teacher (experiments/data/teacher.h5) out of a full teacher file.

Keeps the first --rows rows (the full file's rows are already shuffled), stores embeddings,
logits and token_embeddings (whole, when the full file has them) as float16 to fit the size
budget, and copies every attribute, recomputing `label_accuracy` on the slice's own held-out rows
(the full file's value stays as `label_accuracy_full`). hidden_states rows are copied only with
--hidden-states. With --max-mb the row count shrinks until the file fits; the budget leaves
token_embeddings out (their size does not depend on the rows: about 20 MB at V 30522, D 384).

Usage: python slice_teacher.py --full /work/teacher-full/teacher.h5 \
           --out experiments/data/teacher.h5 [--rows 10000] [--max-mb 10] [--hidden-states]
"""
import argparse
import os

import h5py
import numpy as np

import head
from make_teacher import read_attrs, read_vocab, write

FLOAT16 = ("embeddings", "logits", "token_embeddings", "hidden_states")


def cut(full, out, rows, hidden_states=False):
    with h5py.File(full, "r") as f:
        arrays = {}
        names = ["input_ids", "attention_mask", "embeddings", "logits", "labels"]
        names += [n for n in ("token_embeddings",) + (("hidden_states",) if hidden_states else ())
                  if n in f]
        for name in names:
            data = f[name][:] if name == "token_embeddings" else f[name][:rows]
            arrays[name] = data.astype(np.float16) if name in FLOAT16 else data
        arrays["vocab"] = read_vocab(f)
        attrs = read_attrs(f)
    every, offset = int(attrs["label_heldout_every"]), int(attrs["label_heldout_offset"])
    heldout = np.arange(len(arrays["labels"])) % every == offset
    attrs["label_accuracy_full"] = attrs["label_accuracy"]
    attrs["label_accuracy"] = np.float64(head.accuracy(arrays["logits"][heldout].astype(np.float32),
                                                       arrays["labels"][heldout]))
    if "hidden_states" not in arrays:
        attrs.pop("hidden_states_recipe", None)
    halved = [n for n in FLOAT16 if n in arrays]
    attrs["slice"] = "rows 0..%d of the full teacher file (%d rows); %s stored as float16" % (
        len(arrays["labels"]) - 1, int(attrs["texts_total"]),
        ", ".join(halved[:-1]) + " and " + halved[-1])
    write(out, arrays, attrs)
    return attrs


def budget_mb(path):
    """The file's size without its token_embeddings, in MB."""
    with h5py.File(path, "r") as f:
        fixed = f["token_embeddings"].id.get_storage_size() if "token_embeddings" in f else 0
    return (os.path.getsize(path) - fixed) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--max-mb", type=float, default=10.0, help="size budget without token_embeddings")
    ap.add_argument("--hidden-states", action="store_true", help="copy hidden_states rows too")
    args = ap.parse_args()
    rows = args.rows
    while True:
        attrs = cut(args.full, args.out, rows, args.hidden_states)
        mb = budget_mb(args.out)
        if mb <= args.max_mb:
            break
        rows = int(rows * args.max_mb / mb * 0.98)
        if rows < 1:
            raise SystemExit("%s: cannot fit in %g MB" % (args.out, args.max_mb))
    print("wrote %s: %d rows, %.2f MB (%.2f MB without token_embeddings), held-out label accuracy %.4f (full file %.4f)"
          % (args.out, rows, os.path.getsize(args.out) / 1e6, mb, attrs["label_accuracy"], attrs["label_accuracy_full"]))


if __name__ == "__main__":
    main()
