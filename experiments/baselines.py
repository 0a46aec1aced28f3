"""Baselines for a distill teacher file: what a student has to beat, on distill's own validation split.

Usage: python3 experiments/baselines.py --teacher T.h5 [--val-fraction 0.1] [--dim 256[,64,...]]
           [--token-weights none,zipf,sif] [--static-pool mean|weighted] [--knn-max-rows 20000] [--json]
numpy + h5py only. Prints, for each baseline, val_cos and val_knn10 as `distill` computes them.
Memory: ridge_bow holds the training rows' dense count features (rows x ids seen, float32) and a
Gram matrix of the smaller side: fine up to some 20,000 rows (about 2 min at 18,000 rows).

Notation. Row r has ids x_r1..x_rL and mask m_r (real tokens: m_rj = 1, [CLS] and [SEP] included);
n_r = sum_j m_rj. y_r = the row of `embeddings` (D wide). T = `token_embeddings` [V, D].
Split: row r is a validation row iff floor((r+1) f) > floor(r f) (f = --val-fraction, products in
double precision); every other row is a training row.
val_cos   = mean over validation rows of cos(pred_r, y_r) (0 for a zero prediction).
val_knn10 = mean over validation rows of |N10(pred, r) & N10(y, r)| / 10, N10(e, r) = the 10
            validation rows s != r of largest cos(e_s, e_r), ties to the lower row (as train/knn.c);
            left out (null) above --knn-max-rows validation rows.

mean               pred_r = mean of y over the training rows.
ridge_bow          features b_r[v] = (count of id v among the real tokens of r) / n_r for the ids v seen
                   in training rows (an id never seen contributes nothing but still counts in n_r);
                   pred_r = (b_r - b_mean) W + y_mean, W = argmin sum_train |(b - b_mean) W - (y - y_mean)|^2
                   + lam |W|^2, solved in closed form (primal or dual, whichever is smaller);
                   lam = c * (mean over the fitted rows of |b - b_mean|^2), c from C_GRID picked by
                   val cos on an inner split (every 10th training row held out), then refitted.
static_teacher     no training data but the token weights (Model2Vec): mu = mean of the V rows of T;
                   P [C, D] = the eigenvectors of the C largest eigenvalues of the D x D covariance
                   (T - mu)^T (T - mu) / V, one per row (C = --dim, at most D);
                   weights w_v: none: 1; zipf: log(1 + v); sif: 1e-3 / (1e-3 + p_v), p_v = the share
                   of id v among all real tokens of the training rows;
                   table E [V, C]: E_v = w_v P (T_v - mu);
                   --static-pool weighted: z_r = (sum_j m_rj E_{x_rj}) / (sum_j m_rj w_{x_rj});
                   pred_r = z_r P + mu
                   (so P^T P projects onto the top-C principal subspace; with C = D, pred_r is the
                   w-weighted mean of the token rows T_v). z_r = 0 if the weight sum is 0.
                   --static-pool mean (the default, Model2Vec's mean of weighted vectors): w'_v = w_v / (sum_v p_v w_v) (mean weight 1 over the
                   training tokens), E_v = w'_v P (T_v - mu), z_r = (sum_j m_rj E_{x_rj}) / n_r
                   (a plain mean over the tokens, as model/model.h describes the C student);
                   the same numbers as the default for weights none.
static_teacher_fit the same z_r; pred_r = (z_r - z_mean) A + y_mean with A [C, D] ridge-fitted on the
                   training rows like ridge_bow (lam = c * mean |z - z_mean|^2, c from C_GRID).
"""
import argparse
import json
import os
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
K = 10
BLOCK = 256
CHUNK = 1024


def split(n, f):
    """Boolean [n]: distill's validation rows (data/loader_split.h)."""
    before = np.floor(np.arange(n + 1, dtype=np.float64) * f).astype(np.int64)
    return before[1:] > before[:-1]


def unit(x):
    x = np.asarray(x, dtype=np.float32)
    nrm = np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    return (x / np.where(nrm > 0, nrm, 1)).astype(np.float32)


def mean_cos(pred, y):
    return float(np.mean(np.sum(unit(pred).astype(np.float64) * unit(y), axis=1)))


def neighbours(x, k=K):
    """[n, k] row indices: each row's k most cosine-similar other rows, ties to the lower index."""
    x = unit(x)
    n = len(x)
    out = np.zeros((n, k), dtype=np.int64)
    for i0 in range(0, n, BLOCK):
        s = x[i0:i0 + BLOCK] @ x.T
        s[np.isnan(s)] = -np.inf
        rows = np.arange(len(s))
        s[rows, i0 + rows] = -np.inf
        thr = np.partition(s, n - k, axis=1)[:, n - k][:, None]
        gt = s > thr
        eq = s == thr
        eq[rows, i0 + rows] = False
        need = k - gt.sum(1, keepdims=True)
        sel = gt | (eq & (np.cumsum(eq, axis=1) <= need))
        out[i0:i0 + len(s)] = np.nonzero(sel)[1].reshape(len(s), k)
    return out


