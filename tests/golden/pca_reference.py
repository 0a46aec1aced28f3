#!/usr/bin/python3
"""numpy reference of the PCA and the teacher-derived initialization (model/pca.h, model/model.h).

Writes tests/model/pca_golden.h (with pca_golden_c5.h and pca_golden_c16.h), which tests/model/test_pca_init.c compares ds_pca,
ds_token_weights_compute, ds_student_init_from_teacher and ds_student_forward against.

Written from the headers' description, not from model/*.c:
  - PCA of the V rows of a token table T [V, D]: mean mu; covariance (T - mu)^T (T - mu); its eigenvectors
    by decreasing eigenvalue (np.linalg.eigh), each with its largest-|.| component positive; variance =
    eigenvalue / V; axes past D are zero rows.
  - token weights: none 1, zipf log(1 + id), sif a / (a + p_id) (a = 1e-3), each divided by their mean over
    the training tokens, sum_id p_id w_id.
  - token table row id = w_id P (t_id - mu) (C columns; past D zero); projection weight P^T [D, C], bias mu.
  - static student: emb = P^T mean_t(row of id_t over the real tokens) + mu.
  - transformer from the teacher: the stream is the token row; the final LayerNorm (eps 1e-5, biased
    variance, bias 0) with gain g = sqrt(sum_id p_id |row_id|^2 / C) renormalises each token vector; then the
    mean over the real tokens and the same projection.
The token table is drawn here (seeded), rounded to float32 and written as float32: the reference runs in
float64 from exactly those float32 values.

Regenerate (numpy only; the output is byte-identical for the same numpy):
    /usr/bin/python3 tests/golden/pca_reference.py              # rewrites tests/model/pca_golden*.h
    /usr/bin/python3 tests/golden/pca_reference.py --check      # self-checks only, writes nothing
"""
import argparse
import os
import sys

import numpy as np

V, D = 40, 12
DIMS = (5, 16)              # a student narrower than the teacher's D, and one wider (zero columns)
SIF_A = 1e-3
LN_EPS = 1e-5
B, T = 3, 6
IDS = [[3, 17, 0, 39, 8, 8],   # 6 real tokens (ids 0: zipf weight 0; 39 never seen in training)
       [5, 5, 22, 1, 30, 2],   # 4 real, then padding reading ids 30 and 2
       [11, 7, 7, 7, 7, 7]]    # 1 real token
LENS = [6, 4, 1]
WEIGHTS = ("none", "zipf", "sif")


def make_table(seed=20261206):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    scales = np.geomspace(3.0, 0.25, D)        # anisotropic: well separated eigenvalues
    z = rng.standard_normal((V, D))
    offset = rng.standard_normal(D) * 0.5
    return ((z * scales) @ q.T + offset).astype(np.float32)


def make_freq():
    counts = np.array([0 if i % 7 == 3 or i == 39 else 1 + (i * 37) % 23 for i in range(V)], dtype=np.float64)
    counts[1] = 400.0                          # one very frequent token: SIF pushes it down
    return counts / counts.sum()


def pca(table, k):
    t = table.astype(np.float64)
    mu = t.mean(0)
    tc = t - mu
    vals, vecs = np.linalg.eigh(tc.T @ tc)
    order = np.argsort(-vals, kind="stable")
    vals, vecs = vals[order], vecs[:, order]
    axes = np.zeros((k, D))
    var = np.zeros(k)
    for a in range(min(k, D)):
        v = vecs[:, a]
        v = v if v[np.argmax(np.abs(v))] > 0 else -v
        axes[a] = v
        var[a] = vals[a] / len(t)
    return mu, axes, var, vals


def token_weights(kind, freq):
    ids = np.arange(V, dtype=np.float64)
    w = {"none": np.ones(V), "zipf": np.log1p(ids), "sif": SIF_A / (SIF_A + freq)}[kind]
    return w / float(freq @ w)


def layernorm(x, gain):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + LN_EPS) * gain


