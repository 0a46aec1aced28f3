"""Cuts the bundled default teacher (experiments/data/teacher.h5) out of a full teacher file.

Keeps the first --rows rows (the full file's rows are already shuffled), stores embeddings and
logits as float16 to fit the size budget, and copies every attribute, recomputing
`label_accuracy` on the slice's own held-out rows (the full file's value stays as
`label_accuracy_full`). With --max-mb the row count shrinks until the file fits.

Usage: python slice_teacher.py --full /work/teacher-full/teacher.h5 \
           --out experiments/data/teacher.h5 [--rows 10000] [--max-mb 10]
"""
import argparse
import os

import h5py
import numpy as np

import head
from make_teacher import write

FLOAT16 = ("embeddings", "logits")


def cut(full, out, rows):
    with h5py.File(full, "r") as f:
        arrays = {}
        for name in ("input_ids", "attention_mask", "embeddings", "logits", "labels"):
            data = f[name][:rows]
            arrays[name] = data.astype(np.float16) if name in FLOAT16 else data
        arrays["vocab"] = [v.decode("utf-8") if isinstance(v, bytes) else v for v in f["vocab"][:]]
        attrs = {k: v for k, v in f.attrs.items()}
    attrs = {k: [x.decode() if isinstance(x, bytes) else x for x in v]
             if isinstance(v, np.ndarray) and v.dtype.kind == "O" else v for k, v in attrs.items()}
    every, offset = int(attrs["label_heldout_every"]), int(attrs["label_heldout_offset"])
    heldout = np.arange(len(arrays["labels"])) % every == offset
    attrs["label_accuracy_full"] = attrs["label_accuracy"]
    attrs["label_accuracy"] = np.float64(head.accuracy(arrays["logits"][heldout].astype(np.float32),
                                                       arrays["labels"][heldout]))
    attrs["slice"] = "rows 0..%d of the full teacher file (%d rows); embeddings and logits " \
                     "stored as float16" % (len(arrays["labels"]) - 1, int(attrs["texts_total"]))
    write(out, arrays, attrs)
    return attrs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--max-mb", type=float, default=10.0)
    args = ap.parse_args()
    rows = args.rows
    while True:
        attrs = cut(args.full, args.out, rows)
        mb = os.path.getsize(args.out) / 1e6
        if mb <= args.max_mb:
            break
        rows = int(rows * args.max_mb / mb * 0.98)
        if rows < 1:
            raise SystemExit("%s: cannot fit in %g MB" % (args.out, args.max_mb))
    print("wrote %s: %d rows, %.2f MB, held-out label accuracy %.4f (full file %.4f)"
          % (args.out, rows, mb, attrs["label_accuracy"], attrs["label_accuracy_full"]))


if __name__ == "__main__":
    main()