def overlap(a, b):
    return float(np.mean([len(np.intersect1d(p, q, assume_unique=True)) for p, q in zip(a, b)]) / a.shape[1])


def ridge_fit(x, y, c):
    """W for centred x [n, m] (float32) and centred y, lam = c * mean |x_r|^2; primal or dual."""
    n, m = x.shape
    lam = c * float(np.einsum("ij,ij->", x, x, dtype=np.float64)) / n
    if m <= n:
        g = (x.T @ x).astype(np.float64)
        g[np.diag_indices(m)] += lam
        return np.linalg.solve(g, (x.T @ y).astype(np.float64)), lam
    k = (x @ x.T).astype(np.float64)
    k[np.diag_indices(n)] += lam
    return x.T.astype(np.float64) @ np.linalg.solve(k, y.astype(np.float64)), lam


def ridge_select(feats, y, train, log, what):
    """feats(rows, columns) -> [len(rows), m] float32. Picks c on an inner split of the training
    rows, refits on all of them; returns (predict(rows), lam, c)."""
    tr = np.flatnonzero(train)
    inner_val = tr[np.arange(len(tr)) % 10 == 9]
    inner_tr = tr[np.arange(len(tr)) % 10 != 9]

    def fit(rows, cs):
        x = feats(rows)
        xm, ym = x.mean(0), y[rows].mean(0)
        x -= xm
        fits = []
        for c in cs:
            t0 = time.time()
            w, lam = ridge_fit(x, y[rows] - ym, c)
            fits.append((w, lam))
            log("%s: c %g (lambda %.3g) fitted on %d rows x %d features in %.0f s"
                % (what, c, lam, len(rows), x.shape[1], time.time() - t0))
        return xm, ym, fits

    xm, ym, fits = fit(inner_tr, C_GRID)
    xv = feats(inner_val) - xm
    scores = [mean_cos(xv @ w + ym, y[inner_val]) for w, _ in fits]
    best = int(np.argmax(scores))
    log("%s: inner val cos by c %s -> c %g" % (what, dict(zip(C_GRID, np.round(scores, 4))), C_GRID[best]))
    xm, ym, ((w, lam),) = fit(tr, [C_GRID[best]])
    return (lambda rows: (feats(rows) - xm) @ w + ym), lam, C_GRID[best]


def bow_features(ids, mask, train):
    """feats(rows) for ridge_bow: normalised counts over the ids seen in training rows."""
    seen = np.unique(ids[train][mask[train]])
    col = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    col[seen] = np.arange(len(seen))

    def feats(rows):
        x = np.zeros((len(rows), len(seen)), dtype=np.float32)
        i, j = np.nonzero(mask[rows])
        c = col[ids[rows][i, j]]
        keep = c >= 0
        inv = (1.0 / mask[rows].sum(1)).astype(np.float32)
        np.add.at(x, (i[keep], c[keep]), inv[i[keep]])
        return x
    return feats


def token_weights(kind, vocab_size, ids, mask, train):
    if kind == "none":
        return np.ones(vocab_size)
    if kind == "zipf":
        return np.log1p(np.arange(vocab_size, dtype=np.float64))
    if kind == "sif":
        counts = np.bincount(ids[train][mask[train]], minlength=vocab_size).astype(np.float64)
        return 1e-3 / (1e-3 + counts / counts.sum())
    raise ValueError("unknown token weights %r" % kind)


def pca(table, dim):
    """(mu [D], P [C, D]): mean and top-C principal directions of the rows of table."""
    t = table.astype(np.float64)
    mu = t.mean(0)
    tc = t - mu
    vals, vecs = np.linalg.eigh(tc.T @ tc / len(t))
    order = np.argsort(-vals, kind="stable")[:min(dim, t.shape[1])]
    return mu, vecs[:, order].T