def reference(table, freq):
    out = {}
    ids = np.array(IDS)
    mask = np.array([[1 if j < n else 0 for j in range(T)] for n in LENS], dtype=np.float64)
    for c in DIMS:
        mu, axes, var, _ = pca(table, c)
        out["mean"] = mu
        out["axes%d" % c], out["var%d" % c] = axes, var
        out["proj_w%d" % c] = axes.T.copy()    # (D, C)
        for kind in WEIGHTS:
            w = token_weights(kind, freq)
            rows = w[:, None] * ((table.astype(np.float64) - mu) @ axes.T)   # (V, C)
            gain = np.sqrt(float(freq @ (rows ** 2).sum(1)) / c)
            z_static = (rows[ids] * mask[:, :, None]).sum(1) / mask.sum(1)[:, None]
            z_tf = (layernorm(rows[ids], gain) * mask[:, :, None]).sum(1) / mask.sum(1)[:, None]
            out["w_%s" % kind] = w
            out["rows%d_%s" % (c, kind)] = rows
            out["gain%d_%s" % (c, kind)] = np.array([gain])
            out["emb_static%d_%s" % (c, kind)] = z_static @ axes + mu
            out["emb_tf%d_%s" % (c, kind)] = z_tf @ axes + mu
    return out


def self_check(table, freq, ref):
    ok = True

    def expect(cond, what):
        nonlocal ok
        if not cond:
            print("self-check failed: %s" % what, file=sys.stderr)
            ok = False

    _, _, _, vals = pca(table, D)
    gaps = -np.diff(vals) / vals[0]
    expect(gaps.min() > 1e-3, "eigenvalues well separated (min relative gap %.3g)" % gaps.min())
    for c in DIMS:
        axes = ref["axes%d" % c]
        k = min(c, D)
        expect(np.allclose(axes[:k] @ axes[:k].T, np.eye(k), atol=1e-12), "axes orthonormal (C=%d)" % c)
        expect(np.all(axes[k:] == 0), "axes past D zero (C=%d)" % c)
        t = table.astype(np.float64)
        tc = t - t.mean(0)
        for a in range(k):   # each axis is an eigenvector of the covariance with its variance
            expect(np.allclose(tc.T @ tc @ axes[a] / V, ref["var%d" % c][a] * axes[a], atol=1e-10),
                   "eigenpair %d (C=%d)" % (a, c))
            expect(axes[a][np.argmax(np.abs(axes[a]))] > 0, "sign convention axis %d" % a)
        for kind in WEIGHTS:
            expect(abs(float(freq @ ref["w_%s" % kind]) - 1.0) < 1e-12, "mean weight 1 (%s)" % kind)
            # With C >= D and weights none the static student reproduces the mean of the token vectors.
            if c >= D and kind == "none":
                ids = np.array(IDS)
                want = np.array([t[ids[r, :LENS[r]]].mean(0) for r in range(B)])
                expect(np.allclose(ref["emb_static%d_none" % c], want, atol=1e-12), "C >= D: static = mean of t")
    expect(abs(freq.sum() - 1) < 1e-15 and freq[39] == 0 and freq[1] > 0.3, "frequencies")
    return ok


def c_array(ctype, name, values, fmt):
    values = np.asarray(values).ravel()
    lines = []
    for i in range(0, len(values), 6):
        lines.append("    " + ", ".join(fmt(v) for v in values[i:i + 6]) + ",")
    return "static const %s %s[%d] = {\n%s\n};\n" % (ctype, name, len(values), "\n".join(lines))


def f32(v):
    s = "%.9g" % v
    return s + ("f" if ("." in s or "e" in s) else ".0f")


def f64(v):
    s = "%.17g" % v
    return s if ("." in s or "e" in s or "inf" in s or "nan" in s) else s + ".0"


def banner(what):
    return ("/* Generated by tests/golden/pca_reference.py (numpy %s) -- do not edit.\n"
            " * Regenerate: /usr/bin/python3 tests/golden/pca_reference.py\n"
            " * %s */\n" % (np.__version__, what))


def per_dim_path(path, c):
    return path[:-2] + "_c%d.h" % c


