"""Builds teacher files that differ only in how many training rows they hold, all with the same validation rows.

Answers "how many rows of text does the default recipe need?" (RESULTS.md): every file puts the same
--val-rows rows of a full teacher file (its last ones) where distill's split (`val_fraction` = 1 / (k + 1),
data/loader_split.h) reads validation rows, and k training rows (the full file's first ones) before each,
so val cos and kNN@10 are over the same rows in every file and only the training set grows.

Usage: python scaling_files.py --full /work/teacher-full/teacher.h5 --out-dir DIR [--train 9000 18000 ...]
Prints, per file, the path and the `--set train.val_fraction=...` to train it with.
"""
import argparse
import os
import sys

import h5py
import numpy as np

from make_teacher import read_attrs, read_vocab, write

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import baselines  # noqa: E402  (distill's split)

PER_ROW = ("input_ids", "attention_mask", "embeddings", "logits", "labels")


def build(full, out, n_train, n_val):
    if n_train % n_val:
        raise SystemExit("--train %d is not a multiple of --val-rows %d" % (n_train, n_val))
    f_val = 1.0 / (n_train // n_val + 1)
    n_rows = n_train + n_val
    is_val = baselines.split(n_rows, f_val)
    if int(is_val.sum()) != n_val:
        raise SystemExit("split with val_fraction %r gives %d validation rows, not %d" % (f_val, is_val.sum(), n_val))
    with h5py.File(full, "r") as f:
        missing = [name for name in PER_ROW + ("token_embeddings", "vocab") if name not in f]
        if missing:
            raise SystemExit("%s: no dataset %s (a full file from make_teacher.py has them)" % (full, ", ".join(missing)))
        total = len(f["labels"])
        if n_train + n_val > total:
            raise SystemExit("%s has %d rows, fewer than %d + %d" % (full, total, n_train, n_val))
        order = np.empty(n_rows, dtype=np.int64)
        order[~is_val] = np.arange(n_train)
        order[is_val] = np.arange(total - n_val, total)
        arrays = {name: f[name][:][order] for name in PER_ROW}
        arrays["token_embeddings"] = f["token_embeddings"][:].astype(np.float16)
        arrays["embeddings"] = arrays["embeddings"].astype(np.float16)
        arrays["logits"] = arrays["logits"].astype(np.float16)
        arrays["vocab"] = read_vocab(f)
        attrs = read_attrs(f)
    # The full file's held-out rows of the label head are scattered by the reordering; its accuracy stays as the
    # full file's. No hidden_states are copied.
    attrs["label_accuracy_full"] = attrs.pop("label_accuracy")
    for key in ("label_heldout", "label_heldout_every", "label_heldout_offset", "hidden_states_recipe"):
        attrs.pop(key, None)
    attrs["slice"] = ("scaling file: the first %d rows of the full teacher file (%d rows) for training and its "
                      "last %d for validation, at the rows val_fraction %r makes validation rows"
                      % (n_train, total, n_val, f_val))
    write(out, arrays, attrs)
    return f_val


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--train", type=int, nargs="+", default=[9000, 18000, 36000, 57000])
    ap.add_argument("--val-rows", type=int, default=1000)
    args = ap.parse_args()
    for n in args.train:
        out = os.path.join(args.out_dir, "train_%d.h5" % n)
        f_val = build(args.full, out, n, args.val_rows)
        print("%s --set train.val_fraction=%r" % (out, f_val))


if __name__ == "__main__":
    main()