def static_z(ids, mask, e, w):
    """z [N, C]: sum over the real tokens of e[id] (rows already multiplied by w) / sum of w[id]."""
    out = np.zeros((len(ids), e.shape[1]))
    for s in range(0, len(ids), CHUNK):
        i, m = ids[s:s + CHUNK], mask[s:s + CHUNK]
        num = np.einsum("rlc,rl->rc", e[i], m)
        den = (w[i] * m).sum(1) if w is not None else m.sum(1)
        out[s:s + CHUNK] = np.where(den[:, None] != 0, num / np.where(den == 0, 1, den)[:, None], 0)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--dim", default="256", help="static_teacher PCA sizes, comma-separated")
    ap.add_argument("--token-weights", default="none,zipf,sif")
    ap.add_argument("--static-pool", choices=("weighted", "mean"), default="mean",
                    help="z_r: divide by the token count (default, as the C student) or by the row's weight sum")
    ap.add_argument("--baselines", default="mean,ridge_bow,static_teacher,static_teacher_fit")
    ap.add_argument("--knn-max-rows", "--rows-limit", type=int, default=20000,
                    help="leave kNN@10 out above this many validation rows (as distill does)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t_start = time.time()

    def log(msg):
        print("[%5.0f s] %s" % (time.time() - t_start, msg), file=sys.stderr, flush=True)

    with h5py.File(args.teacher, "r") as f:
        ids = f["input_ids"][:].astype(np.int64)
        pad = int(f.attrs.get("pad_id", 0))
        mask = f["attention_mask"][:].astype(bool) if "attention_mask" in f else ids != pad
        y = f["embeddings"][:].astype(np.float32)
        vocab_size = int(f.attrs.get("vocab_size", ids.max() + 1))
        table = f["token_embeddings"][:].astype(np.float64) if "token_embeddings" in f else None
    val = split(len(ids), args.val_fraction)
    train = ~val
    vrows = np.flatnonzero(val)
    wanted = args.baselines.split(",")
    do_knn = 2 <= len(vrows) <= args.knn_max_rows
    nb_teacher = neighbours(y[vrows]) if do_knn else None
    results = []

    def report(name, pred_val, dim=None, weights=None, lam=None, c=None):
        knn = overlap(neighbours(pred_val), nb_teacher) if do_knn and name != "mean" else None
        res = {"name": name, "dim": dim, "weights": weights, "lambda": lam, "c": c,
               "val_cos": mean_cos(pred_val, y[vrows]), "val_knn10": knn}
        results.append(res)
        log("%s: %s" % (name, res))

    if "mean" in wanted:
        report("mean", np.repeat(y[train].mean(0, keepdims=True), len(vrows), 0))
    if "ridge_bow" in wanted:
        predict, lam, c = ridge_select(bow_features(ids, mask, train), y, train, log, "ridge_bow")
        report("ridge_bow", predict(vrows), lam=lam, c=c)
    static = [b for b in ("static_teacher", "static_teacher_fit") if b in wanted]
    if static and table is None:
        log("no token_embeddings in %s: static baselines left out" % args.teacher)
        static = []
    for dim in [int(d) for d in args.dim.split(",")] if static else []:
        mu, p = pca(table, dim)
        for kind in args.token_weights.split(","):
            w = token_weights(kind, vocab_size, ids, mask, train)
            if args.static_pool == "mean":
                freq = np.bincount(ids[train][mask[train]], minlength=vocab_size).astype(np.float64)
                w = w / float(freq @ w / freq.sum())
            z = static_z(ids, mask, w[:, None] * ((table - mu) @ p.T),
                         w if args.static_pool == "weighted" else None)
            if "static_teacher" in static:
                report("static_teacher", z[vrows] @ p + mu, dim=p.shape[0], weights=kind)
            if "static_teacher_fit" in static:
                predict, lam, c = ridge_select(lambda rows: z[rows].astype(np.float32), y, train, log,
                                               "static_teacher_fit %d %s" % (p.shape[0], kind))
                report("static_teacher_fit", predict(vrows), dim=p.shape[0], weights=kind, lam=lam, c=c)

    head = {"teacher": args.teacher, "n_rows": len(ids), "n_train": int(train.sum()),
            "n_val": len(vrows), "val_fraction": args.val_fraction, "emb_dim": y.shape[1],
            "knn": do_knn, "static_pool": args.static_pool}
    if args.json:
        print(json.dumps(dict(head, baselines=results)))
        return
    print("%s: %d rows, %d train, %d validation (val_fraction %g), D %d, static pool %s"
          % (args.teacher, len(ids), head["n_train"], len(vrows), args.val_fraction, y.shape[1],
             args.static_pool))
    print("%-19s %4s %-7s %9s %8s %9s" % ("baseline", "dim", "weights", "lambda", "val_cos", "val_knn10"))
    for r in results:
        print("%-19s %4s %-7s %9s %8.4f %9s" % (
            r["name"], r["dim"] or "-", r["weights"] or "-", "%.3g" % r["lambda"] if r["lambda"] else "-",
            r["val_cos"], "%.4f" % r["val_knn10"] if r["val_knn10"] is not None else "-"))


if __name__ == "__main__":
    main()