def write_header(path, table, freq, ref):
    """pca_golden.h (inputs, PCA, token weights) and one pca_golden_cC.h per width C (the expected tables and
    embeddings), which pca_golden.h includes: each file stays short enough to read."""
    guard = "DS_TESTS_MODEL_PCA_GOLDEN_H"
    out = [banner("The numpy reference of ds_pca and the teacher-derived initialization (model/model.h)\n"
                  " * that tests/model/test_pca_init.c compares against: inputs, PCA, token weights; the expected\n"
                  " * tables and embeddings per width are in the pca_golden_cC.h files included at the end."),
           "#ifndef %s\n#define %s\n\n#include <stdint.h>\n\n" % (guard, guard),
           "enum { PG_V = %d, PG_D = %d, PG_C1 = %d, PG_C2 = %d, PG_B = %d, PG_T = %d };\n\n"
           % (V, D, DIMS[0], DIMS[1], B, T)]
    out.append("/* The teacher's token table (V, D) and the training-token frequencies (V). */\n")
    out.append(c_array("float", "pg_table", table, f32))
    out.append(c_array("double", "pg_freq", freq, f64))
    out.append("/* Sequences of the forward checks (B, T): real tokens first, then padding. */\n")
    out.append(c_array("int32_t", "pg_ids", np.array(IDS), lambda v: "%d" % v))
    out.append(c_array("uint8_t", "pg_mask", np.array([[1 if j < n else 0 for j in range(T)] for n in LENS]),
                       lambda v: "%d" % v))
    out.append("\n/* PCA: mean (D); axes (C, D) and variances (C) for C = C1 and C = C2 (> D: zero past D). */\n")
    out.append(c_array("double", "pg_mean", ref["mean"], f64))
    for c in DIMS:
        out.append(c_array("double", "pg_axes%d" % c, ref["axes%d" % c], f64))
        out.append(c_array("double", "pg_var%d" % c, ref["var%d" % c], f64))
        out.append(c_array("double", "pg_proj_w%d" % c, ref["proj_w%d" % c], f64))
    out.append("\n/* Token weights (V) after normalisation: none, zipf, sif. */\n")
    for kind in WEIGHTS:
        out.append(c_array("double", "pg_w_%s" % kind, ref["w_%s" % kind], f64))
    out.append("\n")
    for c in DIMS:
        out.append('#include "tests/model/%s"\n' % os.path.basename(per_dim_path(path, c)))
        guard_c = "DS_TESTS_MODEL_PCA_GOLDEN_C%d_H" % c
        part = [banner("Expected by tests/model/test_pca_init.c at width C = %d, for each token weighting: the token\n"
                       " * table (V, C), the final LayerNorm gain, the static and transformer embeddings of the\n"
                       " * sequences (B, D). Included by pca_golden.h." % c),
                "#ifndef %s\n#define %s\n\n" % (guard_c, guard_c)]
        for kind in WEIGHTS:
            part.append(c_array("double", "pg_rows%d_%s" % (c, kind), ref["rows%d_%s" % (c, kind)], f64))
            part.append("static const double pg_gain%d_%s = %s;\n" % (c, kind, f64(ref["gain%d_%s" % (c, kind)][0])))
            part.append(c_array("double", "pg_emb_static%d_%s" % (c, kind), ref["emb_static%d_%s" % (c, kind)], f64))
            part.append(c_array("double", "pg_emb_tf%d_%s" % (c, kind), ref["emb_tf%d_%s" % (c, kind)], f64))
        part.append("\n#endif\n")
        with open(per_dim_path(path, c), "w") as f:
            f.write("".join(part))
    out.append("\n#endif\n")
    with open(path, "w") as f:
        f.write("".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="self-checks only, write nothing")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model",
                                                   "pca_golden.h"))
    args = ap.parse_args()
    table, freq = make_table(), make_freq()
    ref = reference(table, freq)
    if not self_check(table, freq, ref):
        return 1
    if not args.check:
        path = os.path.normpath(args.out)
        write_header(path, table, freq, ref)
        print("wrote %s and %s" % (path, ", ".join(per_dim_path(path, c) for c in DIMS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
